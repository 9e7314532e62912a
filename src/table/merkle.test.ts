import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { Db } from '../db/db.ts';
import { LocalTable } from './local.ts';
import { MerkleCache, valueHash } from './merkle.ts';
import { Table } from './table.ts';
import { mergeLww, lww, type Lww } from './crdt.ts';
import type { TableSchema } from './schema.ts';
import { sha256 } from '../util/hash.ts';

interface E { pk: string; sk: string; v: Lww<number> }
// Every entry in partition 7, so one write dirties the partition a whole rescan would cover.
const schema: TableSchema<E> = {
  name: 'm', replication: 'sharded',
  partitionKey: (e) => e.pk, sortKey: (e) => e.sk,
  merge: (a, b) => ({ ...a, v: mergeLww(a.v, b.v) }),
  isTombstone: () => false,
  pkHash: (pk) => {
    const h = Buffer.from(sha256(pk));
    h[0] = 7;
    return h;
  },
};

/** The table as MerkleCache sees it, counting the entries it reads (each one is packed and hashed). */
function counting(t: LocalTable<E>): { table: LocalTable<E>; read: () => number } {
  let n = 0;
  const table = Object.create(t) as LocalTable<E>;
  table.rawRange = function* (start, end) {
    for (const x of t.rawRange(start, end)) {
      n++;
      yield x;
    }
  };
  return { table, read: () => n };
}

const dir = mkdtempSync(join(tmpdir(), 'grenier-merkle-'));
const db = new Db(dir);
after(async () => {
  await db.close();
  rmSync(dir, { recursive: true, force: true });
});
let tables = 0;

/** A fresh, empty table (one tree each) in the shared database. */
function withTable(fn: (t: LocalTable<E>) => void): void {
  fn(new LocalTable(db, { ...schema, name: `m${tables++}` }));
}

test('roots between writes cost what changed: one write re-hashes one bucket, repeated roots hash nothing', () => {
  withTable((t) => {
    const { table, read } = counting(t);
    const m = new MerkleCache(table);
    t.insertMany(Array.from({ length: 4000 }, (_, i) => ({ pk: `p${i}`, sk: '', v: lww(i, 1) })));
    m.root(7);
    assert.equal(read(), 4000, 'first root: one scan of the partition');
    for (let w = 0; w < 20; w++) {
      const before = read();
      t.insert({ pk: `p${w}`, sk: '', v: lww(-w, 2) });
      for (let i = 0; i < 10; i++) m.root(7);
      // A bucket holds ~4000/256 ≈ 16 entries; a rescan of the partition reads 4000.
      assert.ok(read() - before < 100, `write ${w}: 10 roots after one write read ${read() - before} entries`);
    }
    const fresh = new MerkleCache(t);
    assert.ok(m.root(7).equals(fresh.root(7)), 'incremental root equals a full recomputation');
    assert.deepEqual(m.buckets(7), fresh.buckets(7));
  });
});

test('property: after any writes, cached roots and buckets equal a fresh computation', () => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: 5 }), fc.boolean()), { minLength: 1, maxLength: 120 }),
      (ops) => {
        withTable((t) => {
          const m = new MerkleCache(t);
          for (const [k, v, look] of ops) {
            t.insert({ pk: `k${k}`, sk: String(k % 3), v: lww(v, v) });
            if (look) m.root(7);
          }
          const fresh = new MerkleCache(t);
          assert.ok(m.root(7).equals(fresh.root(7)));
          assert.deepEqual(m.buckets(7), fresh.buckets(7));
        });
      },
    ),
    { seed: 14, numRuns: 30 },
  );
});

test('a tombstone removed by GC (no update hook runs) is gone from the cached root and buckets', async () => {
  interface T { k: string; dead: boolean }
  const t = new Table(db, { name: `gc${tables++}`, replication: 'sharded', partitionKey: (e: T) => e.k, sortKey: () => '', merge: (a: T, b: T) => ({ k: a.k, dead: a.dead || b.dead }), isTombstone: (e: T) => e.dead });
  await t.insertMany([{ k: 'x', dead: true }, { k: 'y', dead: false }]);
  const k = t.local.key('x', '');
  const p = k[0]!;
  t.merkle.root(p);
  assert.ok(t.removeTombstone(k, valueHash(t.local.getByStorageKey(k))));
  const fresh = new MerkleCache(t.local);
  assert.ok(t.merkle.root(p).equals(fresh.root(p)), 'the cached root still counts the removed tombstone');
  assert.deepEqual(t.merkle.buckets(p), fresh.buckets(p));
});
