// The LRU: bounds by entries and by weight, eviction order, and a model check against a naive
// array implementation over random operation sequences.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Lru } from './lru.ts';

test('bounded by entries: evicts the least recently used; get refreshes, peek does not', () => {
  const evicted: string[] = [];
  const l = new Lru<string, number>({ maxEntries: 3, onEvict: (k) => evicted.push(k) });
  l.set('a', 1);
  l.set('b', 2);
  l.set('c', 3);
  assert.equal(l.get('a'), 1); // a is now the most recent
  assert.equal(l.peek('b'), 2); // b stays the least recent
  l.set('d', 4);
  assert.deepEqual(evicted, ['b']);
  assert.deepEqual([...l.keys()], ['c', 'a', 'd']);
  l.set('c', 30); // replacing refreshes and evicts nothing
  assert.deepEqual([...l.keys()], ['a', 'd', 'c']);
  assert.equal(l.size, 3);
  assert.deepEqual(evicted, ['b']);
});

test('bounded by weight: evicts until under, never the entry just set; reweigh and delete keep the total', () => {
  const evicted: string[] = [];
  const l = new Lru<string, string>({ maxWeight: 10, onEvict: (k) => evicted.push(k) });
  l.set('a', 'x', 4);
  l.set('b', 'x', 4);
  assert.equal(l.weight, 8);
  l.set('c', 'x', 4);
  assert.deepEqual(evicted, ['a']);
  assert.equal(l.weight, 8);
  l.set('big', 'x', 50); // over the bound alone: everything else goes, it stays
  assert.deepEqual(evicted, ['a', 'b', 'c']);
  assert.deepEqual([...l.keys()], ['big']);
  assert.equal(l.weight, 50);
  l.set('e', 'x', 1); // now 'big' is the oldest and goes
  assert.deepEqual([...l.keys()], ['e']);
  l.set('f', 'x', 0);
  assert.equal(l.reweigh('f', 9), true); // 1 + 9 = 10: fits
  assert.equal(l.size, 2);
  assert.equal(l.reweigh('f', 10), true); // 11: 'e' goes, 'f' is spared
  assert.deepEqual([...l.keys()], ['f']);
  assert.equal(l.reweigh('nope', 1), false);
  assert.equal(l.delete('f'), true);
  assert.equal(l.delete('f'), false);
  assert.equal(l.weight, 0);
  assert.equal(l.size, 0);
  assert.deepEqual([...l.keys()], []);
});

test('clear empties; delete is not an eviction', () => {
  let evictions = 0;
  const l = new Lru<number, number>({ maxEntries: 2, onEvict: () => evictions++ });
  l.set(1, 1);
  l.set(2, 2);
  l.delete(1);
  l.clear();
  assert.equal(l.size, 0);
  assert.equal(l.get(2), undefined);
  l.set(3, 3);
  l.set(4, 4);
  assert.deepEqual([...l.keys()], [3, 4]);
  assert.equal(evictions, 0);
});

test('model check: the same answers, order, weight and evictions as a naive implementation', () => {
  type Op = { op: 'get' | 'peek' | 'delete'; k: number } | { op: 'set'; k: number; w: number } | { op: 'reweigh'; k: number; w: number };
  const key = fc.integer({ min: 0, max: 12 });
  const op: fc.Arbitrary<Op> = fc.oneof(
    fc.record({ op: fc.constantFrom('get' as const, 'peek' as const, 'delete' as const), k: key }),
    fc.record({ op: fc.constant('set' as const), k: key, w: fc.integer({ min: 0, max: 6 }) }),
    fc.record({ op: fc.constant('reweigh' as const), k: key, w: fc.integer({ min: 0, max: 6 }) }),
  );
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 0, max: 15 }), fc.array(op, { maxLength: 200 }), (maxEntries, maxWeight, ops) => {
      const evicted: number[] = [];
      const l = new Lru<number, number>({ maxEntries, maxWeight, onEvict: (k) => evicted.push(k) });
      // The model: oldest first.
      let m: { k: number; v: number; w: number }[] = [];
      const mEvicted: number[] = [];
      const trim = (keep: number) => {
        const over = () => m.length > maxEntries || m.reduce((a, e) => a + e.w, 0) > maxWeight;
        for (let i = 0; i < m.length && over(); ) {
          if (m[i]!.k === keep) i++;
          else mEvicted.push(m.splice(i, 1)[0]!.k);
        }
      };
      let serial = 0;
      for (const o of ops) {
        const i = m.findIndex((e) => e.k === o.k);
        if (o.op === 'get') {
          const want = i < 0 ? undefined : m[i]!.v;
          if (i >= 0) m.push(...m.splice(i, 1));
          assert.equal(l.get(o.k), want);
        } else if (o.op === 'peek') {
          assert.equal(l.peek(o.k), i < 0 ? undefined : m[i]!.v);
        } else if (o.op === 'delete') {
          if (i >= 0) m.splice(i, 1);
          assert.equal(l.delete(o.k), i >= 0);
        } else if (o.op === 'set') {
          const v = serial++;
          if (i >= 0) m.splice(i, 1);
          m.push({ k: o.k, v, w: o.w });
          trim(o.k);
          l.set(o.k, v, o.w);
        } else if (o.op === 'reweigh') {
          if (i >= 0) {
            m[i]!.w = o.w;
            trim(o.k);
          }
          assert.equal(l.reweigh(o.k, o.w), i >= 0);
        }
        assert.deepEqual([...l.keys()], m.map((e) => e.k));
        assert.equal(l.size, m.length);
        assert.equal(l.weight, m.reduce((a, e) => a + e.w, 0));
        assert.deepEqual(evicted, mEvicted);
      }
      m = [];
    }),
    { numRuns: 300 },
  );
});
