// The hash pool gives node:crypto's digests (one-shot and streamed, any size and chunking), bounds its
// queue by hashing inline, survives a worker crash (that hash rejects, the next one works) and stops.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { HashPool, HashWorkerError, acquireHashPool, hashPool } from './hash-pool.ts';

const ref = (alg: string, b: Uint8Array): string => createHash(alg).update(b).digest('hex');

test('one-shot digests equal node:crypto, inline below the threshold and in a worker above', async () => {
  const pool = new HashPool({ workers: 2, inlineBelowBytes: 64 * 1024 });
  try {
    for (const n of [0, 1, 4096, 64 * 1024 - 1, 64 * 1024, 256 * 1024, 256 * 1024 + 1, 1024 * 1024, 3 * 1024 * 1024 + 7]) {
      const b = randomBytes(n);
      assert.equal((await pool.digest('sha256', b)).toString('hex'), ref('sha256', b), `sha256 ${n}`);
      assert.equal((await pool.digest('md5', b)).toString('hex'), ref('md5', b), `md5 ${n}`);
    }
    // A slice of a bigger buffer: only its bytes are hashed, and the caller's buffer is intact.
    const big = randomBytes(2 * 1024 * 1024);
    const copy = Buffer.from(big);
    const slice = big.subarray(12345, 12345 + 1024 * 1024);
    assert.equal((await pool.digest('sha256', slice)).toString('hex'), ref('sha256', slice));
    assert.ok(big.equals(copy) && big.buffer.byteLength >= big.length, 'caller buffer kept');
    assert.ok(pool.liveWorkers > 0, 'the large inputs went to a worker');
    // Many at once over both workers.
    const bs = Array.from({ length: 20 }, (_, i) => randomBytes(100_000 + i * 1000));
    const ds = await Promise.all(bs.map((b) => pool.digest('sha256', b)));
    ds.forEach((d, i) => assert.equal(d.toString('hex'), ref('sha256', bs[i]!)));
  } finally {
    await pool.close();
  }
});

test('streamed md5+sha256 equal node:crypto over random chunkings, incl. empty and batch boundaries', async () => {
  const pool = new HashPool({ workers: 1 });
  try {
    const B = 256 * 1024;
    for (const total of [0, 1, B - 1, B, B + 1, 4 * B, 5 * B + 3, 9 * 1024 * 1024 + 11]) {
      const data = randomBytes(total);
      const h = pool.stream(['md5', 'sha256']);
      assert.equal(h.offloaded, true);
      let off = 0;
      while (off < total) {
        const n = Math.min(total - off, [1, 100, B, B - 1, B + 1, 65536, 1 << 20][Math.floor(Math.random() * 7)]!);
        h.update(data.subarray(off, off + n));
        off += n;
        await h.ready();
      }
      if (total > 0) h.update(Buffer.alloc(0));
      const d = await h.digest();
      assert.equal(d.md5.toString('hex'), ref('md5', data), `md5 ${total}`);
      assert.equal(d.sha256.toString('hex'), ref('sha256', data), `sha256 ${total}`);
    }
    // Interleaved streams on one worker keep their own state.
    const a = randomBytes(3 * B + 5);
    const b = randomBytes(2 * B + 9);
    const ha = pool.stream(['md5']);
    const hb = pool.stream(['sha256']);
    for (let i = 0; i < 4; i++) {
      ha.update(a.subarray(i * B, (i + 1) * B));
      hb.update(b.subarray(i * B, (i + 1) * B));
    }
    const [da, db] = await Promise.all([ha.digest(), hb.digest()]);
    assert.equal(da.md5.toString('hex'), ref('md5', a));
    assert.equal(db.sha256.toString('hex'), ref('sha256', b));
    assert.equal(pool.pending, 0);
  } finally {
    await pool.close();
  }
});

test('ready() pushes back once a stream has its bound of batches in flight', async () => {
  const pool = new HashPool({ workers: 1 });
  try {
    const h = pool.stream(['md5']);
    const data = randomBytes(8 * 256 * 1024);
    h.update(data);
    assert.ok(pool.pending >= 4, `batches sent: ${pool.pending}`);
    const w = h.ready();
    assert.ok(w instanceof Promise, 'waits with 8 batches in flight');
    await w;
    assert.equal((await h.digest()).md5.toString('hex'), ref('md5', data));
  } finally {
    await pool.close();
  }
});

test('over the queue bound, and with 0 workers, work is hashed inline', async () => {
  const pool = new HashPool({ workers: 1, queueMax: 2 });
  try {
    const bs = Array.from({ length: 10 }, () => randomBytes(200_000));
    const ps = bs.map((b) => pool.digest('sha256', b));
    assert.equal(pool.pending, 2, 'two queued, the others hashed inline');
    assert.equal(pool.stream(['md5']).offloaded, false, 'a stream opened on a full queue is inline');
    const ds = await Promise.all(ps);
    ds.forEach((d, i) => assert.equal(d.toString('hex'), ref('sha256', bs[i]!)));
    assert.equal(pool.pending, 0);
  } finally {
    await pool.close();
  }
  const none = new HashPool({ workers: 0 });
  const b = randomBytes(1 << 20);
  assert.equal((await none.digest('sha256', b)).toString('hex'), ref('sha256', b));
  const s = none.stream(['md5', 'sha256']);
  assert.equal(s.offloaded, false);
  s.update(b);
  assert.equal((await s.digest()).md5.toString('hex'), ref('md5', b));
  assert.equal(none.liveWorkers, 0);
});

test('a worker crash rejects its hashes only; the next hash starts a new worker', async () => {
  const pool = new HashPool({ workers: 1 });
  try {
    const b = randomBytes(1 << 20);
    await pool.digest('sha256', b); // starts the worker
    // An unknown op makes the worker throw: an uncaught error in the thread, like a crash. Sent
    // first, so the thread dies with the jobs below queued.
    const slot = (pool as unknown as { slots: { worker: import('node:worker_threads').Worker }[] }).slots[0]!;
    slot.worker.postMessage({ op: 'crash-for-test' });
    const s = pool.stream(['md5', 'sha256']);
    s.update(b);
    const one = pool.digest('sha256', b);
    const both = pool.digestOrInline('sha256', b);
    const sd = s.digest();
    await assert.rejects(one, HashWorkerError);
    assert.equal((await both).toString('hex'), ref('sha256', b), 'digestOrInline falls back to inline');
    await assert.rejects(sd, HashWorkerError);
    assert.throws(() => s.update(b), HashWorkerError);
    assert.equal(pool.pending, 0);
    assert.equal((await pool.digest('sha256', b)).toString('hex'), ref('sha256', b), 'a new worker serves');
    assert.equal(pool.liveWorkers, 1);
  } finally {
    await pool.close();
  }
});

test('close() terminates the workers, rejects what was pending, then hashes inline', async () => {
  const pool = new HashPool({ workers: 2 });
  const b = randomBytes(1 << 20);
  await pool.digest('sha256', b);
  const pending = pool.digest('md5', randomBytes(4 << 20));
  const rejected = assert.rejects(pending, HashWorkerError);
  await pool.close();
  await rejected;
  assert.equal(pool.liveWorkers, 0);
  assert.equal((await pool.digest('sha256', b)).toString('hex'), ref('sha256', b));
  assert.equal(pool.stream(['md5']).offloaded, false);
});

test('the shared pool: acquired by nodes, closed by the last release, a default one otherwise', async () => {
  const r1 = acquireHashPool({ hash_workers: 1, hash_queue_max: 8 });
  const r2 = acquireHashPool({ hash_workers: 1, hash_queue_max: 8 });
  const p = hashPool();
  assert.equal(p.size, 1);
  assert.equal(p.queueMax, 8);
  await r1();
  await r1();
  assert.equal(p.closed, false, 'still used by the second');
  await r2();
  assert.equal(p.closed, true);
  const d = hashPool();
  assert.notEqual(d, p);
  const b = randomBytes(1 << 20);
  assert.equal((await d.digest('sha256', b)).toString('hex'), ref('sha256', b));
  await d.close();
});
