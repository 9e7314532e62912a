// Found by the fault run (seed 1, partition {0,2}|{3,1,4} + delete-blocks n4): a PUT whose block
// reached one of its three replicas failed (503), but that replica kept the block's reference and
// the two that missed it had the reference queued for them; the write's error path released only
// the blocks that reached quorum, so the block stayed referenced forever by a version that never
// existed — a leak, and once that single copy was gone, "blocks in error" on every node for good.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Db } from '../../src/db/db.ts';
import { BlockManager } from '../../src/block/manager.ts';
import { Store } from '../../src/model/store.ts';
import { sha256 } from '../../src/util/hash.ts';
import { systemClock } from '../../src/util/time.ts';

test('a write whose block put missed its quorum reports that block among those to release (its reference may have landed)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'grenier-failed-put-'));
  try {
    const db = new Db(join(dir, 'meta'));
    const mgr = new BlockManager(db, join(dir, 'data'), systemClock, { blockSize: 64 * 1024, writeParallelism: 1, compression: 'none', fsync: false });
    const blocks = [Buffer.alloc(64 * 1024, 1), Buffer.alloc(64 * 1024, 2)];
    const refsOnReplicas = new Set<string>();
    mgr.remote = {
      // One replica of three takes the block and its reference; the quorum of two is missed.
      async put(hash, _data, ref) {
        if (ref) refsOnReplicas.add(hash.toString('hex'));
        if (hash.equals(sha256(blocks[1]!))) throw Object.assign(new Error('write quorum not reached (1 acks of 3)'), { name: 'WriteQuorumError' });
      },
      async get() {
        throw new Error('unused');
      },
    };
    async function* body() {
      yield* blocks;
    }
    const err = await mgr.writeStream(body(), 'version-never-committed').then(
      () => assert.fail('the write must fail'),
      (e: unknown) => e,
    );
    const toRelease = new Set(Store.landedBlocks(err).map((b) => b.hash.toString('hex')));
    const leaked = [...refsOnReplicas].filter((h) => !toRelease.has(h));
    assert.deepEqual(leaked, [], 'every block whose put carried the reference must be released by the failed write');
    await db.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
