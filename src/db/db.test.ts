import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Db } from './db.ts';

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
