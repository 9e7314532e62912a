// Group commit (Db.write): writes that arrive together share one LMDB commit, each caller is
// answered only once the commit holding its write is done, a throwing caller loses only its own
// writes, and batches keep to their bounds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Db, type GroupCommitLimits } from './db.ts';
import { defaultLimits } from '../config/config.ts';

function limits(p: Partial<GroupCommitLimits> = {}): GroupCommitLimits {
  return { ...defaultLimits(), ...p };
}

async function withDb(l: Partial<GroupCommitLimits>, f: (db: Db) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'grenier-gc-'));
  const db = new Db(dir, { limits: limits(l) });
  try {
    await f(db);
  } finally {
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

test('200 concurrent writes share a few commits; each resolves after its write is committed and readable', async () => {
  await withDb({}, async (db) => {
    const t = db.tree<number>('t');
    const n = 200;
    const seen: number[] = [];
    await Promise.all(
      Array.from({ length: n }, (_, i) =>
        db.write(() => {
          t.put(Buffer.from(`k${i}`), i);
          return i;
        }).then((v) => {
          assert.equal(v, i);
          // Outside any write transaction: this read sees committed data only.
          assert.equal(db.inTransaction, false);
          assert.equal(t.get(Buffer.from(`k${i}`)), i, `write ${i} is committed when its promise resolves`);
          assert.ok(db.groupStats.commits >= 1);
          seen.push(i);
        }),
      ),
    );
    assert.equal(seen.length, n);
    assert.equal(db.groupStats.callers, n);
    assert.ok(db.groupStats.commits < n / 10, `${db.groupStats.commits} commits for ${n} writes`);
  });
});

test('a write is not answered before its commit: nothing resolves in the turn it was queued', async () => {
  await withDb({ metadata_commit_wait_ms: 30 }, async (db) => {
    const t = db.tree<number>('t');
    let resolved = false;
    const p = db.write(() => t.put(Buffer.from('a'), 1)).then(() => (resolved = true));
    await new Promise((r) => setTimeout(r, 5));
    assert.equal(resolved, false, 'waiting for the batch');
    assert.equal(t.get(Buffer.from('a')), undefined, 'and not yet written');
    assert.equal(db.groupStats.commits, 0);
    await p;
    assert.equal(t.get(Buffer.from('a')), 1);
    assert.equal(db.groupStats.commits, 1);
  });
});

test('a throwing fn loses only its own writes; the others of its batch commit', async () => {
  await withDb({}, async (db) => {
    const t = db.tree<number>('t');
    const a = db.write(() => t.put(Buffer.from('a'), 1));
    const b = db.write(() => {
      t.put(Buffer.from('b'), 2);
      t.put(Buffer.from('a'), 99); // overwrites a's write inside the batch, then fails
      throw new Error('b fails');
    });
    const c = db.write(() => {
      // Reads see the earlier writes of the batch, not the failed one's.
      assert.equal(t.get(Buffer.from('a')), 1);
      assert.equal(t.get(Buffer.from('b')), undefined);
      t.put(Buffer.from('c'), 3);
    });
    const [ra, rb, rc] = await Promise.allSettled([a, b, c]);
    assert.equal(ra.status, 'fulfilled');
    assert.equal(rb.status, 'rejected');
    assert.match(String((rb as PromiseRejectedResult).reason), /b fails/);
    assert.equal(rc.status, 'fulfilled');
    assert.equal(db.groupStats.commits, 1, 'one commit for the three');
    assert.equal(t.get(Buffer.from('a')), 1);
    assert.equal(t.get(Buffer.from('b')), undefined);
    assert.equal(t.get(Buffer.from('c')), 3);
    // An async fn is refused (its writes would land outside the transaction).
    await assert.rejects(db.write(async () => t.put(Buffer.from('d'), 4)), /synchronous/);
  });
});

test('bounds: at most metadata_commit_writes_max writes and metadata_commit_bytes_max bytes per commit; one larger caller commits alone', async () => {
  await withDb({ metadata_commit_writes_max: 10, metadata_commit_bytes_max: 1000 }, async (db) => {
    const t = db.tree<number>('t');
    await Promise.all(Array.from({ length: 100 }, (_, i) => db.write(() => t.put(Buffer.from(`w${i}`), i))));
    assert.equal(db.groupStats.largestWrites, 10);
    assert.ok(db.groupStats.commits >= 10);
    const c0 = db.groupStats.commits;
    await Promise.all(Array.from({ length: 9 }, (_, i) => db.write(() => t.put(Buffer.from(`b${i}`), i), { bytes: 300 })));
    assert.equal(db.groupStats.largestBytes, 900);
    assert.equal(db.groupStats.commits - c0, 3, '3 writes of 300 bytes per commit');
    const c1 = db.groupStats.commits;
    await Promise.all([db.write(() => t.put(Buffer.from('x'), 1), { writes: 50 }), db.write(() => t.put(Buffer.from('y'), 1))]);
    assert.equal(db.groupStats.commits - c1, 2, 'the 50-write caller committed alone');
    for (let i = 0; i < 100; i++) assert.equal(t.get(Buffer.from(`w${i}`)), i);
  });
});

test('metadata_commit_wait_ms: writes within the wait share a commit, and the first waits about that long, not more', async () => {
  await withDb({ metadata_commit_wait_ms: 100 }, async (db) => {
    const t = db.tree<number>('t');
    const t0 = Date.now();
    const a = db.write(() => t.put(Buffer.from('a'), 1)).then(() => Date.now() - t0);
    await new Promise((r) => setTimeout(r, 20));
    const b = db.write(() => t.put(Buffer.from('b'), 2));
    const [ms] = await Promise.all([a, b]);
    assert.equal(db.groupStats.commits, 1);
    assert.ok(ms >= 95, `first write answered after ${ms} ms`);
    assert.ok(ms < 2000, `first write answered after ${ms} ms`);
  });
});

test('close commits the queued writes, then refuses new ones', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'grenier-gc-'));
  try {
    const db = new Db(dir, { limits: limits({ metadata_commit_wait_ms: 10_000 }) });
    const t = db.tree<number>('t');
    const p = db.write(() => t.put(Buffer.from('a'), 1));
    await db.close();
    await p;
    await assert.rejects(db.write(() => t.put(Buffer.from('b'), 2)), /closed/);
    const again = new Db(dir);
    assert.equal(again.tree<number>('t').get(Buffer.from('a')), 1);
    await again.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('crash: a child acks group-committed writes and is SIGKILLed; every acked write is there after reopen', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'grenier-gc-'));
  try {
    const dbUrl = new URL('./db.ts', import.meta.url).href;
    // Writes without end, 32 in flight, each acked on stdout once its promise resolves.
    const code = `
      import { Db } from ${JSON.stringify(dbUrl)};
      const db = new Db(${JSON.stringify(dir)}, { fsync: true });
      const t = db.tree('t');
      let i = 0;
      const one = () => { const k = i++; return db.write(() => t.put(Buffer.from('k' + k), k)).then(() => { process.stdout.write(k + '\\n'); return one(); }); };
      for (let j = 0; j < 32; j++) one();
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
    const acked: number[] = [];
    let buf = '';
    const exited = new Promise((r) => child.once('exit', r));
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`only ${acked.length} acks in 20 s`)), 20_000);
        child.stdout.on('data', (d: Buffer) => {
          buf += d.toString();
          const lines = buf.split('\n');
          buf = lines.pop()!;
          for (const l of lines) acked.push(Number(l));
          if (acked.length >= 300 && child.exitCode === null && !child.killed) {
            child.kill('SIGKILL');
            clearTimeout(timer);
            resolve();
          }
        });
        child.on('exit', (c) => {
          if (acked.length < 300) reject(new Error(`child exited (${c}) after ${acked.length} acks`));
        });
      });
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      await exited;
    }
    const db = new Db(dir);
    const t = db.tree<number>('t');
    const missing = acked.filter((k) => t.get(Buffer.from(`k${k}`)) !== k);
    await db.close();
    assert.deepEqual(missing, [], `${acked.length} acked writes, all present`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the event loop runs while a group commit waits for LMDB: another process holds the write lock until this one, mid-write, lets go', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'grenier-gc-'));
  const release = join(dir, 'release');
  const dbUrl = new URL('./db.ts', import.meta.url).href;
  // The child takes LMDB's write lock (a synchronous transaction) and holds it until `release`
  // exists; after 20 s it lets go anyway (so a blocked parent ends the test instead of hanging it)
  // and says which happened.
  const code = `
    import { Db } from ${JSON.stringify(dbUrl)};
    import { existsSync, writeSync } from 'node:fs';
    const db = new Db(${JSON.stringify(dir)}, { fsync: true });
    const t = db.tree('t');
    const nap = new Int32Array(new SharedArrayBuffer(4));
    db.transaction(() => {
      t.put(Buffer.from('child'), 1);
      writeSync(1, 'locked\\n');
      const end = Date.now() + 20_000;
      while (!existsSync(${JSON.stringify(release)}) && Date.now() < end) Atomics.wait(nap, 0, 0, 5);
      writeSync(1, existsSync(${JSON.stringify(release)}) ? 'released by the parent\\n' : 'gave up waiting\\n');
    });
    await db.close();
  `;
  const db = new Db(dir, { fsync: true, limits: limits() });
  try {
    const t = db.tree<number>('t');
    const child = spawn(process.execPath, ['--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    const exited = new Promise<number | null>((r) => child.once('exit', r));
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('locked')) resolve();
      });
      child.once('exit', (c) => reject(new Error(`child exited (${c}) before taking the lock: ${out}`)));
    });
    let written = false;
    const w = db.write(() => t.put(Buffer.from('parent'), 2)).then(() => (written = true));
    // Turns of this event loop while the write is pending: with a commit on the main thread, the
    // flush would block in LMDB's lock and none of this would run until the child gave up.
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(written, false, 'the write waits for the lock');
    assert.equal(t.get(Buffer.from('parent')), undefined, 'and is not visible before its commit');
    writeFileSync(release, '');
    await w;
    assert.equal(await exited, 0);
    assert.match(out, /released by the parent/);
    assert.equal(t.get(Buffer.from('parent')), 2);
    assert.equal(t.get(Buffer.from('child')), 1);
  } finally {
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('afterCommit from inside a write fn runs once the batch is committed: what it reads holds the write', async () => {
  await withDb({}, async (db) => {
    const t = db.tree<number>('t');
    const seen: (number | undefined)[] = [];
    let resolved = false;
    const p = db.write(() => {
      t.put(Buffer.from('a'), 1);
      // What a hook does to tell other code to read the store (a worker's trigger, a cache drop).
      db.afterCommit(() => seen.push(t.get(Buffer.from('a'))));
      assert.deepEqual(seen, [], 'not inside the transaction');
    }).then(() => (resolved = true));
    await p;
    assert.equal(resolved, true);
    assert.deepEqual(seen, [1], 'run once, after the commit');
    // Outside a batch it runs at once.
    db.afterCommit(() => seen.push(2));
    assert.deepEqual(seen, [1, 2]);
  });
});
