import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Db } from './db.ts';
import { MetaSnapshots, SnapshotError, listSnapshots, metaSnapshots } from './snapshot.ts';
import { parseConfig } from '../config/config.ts';

function setup(t: { after: (fn: () => unknown) => void }) {
  const root = mkdtempSync(join(tmpdir(), 'grenier-snap-'));
  const meta = join(root, 'meta');
  const db = new Db(meta, { fsync: false });
  writeFileSync(join(meta, 'node_key.pem'), 'KEY', { mode: 0o600 });
  t.after(async () => {
    await db.close().catch(() => {});
    rmSync(root, { recursive: true, force: true });
  });
  return { root, meta, db, snaps: join(root, 'snaps') };
}

const key = (i: number) => Buffer.from(`k${String(i).padStart(6, '0')}`);

test('a snapshot taken during writes is a consistent point in time, 0600 in 0700, with the node key', async (t) => {
  const { meta, db, snaps } = setup(t);
  const tree = db.tree<number>('x');
  for (let i = 0; i < 2000; i++) db.transaction(() => tree.put(key(i), i));
  const s = new MetaSnapshots(db, { metadataDir: meta, snapshotsDir: snaps, keep: 2 });
  // Writes go on, one entry per transaction, in key order, while the copy is taken.
  let n = 2000;
  let writing = true;
  const writer = (async () => {
    while (writing) {
      db.transaction(() => tree.put(key(n), n));
      n++;
      if (n % 50 === 0) await new Promise((r) => setImmediate(r));
    }
  })();
  const r = await s.snapshot();
  writing = false;
  await writer;
  assert.equal(statSync(snaps).mode & 0o777, 0o700);
  assert.equal(statSync(r.path).mode & 0o777, 0o700);
  for (const f of readdirSync(r.path)) assert.equal(statSync(join(r.path, f)).mode & 0o777, 0o600, `${f} is 0600`);
  assert.equal(readFileSync(join(r.path, 'node_key.pem'), 'utf8'), 'KEY');
  assert.deepEqual(JSON.parse(readFileSync(join(r.path, 'snapshot.json'), 'utf8')).files.sort(), ['data.mdb', 'node_key.pem']);
  assert.ok(r.bytes > 0 && r.removed.length === 0);

  const copy = new Db(r.path, { fsync: false });
  try {
    const got = [...copy.tree<number>('x').range()].map((e) => e.value);
    assert.ok(got.length >= 2000, `every entry committed before the snapshot is there (${got.length})`);
    // A prefix of the write sequence: no entry without every one committed before it.
    assert.deepEqual(got, got.map((_, i) => i));
  } finally {
    await copy.close();
  }
});

test('kept N deep, newest kept; one at a time; interrupted copies are neither listed nor kept', async (t) => {
  const { meta, db, snaps } = setup(t);
  db.transaction(() => db.tree<number>('x').put(key(1), 1));
  const s = new MetaSnapshots(db, { metadataDir: meta, snapshotsDir: snaps, keep: 2 });
  mkdirSync(join(snaps, '.2020-01-01T00-00-00Z.partial'), { recursive: true });
  const first = await s.snapshot();
  const second = await s.snapshot();
  const busy = s.snapshot();
  await assert.rejects(s.snapshot(), (e: SnapshotError) => e.code === 'SnapshotInProgress' && /already being taken/.test(e.message));
  const third = await busy;
  assert.deepEqual(third.removed, [first.name]);
  assert.deepEqual(listSnapshots(snaps), [second.name, third.name]);
  assert.ok(!existsSync(join(snaps, '.2020-01-01T00-00-00Z.partial')), 'leftover removed');
  assert.ok(second.name < third.name, 'names sort by time');
  // Kept one deep, several in the same second: the newest is always the one kept.
  const one = new MetaSnapshots(db, { metadataDir: meta, snapshotsDir: join(snaps, 'one'), keep: 1 });
  let last = '';
  for (let i = 0; i < 4; i++) last = (await one.snapshot()).name;
  assert.deepEqual(listSnapshots(join(snaps, 'one')), [last]);
});

test('automatic snapshots every metadata_auto_snapshot_interval, counted from the newest on disk', async (t) => {
  const { root, meta, db } = setup(t);
  db.transaction(() => db.tree<number>('x').put(key(1), 1));
  const config = parseConfig(
    `metadata_dir = "${meta}"\ndata_dir = "${join(root, 'data')}"\nrpc_secret = "${'ab'.repeat(32)}"\nmetadata_auto_snapshot_interval = "1s"\nmetadata_snapshots_keep = 3\n`,
    root,
    {},
  );
  const s = metaSnapshots(db, config);
  assert.equal(metaSnapshots(db, config), s, 'one per database');
  assert.equal(s.opts.snapshotsDir, join(meta, 'snapshots'));
  s.startAuto();
  const deadline = Date.now() + 8000;
  while (listSnapshots(s.opts.snapshotsDir).length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  await s.stop();
  const n = listSnapshots(s.opts.snapshotsDir).length;
  assert.ok(n >= 2, `two snapshots within 8 s at a 1 s interval (${n})`);
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(listSnapshots(s.opts.snapshotsDir).length, n, 'none after stop()');
});
