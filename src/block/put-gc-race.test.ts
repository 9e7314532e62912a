// A block put's metadata goes through the group commit (Db.write): its refcount and its reference
// are written some time after the put starts. These pin that neither the GC nor discard() can
// unlink a block that a put is storing while those commits wait.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Db } from '../db/db.ts';
import { BlockManager } from './manager.ts';
import { Store } from '../model/store.ts';
import { defaultLimits } from '../config/config.ts';
import { sha256 } from '../util/hash.ts';
import type { Clock } from '../util/time.ts';

/** Commits wait this long for company: the window in which the GC or a discard acts. */
const COMMIT_WAIT_MS = 40;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

test('a GC that decides while a re-put of the same block waits for its refcount commit does not unlink the new copy', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'grenier-put-gc-race-'));
  try {
    let now = 1_000_000;
    const clock: Clock = { now: () => now, sleep };
    const db = new Db(join(dir, 'meta'), { fsync: false, limits: defaultLimits({ metadata_commit_wait_ms: COMMIT_WAIT_MS }) });
    const mgr = new BlockManager(db, join(dir, 'data'), clock, { blockSize: 64 * 1024, compression: 'none', fsync: false, gcDelayMs: 1000 });
    const d = Buffer.alloc(4096, 7);
    const h = sha256(d);
    await mgr.putLocal(h, d); // an orphan (an aborted upload's block): refcount 0
    now += 2000; // past the GC delay
    // A slow disk: the GC's unlink waits until the re-put has written its file.
    const del = mgr.store.delete.bind(mgr.store);
    let unlinked!: () => void;
    const gate = new Promise<void>((r) => (unlinked = r));
    mgr.store.delete = async (x: Buffer) => {
      await gate;
      return del(x);
    };
    const put = mgr.putLocal(h, d); // the same bytes uploaded again: its refcount write is queued
    await sleep(COMMIT_WAIT_MS / 4);
    const gc = mgr.gc(); // the GC timer fires meanwhile: it still sees the old zero refcount
    setTimeout(unlinked, 3 * COMMIT_WAIT_MS);
    await Promise.all([put, gc]);
    assert.ok(mgr.store.has(h), 'the block the put stored is on disk after the GC that decided first');
    assert.ok((await mgr.store.get(h)).equals(d));
    assert.equal(mgr.rcCount(), 1, 'the put left a (zero) refcount, so the GC can reclaim it later');
    await db.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a node alone: discard() spares a block whose reference (group commit) is not in yet', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'grenier-put-ref-race-'));
  try {
    const store = new Store({ metadataDir: join(dir, 'meta'), dataDir: join(dir, 'data'), blockSize: 64 * 1024, compression: 'none', dataFsync: false, metadataFsync: false, inlineThreshold: 100, limits: { metadata_commit_wait_ms: COMMIT_WAIT_MS } });
    const mgr = store.blocks;
    const d = Buffer.alloc(4096, 9);
    const h = sha256(d);
    // Upload B stores the block with its reference; upload A, which wrote the same bytes, failed
    // and releases its blocks while B's reference waits for its commit.
    const put = mgr.remote.put(h, d, 'b'.repeat(32));
    while (!mgr.store.has(h)) await sleep(1);
    assert.equal(await mgr.discard([h]), 0, 'a block whose reference is on its way is not discarded');
    await put;
    assert.equal(mgr.refcount(h), 1, 'the reference is in once the put returned');
    assert.ok(mgr.store.has(h));
    await store.db.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
