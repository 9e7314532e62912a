// The resync queue: due order, back-off kept across a reopen, enqueues from table hooks, and a
// resync worker that costs nothing when nothing changed (no refcount scan, no directory walk).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Db } from '../db/db.ts';
import { ResyncQueue } from './resync-queue.ts';
import { BlockManager } from './manager.ts';
import type { BlockReplication } from './replication.ts';
import { resyncPass, sweepPass } from './workers.ts';
import { sha256 } from '../util/hash.ts';
import type { Clock } from '../util/time.ts';

function fakeClock(t = 1_000_000): Clock & { t: number } {
  const c = { t, now: () => c.t, sleep: async () => {} };
  return c;
}

const h = (i: number) => sha256(`block ${i}`);

function withDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'grenier-resync-'));
  return fn(dir).finally(() => rmSync(dir, { recursive: true, force: true }));
}

test('blocks come out in due order, only once due, one entry per block (earliest schedule kept)', () =>
  withDir(async (dir) => {
    const clock = fakeClock();
    const db = new Db(join(dir, 'meta'));
    const q = new ResyncQueue(db, clock);
    q.enqueue(h(1), 3000);
    q.enqueue(h(2), 1000);
    q.enqueue(h(3), 2000);
    q.enqueue(h(1), 5000); // later: ignored
    q.enqueue(h(3), 500); // earlier: moved
    assert.equal(q.length(), 3);
    assert.deepEqual(q.due(10, 10_000).map((x) => x.toString('hex')), [h(3), h(2), h(1)].map((x) => x.toString('hex')));
    assert.deepEqual(q.due(10, 1500).map((x) => x.toString('hex')), [h(3), h(2)].map((x) => x.toString('hex')));
    assert.equal(q.due(1, 10_000).length, 1);
    assert.equal(q.nextDue(), 500);
    q.done(h(3));
    assert.equal(q.length(), 2);
    assert.equal(q.nextDue(), 1000);
    await db.close();
  }));

test('a failed block backs off exponentially, and the back-off survives a reopen', () =>
  withDir(async (dir) => {
    const clock = fakeClock();
    let db = new Db(join(dir, 'meta'));
    let q = new ResyncQueue(db, clock, { backoffBaseMs: 1000, backoffMaxMs: 5000 });
    q.enqueue(h(1));
    assert.equal(q.failed(h(1), 'no replica'), clock.t + 1000);
    assert.equal(q.failed(h(1), 'no replica'), clock.t + 2000);
    await db.close();
    db = new Db(join(dir, 'meta'));
    q = new ResyncQueue(db, clock, { backoffBaseMs: 1000, backoffMaxMs: 5000 });
    assert.equal(q.length(), 1);
    assert.equal(q.due(10).length, 0, 'not due right after the reopen');
    assert.equal(q.errorOf(h(1))?.errors, 2);
    assert.equal(q.errorOf(h(1))?.lastError, 'no replica');
    clock.t += 2000;
    assert.equal(q.due(10).length, 1, 'due once its back-off has passed');
    assert.equal(q.failed(h(1), 'again'), clock.t + 4000);
    assert.equal(q.failed(h(1), 'again'), clock.t + 5000, 'capped');
    assert.equal(q.retryNow(), 1);
    assert.equal(q.due(10).length, 1, 'RetryBlockResync makes it due now');
    q.done(h(1));
    assert.equal(q.errorOf(h(1)), undefined);
    assert.equal(q.length(), 0);
    await db.close();
  }));

test('enqueuing a block that is backing off keeps its back-off and error count (it is not retried at every enqueue)', () =>
  withDir(async (dir) => {
    const clock = fakeClock();
    const db = new Db(join(dir, 'meta'));
    const q = new ResyncQueue(db, clock, { backoffBaseMs: 1000, backoffMaxMs: 60_000 });
    q.enqueue(h(1));
    q.failed(h(1), 'no replica');
    const next = q.failed(h(1), 'no replica');
    assert.equal(next, clock.t + 2000);
    // A new reference, a layout change, a sweep: each enqueues the block again, due "now".
    q.enqueue(h(1));
    q.enqueueMany([h(1)]);
    assert.equal(q.due(10).length, 0, 'still backing off after enqueues');
    assert.equal(q.nextDue(), next, 'the later due time is kept');
    assert.equal(q.errorOf(h(1))?.errors, 2, 'the error count is kept');
    assert.equal(q.length(), 1);
    // The next failure backs off further from the kept count.
    clock.t = next;
    assert.deepEqual(q.due(10).map((x) => x.toString('hex')), [h(1).toString('hex')]);
    assert.equal(q.failed(h(1), 'again'), clock.t + 4000);
    // RetryBlockResync still makes it due now; a block without errors still moves earlier.
    assert.equal(q.retryNow(h(1)), 1);
    assert.equal(q.due(10).length, 1);
    q.enqueue(h(2), clock.t + 9000);
    q.enqueue(h(2));
    assert.equal(q.due(10).length, 2);
    await db.close();
  }));

test('an enqueue inside a transaction (a table hook) commits or rolls back with it', () =>
  withDir(async (dir) => {
    const db = new Db(join(dir, 'meta'));
    const q = new ResyncQueue(db, fakeClock());
    db.transaction(() => q.enqueue(h(1)));
    assert.throws(() =>
      db.transaction(() => {
        q.enqueue(h(2));
        throw new Error('rolled back');
      }),
    );
    assert.deepEqual(q.due(10).map((x) => x.toString('hex')), [h(1).toString('hex')]);
    assert.equal(q.length(), 1);
    await db.close();
  }));

/** A cluster of one peer as the resync worker sees it: this node holds every partition. */
/** A fake of the block replication; `refs` = the blocks the peer holds a reference to (all it has, by default). */
function fakeRepl(remote: Map<string, Buffer>, me: string, holdsAll = true, refs?: Set<string>) {
  const calls = { get: 0, pushTo: 0 };
  const repl = {
    holders: () => (holdsAll ? [me, 'peer'] : ['peer']),
    fetchRemote: async (hash: Buffer) => {
      calls.get++;
      const d = remote.get(hash.toString('hex'));
      if (!d) throw new Error('no replica could serve it');
      return d;
    },
    has: async (_n: string, hs: Buffer[]) => hs.map((x) => remote.has(x.toString('hex'))),
    pushTo: async (_n: string, hash: Buffer, d: Buffer) => {
      calls.pushTo++;
      remote.set(hash.toString('hex'), d);
    },
    referenced: async (_n: string, hs: Buffer[]) => hs.map((x) => (refs ? refs.has(x.toString('hex')) : remote.has(x.toString('hex')))),
  };
  return { repl: repl as unknown as BlockReplication, calls };
}

test('a reference arriving for a block not on disk queues its fetch; idle passes touch no block', () =>
  withDir(async (dir) => {
    const clock = fakeClock();
    const db = new Db(join(dir, 'meta'));
    const mgr = new BlockManager(db, join(dir, 'data'), clock, { blockSize: 1024, compression: 'none', fsync: false });
    const scans = { list: 0, referenced: 0, has: 0 };
    const list = mgr.store.list.bind(mgr.store);
    const referenced = mgr.referenced.bind(mgr);
    const has = mgr.store.has.bind(mgr.store);
    mgr.store.list = () => (scans.list++, list());
    mgr.referenced = () => (scans.referenced++, referenced());
    mgr.store.has = (x) => (scans.has++, has(x));

    // 50 blocks stored and referenced the normal way (put, then its reference): nothing to queue.
    for (let i = 0; i < 50; i++) {
      const d = Buffer.from(`data ${i}`);
      await mgr.putLocal(sha256(d), d);
      await new Promise((r) => setImmediate(r));
      db.transaction(() => mgr.refChanged(sha256(d).toString('hex'), 1));
    }
    assert.equal(mgr.resync.length(), 0);
    const remote = new Map<string, Buffer>();
    const missing = Buffer.from('missed while down');
    remote.set(sha256(missing).toString('hex'), missing);
    const { repl, calls } = fakeRepl(remote, 'me');

    scans.has = 0;
    for (let i = 0; i < 3; i++) {
      const st = await resyncPass(mgr, repl, 'me');
      assert.deepEqual(st, { fetched: 0, offloaded: 0, missing: 0, queued: 0 });
    }
    assert.deepEqual(scans, { list: 0, referenced: 0, has: 0 }, 'idle passes scan nothing');
    assert.equal(calls.get, 0);

    // The reference of a block this node missed arrives (queue drain or anti-entropy).
    db.transaction(() => mgr.refChanged(sha256(missing).toString('hex'), 1));
    assert.equal(mgr.resync.length(), 1);
    const st = await resyncPass(mgr, repl, 'me');
    assert.equal(st.fetched, 1);
    assert.ok(mgr.store.has(sha256(missing)));
    assert.equal(mgr.resync.length(), 0);
    scans.has = 0;
    scans.list = 0;
    scans.referenced = 0;
    await resyncPass(mgr, repl, 'me');
    assert.deepEqual(scans, { list: 0, referenced: 0, has: 0 }, 'after the fetch, idle again');

    // A block no replica can serve backs off instead of being retried on every pass.
    const lost = sha256('lost everywhere');
    db.transaction(() => mgr.refChanged(lost.toString('hex'), 1));
    assert.equal((await resyncPass(mgr, repl, 'me')).missing, 1);
    const gets = calls.get;
    assert.equal((await resyncPass(mgr, repl, 'me')).missing, 0, 'not retried before its back-off');
    assert.equal(calls.get, gets);
    assert.equal(mgr.resync.errorOf(lost)?.errors, 1);
    await db.close();
  }));

test('the sweep finds what the queue never heard of; offloading a moved block goes through the queue', () =>
  withDir(async (dir) => {
    const clock = fakeClock();
    const db = new Db(join(dir, 'meta'));
    const mgr = new BlockManager(db, join(dir, 'data'), clock, { blockSize: 1024, compression: 'none', fsync: false });
    const d = Buffer.from('a block');
    await mgr.putLocal(sha256(d), d);
    // Referenced here (a partition's block_ref entries stay on its old holders after a move).
    db.transaction(() => mgr.refChanged(sha256(d).toString('hex'), 1));
    const remote = new Map<string, Buffer>();
    // The layout moved its partition away: the sweep queues it, the queue hands it over and deletes it.
    const { repl, calls } = fakeRepl(remote, 'me', false);
    const sw = await sweepPass(mgr, repl, 'me');
    assert.equal(sw.queued, 1);
    const st = await resyncPass(mgr, repl, 'me');
    assert.equal(st.offloaded, 1);
    assert.equal(calls.pushTo, 1);
    assert.ok(remote.has(sha256(d).toString('hex')));
    assert.ok(!mgr.store.has(sha256(d)));
    await db.close();
  }));

test('a hand-over keeps this copy until the new holder has a reference too (else its GC could delete the only copy)', () =>
  withDir(async (dir) => {
    const clock = fakeClock();
    const db = new Db(join(dir, 'meta'));
    const mgr = new BlockManager(db, join(dir, 'data'), clock, { blockSize: 1024, compression: 'none', fsync: false });
    const d = Buffer.from('a moved block');
    const hash = sha256(d);
    await mgr.putLocal(hash, d);
    db.transaction(() => mgr.refChanged(hash.toString('hex'), 1));
    const remote = new Map<string, Buffer>();
    const refs = new Set<string>();
    const { repl, calls } = fakeRepl(remote, 'me', false, refs);
    await sweepPass(mgr, repl, 'me');
    // The new holder gets the file, but its block_ref entries have not arrived yet: keep ours.
    const st = await resyncPass(mgr, repl, 'me');
    assert.equal(calls.pushTo, 1);
    assert.ok(remote.has(hash.toString('hex')));
    assert.equal(st.offloaded, 0);
    assert.ok(mgr.store.has(hash), 'the only copy with a reference behind it stays here');
    assert.equal(mgr.resync.errorOf(hash)?.errors, 1);
    // Its reference arrives (anti-entropy): at the next due time the hand-over completes.
    refs.add(hash.toString('hex'));
    clock.t += 3_600_000;
    const again = await resyncPass(mgr, repl, 'me');
    assert.equal(again.offloaded, 1);
    assert.ok(!mgr.store.has(hash));
    assert.equal(calls.pushTo, 1, 'the holder already had the file: not sent twice');
    await db.close();
  }));

test('a moved block nothing references here is handed only to a holder that needs it, never waited on, and left to the GC', () =>
  withDir(async (dir) => {
    const clock = fakeClock();
    const db = new Db(join(dir, 'meta'));
    const mgr = new BlockManager(db, join(dir, 'data'), clock, { blockSize: 1024, compression: 'none', fsync: false, gcDelayMs: 60_000 });
    // Garbage here (its object deleted: refcount 0), and the new holder has no reference either.
    const d = Buffer.from('a deleted object\'s block');
    const hash = sha256(d);
    await mgr.putLocal(hash, d);
    const remote = new Map<string, Buffer>();
    const refs = new Set<string>();
    const { repl, calls } = fakeRepl(remote, 'me', false, refs);
    assert.equal((await sweepPass(mgr, repl, 'me')).queued, 1);
    const st = await resyncPass(mgr, repl, 'me');
    assert.equal(st.missing, 0, 'garbage must not wait for references that never come (a block in error, for ever)');
    assert.equal(mgr.resync.errorCount(), 0);
    assert.equal(mgr.resync.length(), 0);
    assert.equal(calls.pushTo, 0, 'nobody needs it: not sent');
    clock.t += 61_000;
    assert.equal(await mgr.gc(), 1, 'the GC reclaims it');
    assert.ok(!mgr.store.has(hash));
    // Unreferenced here but referenced by a holder that lacks the file: that holder gets it.
    const e = Buffer.from('a block a holder needs');
    const eh = sha256(e);
    await mgr.putLocal(eh, e);
    refs.add(eh.toString('hex'));
    await sweepPass(mgr, repl, 'me');
    const st2 = await resyncPass(mgr, repl, 'me');
    assert.equal(st2.missing, 0);
    assert.equal(calls.pushTo, 1);
    assert.ok(remote.has(eh.toString('hex')));
    await db.close();
  }));

test('block GC deletes only blocks unreferenced past the delay, from its time-ordered index', () =>
  withDir(async (dir) => {
    const clock = fakeClock();
    const db = new Db(join(dir, 'meta'));
    const mgr = new BlockManager(db, join(dir, 'data'), clock, { blockSize: 1024, compression: 'none', fsync: false, gcDelayMs: 1000 });
    const blocks = [0, 1, 2].map((i) => Buffer.from(`gc ${i}`));
    for (const b of blocks) {
      await mgr.putLocal(sha256(b), b);
      db.transaction(() => mgr.refChanged(sha256(b).toString('hex'), 1));
    }
    await new Promise((r) => setImmediate(r));
    db.transaction(() => mgr.refChanged(sha256(blocks[0]!).toString('hex'), -1));
    clock.t += 500;
    db.transaction(() => mgr.refChanged(sha256(blocks[1]!).toString('hex'), -1));
    assert.equal(await mgr.gc(), 0, 'nothing past the delay yet');
    clock.t += 600;
    // Block 0 is referenced again at the last moment: spared.
    db.transaction(() => mgr.refChanged(sha256(blocks[0]!).toString('hex'), 1));
    assert.equal(await mgr.gc(), 0);
    clock.t += 500;
    assert.equal(await mgr.gc(), 1, 'block 1, unreferenced for 1100 ms');
    assert.ok(!mgr.store.has(sha256(blocks[1]!)));
    assert.ok(mgr.store.has(sha256(blocks[0]!)) && mgr.store.has(sha256(blocks[2]!)));
    assert.equal(await mgr.gc(), 0);
    await db.close();
  }));
