import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Db } from '../db/db.ts';
import { LocalTable } from './local.ts';
import { mergeLww, lww, type Lww } from './crdt.ts';
import type { TableSchema } from './schema.ts';

interface E { pk: string; sk: string; v: Lww<number> }
const schema: TableSchema<E> = {
  name: 't', replication: 'sharded',
  partitionKey: (e) => e.pk, sortKey: (e) => e.sk,
  merge: (a, b) => ({ ...a, v: mergeLww(a.v, b.v) }),
  isTombstone: () => false,
};

test('merge on insert, range by prefix/after/limit/reverse, hooks in the transaction', () => {
  const dir = mkdtempSync(join(tmpdir(), 'grenier-table-'));
  try {
    const t = new LocalTable(new Db(dir), schema);
    const seen: number[] = [];
    t.onUpdate((_b, a) => seen.push(a.v.v));
    for (const sk of ['a/1', 'a/2', 'b', 'a/10', 'é', 'a']) t.insert({ pk: 'p', sk, v: lww(1, 1) });
    t.insert({ pk: 'q', sk: 'a/1', v: lww(5, 1) });
    assert.equal(t.insert({ pk: 'p', sk: 'b', v: lww(7, 0) }).v.v, 1, 'older write loses');
    assert.equal(t.insert({ pk: 'p', sk: 'b', v: lww(7, 2) }).v.v, 7);
    const keys = (q = {}) => [...t.range('p', q)].map((e) => e.sk);
    assert.deepEqual(keys(), ['a', 'a/1', 'a/10', 'a/2', 'b', 'é']);
    assert.deepEqual(keys({ prefix: 'a/' }), ['a/1', 'a/10', 'a/2']);
    assert.deepEqual(keys({ after: 'a/1' }), ['a/10', 'a/2', 'b', 'é']);
    assert.deepEqual(keys({ start: 'a/10', limit: 2 }), ['a/10', 'a/2']);
    assert.deepEqual(keys({ reverse: true, limit: 3 }), ['é', 'b', 'a/2']);
    assert.deepEqual(keys({ reverse: true, prefix: 'a/' }), ['a/2', 'a/10', 'a/1']);
    assert.deepEqual([...t.range('q')].map((e) => e.v.v), [5]);
    assert.equal(seen.length, 9);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('LWW merge is commutative and deterministic on ties', () => {
  const a = lww('x', 5), b = lww('y', 5), c = lww('z', 4);
  assert.deepEqual(mergeLww(a, b), mergeLww(b, a));
  assert.deepEqual(mergeLww(mergeLww(a, c), b), mergeLww(a, mergeLww(c, b)));
  assert.equal(mergeLww(c, a).v, 'x');
});
