// Zone redundancy (Garage's layout parameter): {atLeast: n} is staged, applied, merged and
// validated with the layout, and every partition's replicas span at least n zones.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { computeAssignment, storageNodesOf } from './assign.ts';
import { apply, current, emptyHistory, mergeHistory, preview, revert, stage, stageReplicationFactor, stageZoneRedundancy, zoneRedundancyOf } from './history.ts';
import { checkHistory } from './validate.ts';
import { PARTITIONS } from './types.ts';
import type { LayoutVersion, NodeId, NodeRole } from './types.ts';
import { GB, role, roles } from './testkit.ts';

function zonesSpanned(r: Record<NodeId, NodeRole>, list: NodeId[]): number {
  return new Set(list.map((id) => r[id]!.zone)).size;
}

const cluster = fc
  .record({
    zones: fc.integer({ min: 1, max: 6 }),
    nodes: fc.array(fc.record({ zone: fc.nat(5), gb: fc.integer({ min: 1, max: 2000 }), gateway: fc.boolean() }), { minLength: 1, maxLength: 10 }),
    rf: fc.integer({ min: 1, max: 5 }),
    n: fc.integer({ min: 1, max: 5 }),
    // A second layout from the first one: some nodes leave, some capacities change.
    drop: fc.array(fc.boolean(), { minLength: 10, maxLength: 10 }),
  })
  .map(({ zones, nodes, rf, n, drop }) => {
    const r: Record<NodeId, NodeRole> = {};
    nodes.forEach((x, i) => (r[`n${i}`] = role(`z${x.zone % zones}`, x.gateway && i > 0 ? null : x.gb)));
    const r2: Record<NodeId, NodeRole> = {};
    for (const [id, v] of Object.entries(r)) if (!drop[Number(id.slice(1))] || id === 'n0') r2[id] = v;
    return { r, r2, rf, n: Math.min(n, rf) };
  });

test('property: with {atLeast: n} every partition spans at least n zones when the zones exist, else it is refused', () => {
  fc.assert(
    fc.property(cluster, ({ r, r2, rf, n }) => {
      let prev: LayoutVersion | undefined;
      for (const rs of [r, r2]) {
        const storage = storageNodesOf(rs);
        const zones = new Set(storage.map((id) => rs[id]!.zone)).size;
        if (zones < n) {
          assert.throws(() => computeAssignment(prev, rs, rf, { atLeast: n }), /zone redundancy is at least \d+ zones but the storage nodes are in \d+ zone/);
          return;
        }
        const out = computeAssignment(prev, rs, rf, { atLeast: n });
        const want = Math.min(rf, storage.length);
        for (let p = 0; p < PARTITIONS; p++) {
          const list = out.assignment[p]!;
          assert.equal(list.length, want, `partition ${p} has ${list.length} replicas`);
          assert.equal(new Set(list).size, list.length);
          assert.ok(zonesSpanned(rs, list) >= n, `partition ${p} spans ${zonesSpanned(rs, list)} < ${n} zones`);
        }
        // Asking for less spread never costs capacity against the maximum spread.
        const max = computeAssignment(prev, rs, rf, 'maximum');
        assert.ok(out.partitionSize >= max.partitionSize * 0.99, `atLeast ${n}: ${out.partitionSize} < maximum ${max.partitionSize}`);
        prev = { version: 1, replicationFactor: rf, roles: rs, assignment: out.assignment, partitionSize: out.partitionSize };
      }
    }),
    { numRuns: 60, seed: 11 },
  );
});

test('{atLeast: 2} lets a big zone hold two replicas of a partition, so small zones stop capping the capacity', () => {
  const r = roles(['a1', 'A', 1000], ['a2', 'A', 1000], ['b', 'B', 100], ['c', 'C', 100]);
  const max = computeAssignment(undefined, r, 3, 'maximum');
  const two = computeAssignment(undefined, r, 3, { atLeast: 2 });
  // Maximum: every partition in B and in C, so a partition replica is at most 100 GB / 256.
  assert.equal(max.partitionSize, Math.floor((100 * GB) / 256));
  // Optimum: A takes two replicas of every partition, B and C 128 partitions each.
  assert.equal(two.partitionSize, Math.floor((100 * GB) / 128), `atLeast 2 gives ${two.partitionSize}, maximum ${max.partitionSize}`);
  let twoZones = 0;
  for (const list of two.assignment) {
    const z = zonesSpanned(r, list);
    assert.ok(z >= 2);
    if (z === 2) twoZones++;
  }
  assert.ok(twoZones > 0, 'some partitions use only two zones');
});

test('zone redundancy above the replication factor or the zones is refused with a clear message', () => {
  const r = roles(['a', 'A', 100], ['b', 'B', 100]);
  assert.throws(() => computeAssignment(undefined, r, 2, { atLeast: 3 }), /zone redundancy must be from 1 to the replication factor \(2\)/);
  assert.throws(() => computeAssignment(undefined, r, 3, { atLeast: 3 }), /at least 3 zones but the storage nodes are in 2 zone\(s\) \(A, B\)/);
});

const id = (c: string): string => c.repeat(64);

test('history: a staged zone redundancy is previewed, applied with the version, reverted and merged LWW', () => {
  let h = emptyHistory(3);
  for (const [n, z] of [['a', 'A'], ['b', 'A'], ['c', 'B'], ['d', 'C']] as const) h = stage(h, id(n), role(z, n === 'a' || n === 'b' ? 1000 : 100), 1);
  h = apply(h, 1, 2);
  assert.equal(zoneRedundancyOf(current(h)), 'maximum');
  assert.equal('zoneRedundancy' in current(h), false, 'the default is not stored');

  h = stageZoneRedundancy(h, { atLeast: 2 }, 3);
  assert.deepEqual(preview(h).next.zoneRedundancy, { atLeast: 2 });
  assert.deepEqual(revert(h).stagingZr, undefined);
  const applied = apply(h, 2, 4);
  assert.deepEqual(current(applied).zoneRedundancy, { atLeast: 2 });
  assert.equal(applied.stagingZr, undefined, 'consumed by the apply');
  assert.ok(current(applied).partitionSize > current(h).partitionSize, 'the big zone now holds two replicas of some partitions');
  checkHistory(structuredClone(applied));
  // A staged value that the apply consumed does not come back from a peer that still has it.
  assert.equal(mergeHistory(applied, h).stagingZr, undefined);
  assert.deepEqual(current(mergeHistory(h, applied)).zoneRedundancy, { atLeast: 2 });

  // Back to maximum is a change on its own.
  const back = apply(stageZoneRedundancy(applied, 'maximum', 5), 3, 6);
  assert.equal(zoneRedundancyOf(current(back)), 'maximum');

  // Concurrent stagings: the later one wins on both sides.
  const x = stageZoneRedundancy(h, { atLeast: 1 }, 10);
  const y = stageZoneRedundancy(h, { atLeast: 3 }, 11);
  assert.deepEqual(mergeHistory(x, y).stagingZr!.v, { atLeast: 3 });
  assert.deepEqual(mergeHistory(y, x).stagingZr!.v, { atLeast: 3 });
});

test('history: applying more zones than exist is refused and nothing is applied', () => {
  let h = emptyHistory(3);
  h = stage(stage(h, id('a'), role('A', 100), 1), id('b'), role('B', 100), 1);
  h = stageZoneRedundancy(h, { atLeast: 3 }, 1);
  assert.throws(() => apply(h, 1, 2), (e: Error & { code?: string }) => e.code === 'InvalidLayout' && /storage nodes are in 2 zone/.test(e.message));
  // A later rf change below the staged redundancy is refused at apply too.
  h = stage(h, id('c'), role('C', 100), 3);
  h = stageReplicationFactor(h, 2, 4);
  assert.throws(() => apply(h, 1, 5), /zone redundancy must be from 1 to the replication factor \(2\)/);
});

test('validation: zone redundancy fields from a peer are checked', () => {
  let h = emptyHistory(3);
  h = stage(stage(stage(h, id('a'), role('A', 100), 1), id('b'), role('B', 100), 1), id('c'), role('C', 100), 1);
  const good = apply(stageZoneRedundancy(h, { atLeast: 2 }, 1), 1, 2);
  checkHistory(structuredClone(good));
  checkHistory(structuredClone(stageZoneRedundancy(good, 'maximum', 3)));
  const bad = (f: (x: any) => void, re: RegExp): void => {
    const x = structuredClone(good) as any;
    f(x);
    assert.throws(() => checkHistory(x), re);
  };
  bad((x) => (x.versions.at(-1).zoneRedundancy = { atLeast: 4 }), /zoneRedundancy.atLeast/);
  bad((x) => (x.versions.at(-1).zoneRedundancy = 'maximum'), /zoneRedundancy/);
  bad((x) => (x.versions.at(-1).zoneRedundancy = { atLeast: 1, extra: 1 }), /unexpected field/);
  bad((x) => (x.stagingZr = { t: 1, v: { atLeast: 0 } }), /stagingZr.v.atLeast/);
  bad((x) => (x.stagingZr = { t: -1, v: 'maximum' }), /stagingZr.t/);
  bad((x) => (x.stagingZr = { t: 1, v: 'minimum' }), /stagingZr.v/);
});
