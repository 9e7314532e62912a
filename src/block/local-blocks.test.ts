// A node alone stores blocks through the same BlockRemote interface as a cluster (LocalBlocks):
// a put records its reference only once the block is on disk, so a failed put is not reported
// among the blocks the write must release (nothing of it landed anywhere).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Db } from '../db/db.ts';
import { BlockManager, LocalBlocks } from './manager.ts';
import { Store } from '../model/store.ts';
import { sha256 } from '../util/hash.ts';
import { systemClock } from '../util/time.ts';

test('a node alone: puts go through LocalBlocks; a failed put stores no reference and is not reported as landed', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'grenier-local-blocks-'));
  try {
    const db = new Db(join(dir, 'meta'));
    const mgr = new BlockManager(db, join(dir, 'data'), systemClock, { blockSize: 64 * 1024, writeParallelism: 1, compression: 'none', fsync: false });
    assert.ok(mgr.remote instanceof LocalBlocks);
    const refs: string[] = [];
    mgr.onLocalRef = (h) => refs.push(h.toString('hex'));
    const blocks = [Buffer.alloc(64 * 1024, 1), Buffer.alloc(64 * 1024, 2)];
    const put = mgr.store.put.bind(mgr.store);
    mgr.store.put = async (h: Buffer, d: Buffer) => {
      if (h.equals(sha256(blocks[1]!))) throw Object.assign(new Error('no space'), { code: 'ENOSPC' });
      return put(h, d);
    };
    async function* body() {
      yield* blocks;
    }
    const err = await mgr.writeStream(body(), 'v1').then(
      () => assert.fail('the write must fail'),
      (e: unknown) => e as { code?: string },
    );
    assert.equal(err.code, 'ENOSPC', 'the disk error reaches the caller as it is');
    assert.deepEqual(refs, [sha256(blocks[0]!).toString('hex')], 'only the stored block has its reference');
    assert.deepEqual(Store.landedBlocks(err).map((b) => b.hash.toString('hex')), refs);
    assert.ok((await mgr.getBlock(sha256(blocks[0]!))).equals(blocks[0]!));
    await db.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
