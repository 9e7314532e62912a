// Uploads share a node-wide number of block puts (limits.block_writes_in_flight_bytes_max): many
// concurrent uploads (aws-cli sends 10 multipart parts at once) hold that many blocks being
// stored, plus one ready block each, instead of writeParallelism + 1 blocks each.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Db } from '../db/db.ts';
import { BlockManager } from './manager.ts';
import { Store } from '../model/store.ts';
import { systemClock } from '../util/time.ts';
import { defaultLimits } from '../config/config.ts';

const BLOCK = 64 * 1024;

/** Runs `uploads` writeStreams of `blocks` blocks each at once; returns the most block puts seen in flight. */
async function peakPuts(mgr: BlockManager, uploads: number, blocks: number): Promise<number> {
  let now = 0;
  let peak = 0;
  const put = mgr.putBlock.bind(mgr);
  mgr.putBlock = async (data, ref) => {
    peak = Math.max(peak, ++now);
    try {
      await new Promise((r) => setTimeout(r, 5));
      return await put(data, ref);
    } finally {
      now--;
    }
  };
  async function* body(u: number) {
    for (let i = 0; i < blocks; i++) yield Buffer.alloc(BLOCK, u * blocks + i + 1);
  }
  const done = await Promise.all(Array.from({ length: uploads }, (_, u) => mgr.writeStream(body(u))));
  for (const d of done) assert.equal(d.blocks.length, blocks);
  return peak;
}

test('block puts of concurrent uploads are bounded node-wide, each upload still up to its own parallelism', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'grenier-write-slots-'));
  try {
    const db = new Db(join(dir, 'meta'), { fsync: false });
    const opts = { blockSize: BLOCK, writeParallelism: 3, compression: 'none' as const, fsync: false };
    const bounded = new BlockManager(db, join(dir, 'a'), systemClock, { ...opts, writesInFlightMax: 4 });
    assert.equal(await peakPuts(bounded, 10, 6), 4);
    const alone = new BlockManager(db, join(dir, 'b'), systemClock, { ...opts, writesInFlightMax: 4 });
    assert.equal(await peakPuts(alone, 1, 6), 3, 'one upload keeps its writeParallelism');
    const unbounded = new BlockManager(db, join(dir, 'c'), systemClock, opts);
    assert.equal(await peakPuts(unbounded, 10, 6), 30, 'without the limit: 3 per upload');
    await db.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the Store derives the node-wide bound from limits.block_writes_in_flight_bytes_max and block_size', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'grenier-write-slots-'));
  try {
    const store = new Store({ metadataDir: join(dir, 'meta'), dataDir: join(dir, 'data'), blockSize: BLOCK, compression: 'none', dataFsync: false, metadataFsync: false, inlineThreshold: 3072, limits: { block_writes_in_flight_bytes_max: 2 * BLOCK + 1 } });
    try {
      assert.equal(await peakPuts(store.blocks, 5, 4), 2);
    } finally {
      await store.close();
    }
    assert.equal(defaultLimits().block_writes_in_flight_bytes_max, 8 * 1024 * 1024);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
