// Partition assignment: placement constraints, balance against the optimum, movement, determinism.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { computeAssignment, storageNodesOf } from './assign.ts';
import { FlowGraph } from './flow.ts';
import { PARTITIONS } from './types.ts';
import type { NodeId, NodeRole } from './types.ts';
import { GB, counts, movedBetween, prng, randomRoles, roles, shuffledKeys, version } from './testkit.ts';

/** Largest partition size any valid assignment can reach (same model as Garage: a node with
 *  capacity c takes at most floor(c / s) partitions), found by bisection over s. Written
 *  independently of computeTargets so it can catch a bad rounding or water-filling. */
function optimalPartitionSize(r: Record<NodeId, NodeRole>, rf: number): number {
  const nodes = storageNodesOf(r);
  const rfp = Math.min(rf, nodes.length);
  const zones = [...new Set(nodes.map((n) => r[n]!.zone))];
  const zr = Math.min(zones.length, rfp);
  const feasible = (s: number): boolean => {
    let sum = 0;
    for (const z of zones) {
      const members = nodes.filter((n) => r[n]!.zone === z);
      const room = members.reduce((a, n) => a + Math.min(PARTITIONS, Math.floor(r[n]!.capacity! / s)), 0);
      if (zr === zones.length && room < PARTITIONS) return false; // every partition needs this zone
      sum += Math.min(room, PARTITIONS * Math.min(members.length, 1 + rfp - zr));
    }
    return sum >= PARTITIONS * rfp;
  };
  let lo = 1;
  let hi = Math.max(...nodes.map((n) => r[n]!.capacity!));
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (feasible(mid)) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

function checkValid(r: Record<NodeId, NodeRole>, rf: number, assignment: NodeId[][], label: string): void {
  const storage = new Set(storageNodesOf(r));
  const zones = new Set([...storage].map((n) => r[n]!.zone));
  const want = Math.min(rf, storage.size);
  assert.equal(assignment.length, PARTITIONS, label);
  for (let p = 0; p < PARTITIONS; p++) {
    const list = assignment[p]!;
    assert.equal(list.length, want, `${label}: partition ${p} has ${list.length} replicas`);
    assert.equal(new Set(list).size, list.length, `${label}: partition ${p} repeats a node`);
    for (const n of list) assert.ok(storage.has(n), `${label}: partition ${p} on non-storage node ${n}`);
    const z = new Set(list.map((n) => r[n]!.zone));
    assert.equal(z.size, Math.min(zones.size, want), `${label}: partition ${p} spans ${z.size} zones`);
  }
}

test('three zones, one node each, equal capacity: every node holds every partition', () => {
  const r = roles(['a', 'z1', 100], ['b', 'z2', 100], ['c', 'z3', 100]);
  const out = computeAssignment(undefined, r, 3);
  checkValid(r, 3, out.assignment, 'case');
  assert.deepEqual([...counts(out.assignment).values()], [256, 256, 256]);
  assert.equal(out.partitionSize, Math.floor((100 * GB) / 256));
  assert.deepEqual(out.warnings, []);
});

test('three zones, two equal nodes each: 128 partitions per node (±2 of ideal)', () => {
  const r = roles(['a1', 'A', 500], ['a2', 'A', 500], ['b1', 'B', 500], ['b2', 'B', 500], ['c1', 'C', 500], ['c2', 'C', 500]);
  const out = computeAssignment(undefined, r, 3);
  checkValid(r, 3, out.assignment, 'case');
  for (const [n, c] of counts(out.assignment)) assert.ok(Math.abs(c - 128) <= 2, `${n}: ${c}`);
  assert.equal(out.partitionSize, optimalPartitionSize(r, 3));
});

test('unequal capacities inside a zone split that zone proportionally', () => {
  const r = roles(['a1', 'A', 1000], ['a2', 'A', 2000], ['b', 'B', 1000], ['c', 'C', 1000]);
  const c = counts(computeAssignment(undefined, r, 3).assignment);
  assert.ok(Math.abs(c.get('a1')! - 256 / 3) <= 1, `a1 ${c.get('a1')}`);
  assert.ok(Math.abs(c.get('a2')! - 512 / 3) <= 1, `a2 ${c.get('a2')}`);
  assert.equal(c.get('b'), 256);
  assert.equal(c.get('c'), 256);
});

test('a huge zone holds at most one replica per partition, and the warning says so', () => {
  const r = roles(['big', 'A', 4000], ['b', 'B', 1000], ['c', 'C', 1000], ['d', 'D', 1000]);
  const out = computeAssignment(undefined, r, 3);
  checkValid(r, 3, out.assignment, 'case');
  const c = counts(out.assignment);
  assert.equal(c.get('big'), 256);
  for (const n of ['b', 'c', 'd']) assert.ok(Math.abs(c.get(n)! - 512 / 3) <= 1, `${n}: ${c.get(n)}`);
  assert.ok(out.warnings.some((w) => w.includes('zone A') && w.includes('unused')), out.warnings.join('; '));
  assert.equal(out.partitionSize, optimalPartitionSize(r, 3));
});

test('capacity-proportional across zones when no zone is capped', () => {
  const r = roles(['n1', 'z1', 100], ['n2', 'z2', 200], ['n3', 'z3', 300], ['n4', 'z4', 400], ['n5', 'z5', 500]);
  const c = counts(computeAssignment(undefined, r, 3).assignment);
  // λ * 1500 = 768 → 51.2 partitions per 100 GB
  [51.2, 102.4, 153.6, 204.8, 256].forEach((ideal, i) => {
    const got = c.get(`n${i + 1}`)!;
    assert.ok(Math.abs(got - ideal) <= 1, `n${i + 1}: ${got} vs ${ideal}`);
  });
});

test('fewer zones than rf: every partition uses every zone (2 zones, rf 3 → 2+1)', () => {
  const r = roles(['a1', 'A', 100], ['a2', 'A', 100], ['b1', 'B', 100], ['b2', 'B', 100]);
  const out = computeAssignment(undefined, r, 3);
  checkValid(r, 3, out.assignment, 'case');
  for (const list of out.assignment) {
    const perZone = ['A', 'B'].map((z) => list.filter((n) => r[n]!.zone === z).length).sort();
    assert.deepEqual(perZone, [1, 2]);
  }
  for (const [n, c] of counts(out.assignment)) assert.ok(Math.abs(c - 192) <= 2, `${n}: ${c}`);
  assert.ok(out.warnings.some((w) => w.includes('only 2 zone(s)')));
});

test('gateways get nothing; too few storage nodes gives fewer replicas with a warning', () => {
  const r = roles(['gw', 'A', null], ['a', 'A', 100], ['b', 'B', 100]);
  const out = computeAssignment(undefined, r, 3);
  checkValid(r, 3, out.assignment, 'case');
  assert.equal(counts(out.assignment).get('gw'), undefined);
  assert.ok(out.assignment.every((l) => l.length === 2));
  assert.ok(out.warnings.some((w) => w.includes('only 2 storage node(s)')));
});

test('no storage node: empty assignment, partition size 0, warning', () => {
  const out = computeAssignment(undefined, roles(['gw', 'A', null]), 3);
  assert.ok(out.assignment.every((l) => l.length === 0));
  assert.equal(out.partitionSize, 0);
  assert.ok(out.warnings.some((w) => w.includes('no storage node')));
});

test('a node far too small for its share gets no partition and a warning', () => {
  const r = roles(['a', 'A', 1000], ['tiny', 'A', 1], ['b', 'B', 1000], ['c', 'C', 1000]);
  const out = computeAssignment(undefined, r, 3);
  assert.equal(counts(out.assignment).get('tiny'), undefined);
  assert.ok(out.warnings.some((w) => w.includes('tiny') && w.includes('no partition')));
  assert.equal(out.partitionSize, Math.floor((1000 * GB) / 256));
});

test('invalid replication factor throws', () => {
  assert.throws(() => computeAssignment(undefined, roles(['a', 'A', 1]), 0), /replication factor/);
  assert.throws(() => computeAssignment(undefined, roles(['a', 'A', 1]), 1.5), /replication factor/);
});

test('adding a node in an existing zone moves only what the new node takes', () => {
  const r1 = roles(['a', 'A', 100], ['b', 'B', 100], ['c', 'C', 100]);
  const o1 = computeAssignment(undefined, r1, 3);
  const v1 = version(1, 3, r1, o1.assignment, o1.partitionSize);
  const r2 = { ...r1, ...roles(['d', 'A', 100]) };
  const o2 = computeAssignment(v1, r2, 3);
  checkValid(r2, 3, o2.assignment, 'case');
  const c = counts(o2.assignment);
  assert.equal(c.get('d'), 128);
  assert.equal(movedBetween(o1.assignment, o2.assignment), 128); // ideal: exactly d's share
  // Partitions that did not go to d did not move at all.
  for (let p = 0; p < PARTITIONS; p++) {
    if (!o2.assignment[p]!.includes('d')) assert.deepEqual(o2.assignment[p], o1.assignment[p]);
  }
});

test('adding a fourth zone moves exactly the new node share (192)', () => {
  const r1 = roles(['a', 'A', 100], ['b', 'B', 100], ['c', 'C', 100]);
  const o1 = computeAssignment(undefined, r1, 3);
  const r2 = { ...r1, ...roles(['d', 'D', 100]) };
  const o2 = computeAssignment(version(1, 3, r1, o1.assignment, o1.partitionSize), r2, 3);
  checkValid(r2, 3, o2.assignment, 'case');
  assert.deepEqual([...counts(o2.assignment).values()], [192, 192, 192, 192]);
  assert.equal(movedBetween(o1.assignment, o2.assignment), 192);
});

test('removing a node moves only its partitions', () => {
  const r1 = roles(['a1', 'A', 100], ['a2', 'A', 100], ['b', 'B', 200], ['c', 'C', 200]);
  const o1 = computeAssignment(undefined, r1, 3);
  const had = counts(o1.assignment).get('a2')!;
  const { a2: _, ...r2 } = r1;
  const o2 = computeAssignment(version(1, 3, r1, o1.assignment, o1.partitionSize), r2, 3);
  checkValid(r2, 3, o2.assignment, 'case');
  assert.equal(movedBetween(o1.assignment, o2.assignment), had);
});

test('recomputing with the same roles moves nothing', () => {
  const rnd = prng(7);
  for (let k = 0; k < 30; k++) {
    const r = randomRoles(rnd);
    const rf = 1 + Math.floor(rnd() * 4);
    const o1 = computeAssignment(undefined, r, rf);
    const o2 = computeAssignment(version(1, rf, r, o1.assignment, o1.partitionSize), r, rf);
    assert.deepEqual(o2.assignment, o1.assignment, `case ${k}`);
  }
});

test('200 random clusters: valid, deterministic, key-order independent, near-optimal', () => {
  const rnd = prng(20240601);
  let worst = 1;
  let checked = 0;
  for (let k = 0; k < 200; k++) {
    const r = randomRoles(rnd);
    const rf = 1 + Math.floor(rnd() * 4);
    const label = `case ${k} rf ${rf} ${JSON.stringify(r)}`;
    const out = computeAssignment(undefined, r, rf);
    assert.ok(!out.warnings.some((w) => w.includes('could not meet')), `${label}: ${out.warnings}`);
    if (storageNodesOf(r).length === 0) {
      assert.equal(out.partitionSize, 0);
      continue;
    }
    checkValid(r, rf, out.assignment, label);
    const again = computeAssignment(undefined, shuffledKeys(rnd, r), rf);
    assert.deepEqual(again, out, `${label}: not deterministic`);
    // partitionSize is the largest size at which every node fits its partitions.
    const c = counts(out.assignment);
    const fit = Math.min(...[...c].map(([n, cnt]) => Math.floor(r[n]!.capacity! / cnt)));
    assert.equal(out.partitionSize, fit, label);
    const ratio = out.partitionSize / optimalPartitionSize(r, rf);
    assert.ok(ratio <= 1 + 1e-9, `${label}: above the optimum?`);
    worst = Math.min(worst, ratio);
    checked++;
  }
  // Integer rounding costs at most a partition or so per node; measured worst is reported.
  assert.ok(worst > 0.9, `worst partition size / optimum = ${worst}`);
  if (process.env.LAYOUT_REPORT) console.log(`partition size / optimum: worst ${worst.toFixed(4)}`);
  assert.ok(checked > 150);
});

test('random changes: valid result, movement close to the lower bound', () => {
  const rnd = prng(99);
  let excess = 0;
  for (let k = 0; k < 100; k++) {
    const r1 = randomRoles(rnd);
    const rf = 1 + Math.floor(rnd() * 3);
    const o1 = computeAssignment(undefined, r1, rf);
    const r2: Record<NodeId, NodeRole> = { ...r1 };
    const ids = Object.keys(r1);
    const op = rnd();
    if (op < 0.4) r2[`new${k}`] = { zone: `z${Math.floor(rnd() * 9)}`, capacity: (1 + Math.floor(rnd() * 1000)) * GB, tags: [] };
    else if (op < 0.7 && ids.length > 1) delete r2[ids[Math.floor(rnd() * ids.length)]!];
    else {
      const id = ids[Math.floor(rnd() * ids.length)]!;
      r2[id] = { ...r1[id]!, capacity: (1 + Math.floor(rnd() * 1000)) * GB };
    }
    const o2 = computeAssignment(version(1, rf, r1, o1.assignment, o1.partitionSize), r2, rf);
    if (storageNodesOf(r2).length === 0) continue;
    const label = `case ${k}`;
    checkValid(r2, rf, o2.assignment, label);
    // Lower bound: every replica a node gains over what it had must arrive from elsewhere.
    const before = counts(o1.assignment);
    let bound = 0;
    for (const [n, c] of counts(o2.assignment)) bound += Math.max(0, c - (before.get(n) ?? 0));
    const moved = movedBetween(o1.assignment, o2.assignment);
    assert.ok(moved >= bound);
    excess = Math.max(excess, moved - bound);
  }
  // Zone constraints can force a few swaps beyond the bound, never many.
  assert.ok(excess <= 16, `worst movement above the lower bound: ${excess}`);
  if (process.env.LAYOUT_REPORT) console.log(`moved - lower bound: worst ${excess}`);
});

test('min-cost flow picks the cheaper of two paths and reports its cost', () => {
  const g = new FlowGraph(4);
  g.addEdge(0, 1, 1, 0);
  g.addEdge(0, 2, 1, 0);
  const cheap = g.addEdge(1, 3, 1, 0);
  const dear = g.addEdge(2, 3, 1, 5);
  assert.deepEqual(g.minCostFlow(0, 3, 1), { flow: 1, cost: 0 });
  assert.equal(g.flowOn(cheap), 1);
  assert.equal(g.flowOn(dear), 0);
  assert.deepEqual(g.minCostFlow(0, 3), { flow: 1, cost: 5 });
});
