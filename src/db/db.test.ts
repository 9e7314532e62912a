import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Db, DbKeyTooLongError, DB_KEY_BYTES_MAX } from './db.ts';

test('trees, transactions and ordered ranges', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'grenier-db-'));
  try {
    const db = new Db(dir);
    const t = db.tree<{ n: number }>('t');
    db.transaction(() => {
      for (const k of ['b', 'a', 'c', 'ab']) t.put(Buffer.from(k), { n: k.length });
    });
    assert.deepEqual([...t.range()].map((e) => e.key.toString()), ['a', 'ab', 'b', 'c']);
    assert.deepEqual([...t.range({ start: Buffer.from('ab'), end: Buffer.from('c') })].map((e) => e.key.toString()), ['ab', 'b']);
    assert.deepEqual([...t.range({ reverse: true, limit: 2 })].map((e) => e.key.toString()), ['c', 'b']);
    assert.deepEqual(t.get(Buffer.from('ab')), { n: 2 });
    assert.throws(() => db.transaction(() => {
      t.put(Buffer.from('z'), { n: 9 });
      throw new Error('abort');
    }), /abort/);
    assert.equal(t.get(Buffer.from('z')), undefined, 'a failed transaction leaves nothing');
    await db.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an over-long key: writes and range bounds throw DbKeyTooLongError at once, reads find nothing', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'grenier-db-'));
  try {
    const db = new Db(dir);
    const t = db.tree<number>('t');
    const long = Buffer.alloc(DB_KEY_BYTES_MAX + 1, 0x61);
    assert.throws(() => db.transaction(() => t.put(long, 1)), DbKeyTooLongError);
    assert.throws(() => t.put(long, 1), (e: unknown) => e instanceof DbKeyTooLongError && e.bytes === DB_KEY_BYTES_MAX + 1);
    // Thrown by the call itself, not at the first step of the iteration.
    assert.throws(() => t.range({ start: long }), DbKeyTooLongError);
    assert.equal(t.get(long), undefined);
    t.remove(long);
    t.put(Buffer.alloc(DB_KEY_BYTES_MAX, 0x61), 2);
    assert.equal(t.get(Buffer.alloc(DB_KEY_BYTES_MAX, 0x61)), 2);
    await db.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the metadata directory is made 0700 and its files 0600, also when they were wider', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'grenier-db-'));
  try {
    const meta = join(dir, 'meta');
    mkdirSync(meta, { mode: 0o755 });
    chmodSync(meta, 0o755);
    writeFileSync(join(meta, 'node_key.pem'), 'secret', { mode: 0o644 });
    chmodSync(join(meta, 'node_key.pem'), 0o644);
    const db = new Db(meta);
    db.tree<number>('t').put(Buffer.from('k'), 1);
    await db.close();
    const mode = (p: string) => (statSync(p).mode & 0o777).toString(8);
    assert.equal(mode(meta), '700');
    for (const f of ['node_key.pem', 'data.mdb', 'lock.mdb']) assert.equal(mode(join(meta, f)), '600', f);
    // A fresh one is created so.
    const fresh = new Db(join(dir, 'a', 'b'));
    await fresh.close();
    assert.equal(mode(join(dir, 'a', 'b')), '700');
    assert.equal(mode(join(dir, 'a', 'b', 'data.mdb')), '600');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a metadata_dir whose name has a dot is still a directory', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'grenier-db-'));
  const path = join(dir, 'meta.v2');
  const db = new Db(path);
  try {
    db.transaction(() => db.tree<number>('t').put(Buffer.from('k'), 1));
    assert.ok(statSync(path).isDirectory(), 'meta.v2 is a directory holding the LMDB files');
    assert.ok(statSync(join(path, 'data.mdb')).isFile());
  } finally {
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
