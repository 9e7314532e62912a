// Seeded property checks of the laws every TableSchema's merge must obey (ARCHITECTURE §4): replicas
// merge what they receive in any order and any grouping, so merge must be commutative, associative
// and idempotent — byte for byte, since Merkle anti-entropy compares the encoded entries.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { pack, unpack } from 'msgpackr';
import type { TableSchema } from './schema.ts';

export interface LawOptions<E> {
  /** Entries as writers insert them, all of ONE partition and sort key (a "world" of updates a
   *  key may receive). The states a replica may hold are merges of subsets of them, in any order. */
  updates: fc.Arbitrary<E[]>;
  /** When a tombstone must absorb another entry (the schema's design): then merging it with that
   *  entry, in either order, is still a tombstone. Omitted: the schema has no tombstone. */
  tombstoneAbsorbs?: (tombstone: E, other: E) => boolean;
  seed?: number;
  numRuns?: number;
}

/** Stable default seed: a failure replays exactly; GRENIER_LAWS_SEED explores others. */
export const LAWS_SEED = Number(process.env.GRENIER_LAWS_SEED ?? 14);

function same<E>(what: string, x: E, y: E): void {
  if (Buffer.compare(pack(x), pack(y)) === 0) return;
  // deepStrictEqual gives a readable diff; equal values with different bytes (key order,
  // undefined vs absent) still fail: Merkle hashes would differ forever.
  assert.deepStrictEqual(x, y, what);
  assert.fail(`${what}: equal values but different encodings (key order or undefined fields): ${JSON.stringify(x)} vs ${JSON.stringify(y)}`);
}

function fold<E>(s: TableSchema<E>, us: E[]): E {
  // As LocalTable.mergeIn does: merge(stored, incoming).
  return us.slice(1).reduce((acc, u) => s.merge(acc, u), us[0]!);
}

/** Runs the laws on `schema`; throws (with fast-check's counterexample and seed) when one fails. */
export function checkLaws<E>(schema: TableSchema<E>, o: LawOptions<E>): void {
  // Through msgpack, as entries are stored and sent: plain objects, Buffers, undefined kept.
  const states = o.updates
    .filter((w) => w.length > 0)
    .map((w) => w.map((u) => unpack(pack(u)) as E))
    .chain((w) => fc.tuple(fc.shuffledSubarray(w, { minLength: 1 }), fc.shuffledSubarray(w, { minLength: 1 }), fc.shuffledSubarray(w, { minLength: 1 })));
  fc.assert(
    fc.property(states, ([ua, ub, uc]) => {
      const m = (x: E, y: E) => schema.merge(x, y);
      const a = fold(schema, ua);
      const b = fold(schema, ub);
      const c = fold(schema, uc);
      const ab = m(a, b);
      same(`${schema.name}: commutative merge(a, b) = merge(b, a)`, ab, m(b, a));
      same(`${schema.name}: associative merge(merge(a, b), c) = merge(a, merge(b, c))`, m(ab, c), m(a, m(b, c)));
      // A merged state is a fixpoint (a raw update may differ from its merge with itself only in
      // encoding: writers need not produce the canonical form, merges must).
      same(`${schema.name}: idempotent merge(m, m) = m`, m(ab, ab), ab);
      same(`${schema.name}: absorbing merge(merge(a, b), b) = merge(a, b)`, m(ab, b), ab);
      assert.deepStrictEqual(m(a, a), a, `${schema.name}: idempotent merge(a, a) = a`);
      // What a merge produces is still an entry a peer may send (schemas that check them).
      if (schema.validate) for (const x of [a, ab, m(ab, c)]) schema.validate(x);
      assert.equal(schema.partitionKey(ab), schema.partitionKey(a), `${schema.name}: merge keeps the partition key`);
      assert.equal(schema.sortKey(ab), schema.sortKey(a), `${schema.name}: merge keeps the sort key`);
      if (o.tombstoneAbsorbs) {
        for (const [t, x] of [[a, b], [b, a], [ab, c], [c, ab]] as [E, E][]) {
          if (!schema.isTombstone(t) || !o.tombstoneAbsorbs(t, x)) continue;
          assert.ok(schema.isTombstone(m(t, x)), `${schema.name}: a tombstone absorbs what it supersedes: merge(t, x)`);
          assert.ok(schema.isTombstone(m(x, t)), `${schema.name}: a tombstone absorbs what it supersedes: merge(x, t)`);
        }
      }
    }),
    { seed: o.seed ?? LAWS_SEED, numRuns: o.numRuns ?? 300 },
  );
}
