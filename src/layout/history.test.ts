// Layout history: staging/preview/apply/revert, transitions (write sets, read nodes, trim) and CRDT merge laws.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ackMin,
  allNodes,
  apply,
  current,
  emptyHistory,
  markAcked,
  markSynced,
  mergeHistory,
  nodesOf,
  partitionOf,
  preview,
  readNodes,
  readVersion,
  revert,
  stage,
  stagedRoles,
  stageReplicationFactor,
  trim,
  writeSets,
} from './history.ts';
import { GrenierError } from '../util/errors.ts';
import { PARTITIONS } from './types.ts';
import type { LayoutHistory, NodeId } from './types.ts';
import { GB, pick, prng, role } from './testkit.ts';

function stageAll(h: LayoutHistory, spec: [NodeId, string, number | null][], now: number): LayoutHistory {
  for (const [id, zone, cap] of spec) h = stage(h, id, role(zone, cap), now);
  return h;
}

/** v1 = a, b, c in zones A, B, C; then v2 adds d in zone A. */
function twoVersions(): LayoutHistory {
  let h = stageAll(emptyHistory(3), [['a', 'A', 100], ['b', 'B', 100], ['c', 'C', 100]], 1);
  h = apply(h, 1, 2);
  h = stage(h, 'd', role('A', 100), 3);
  return apply(h, 2, 4);
}

test('empty history: version 0, no nodes, every partition empty', () => {
  const h = emptyHistory(3);
  assert.equal(current(h).version, 0);
  assert.equal(current(h).replicationFactor, 3);
  assert.equal(current(h).assignment.length, PARTITIONS);
  assert.deepEqual(allNodes(h), []);
  assert.deepEqual(writeSets(h, 0), []);
  assert.deepEqual(readNodes(h, 0), []);
});

test('partitionOf is the first byte; nodesOf reads the assignment', () => {
  assert.equal(partitionOf(new Uint8Array([0xab, 1, 2])), 0xab);
  assert.throws(() => partitionOf(new Uint8Array()));
  const h = twoVersions();
  assert.equal(nodesOf(current(h), 7).length, 3);
  assert.deepEqual(nodesOf(current(h), 300), []);
});

test('stage → preview → apply: first layout', () => {
  let h = stageAll(emptyHistory(3), [['a', 'A', 100], ['b', 'B', 100], ['c', 'C', 100], ['gw', 'A', null]], 10);
  const p = preview(h, { bytesPerReplica: 0 });
  assert.equal(p.next.version, 1);
  assert.equal(p.moved, 3 * PARTITIONS);
  assert.equal(p.movedBytesEstimate, 0);
  assert.equal(p.usableCapacity, Math.floor((100 * GB) / 256) * 256);
  assert.deepEqual(
    p.perNode.map((n) => [n.node, n.zone, n.partitions, n.capacity]),
    [['a', 'A', 256, 100 * GB], ['b', 'B', 256, 100 * GB], ['c', 'C', 256, 100 * GB], ['gw', 'A', 0, null]],
  );
  assert.equal(p.perNode[0]!.usage, 256 * p.next.partitionSize);
  assert.deepEqual(p.warnings, []);
  assert.equal(preview(h).movedBytesEstimate, undefined);
  h = apply(h, 1, 11);
  assert.deepEqual(current(h), p.next);
  assert.deepEqual(h.staging, {});
  // The empty version 0 stored nothing, so it is dropped at once.
  assert.deepEqual(h.versions.map((v) => v.version), [1]);
  assert.deepEqual(allNodes(h), ['a', 'b', 'c', 'gw']);
});

test('apply refuses a wrong version, nothing staged, and a layout without storage', () => {
  let h = stageAll(emptyHistory(3), [['a', 'A', 100]], 1);
  assert.throws(() => apply(h, 2, 2), (e: unknown) => e instanceof GrenierError && /expected --version 1/.test(e.message));
  assert.throws(() => apply(h, 0, 2), /expected --version 1/);
  h = apply(h, 1, 2);
  assert.throws(() => apply(h, 2, 3), /no staged layout changes/);
  assert.throws(() => apply(stage(h, 'a', null, 4), 2, 5), /no storage node/);
  assert.throws(() => apply(stage(h, 'a', role('A', null), 4), 2, 5), /no storage node/);
  // Staging a role identical to the current one is not a change.
  assert.throws(() => apply(stage(h, 'a', role('A', 100), 4), 2, 5), /no staged layout changes/);
  assert.ok(preview(h).warnings.includes('no staged changes'));
});

test('stage validates roles', () => {
  const h = emptyHistory(3);
  assert.throws(() => stage(h, 'a', { zone: '', capacity: 1, tags: [] }, 1), /zone/);
  assert.throws(() => stage(h, 'a', { zone: 'A', capacity: 0, tags: [] }, 1), /capacity/);
  assert.throws(() => stage(h, 'a', { zone: 'A', capacity: -5, tags: [] }, 1), /capacity/);
  assert.throws(() => stage(h, 'a', { zone: 'A', capacity: 1.5, tags: [] }, 1), /capacity/);
  assert.throws(() => stage(h, '', role('A', 1), 1), /node id/);
  assert.throws(() => emptyHistory(0), /replication factor/);
  assert.throws(() => stageReplicationFactor(h, 2.5, 1), /replication factor/);
});

test('stage is immutable and LWW; a later local stage wins even with an older clock', () => {
  const h0 = emptyHistory(3);
  const h1 = stage(h0, 'a', role('A', 100), 50);
  assert.deepEqual(h0.staging, {});
  const h2 = stage(h1, 'a', role('B', 100), 10); // clock went backwards
  assert.equal(stagedRoles(h2)['a']!.zone, 'B');
  assert.ok(h2.staging['a']!.t > h1.staging['a']!.t);
});

test('staging ties (same timestamp, different values) resolve the same way on both sides', () => {
  const x = stageReplicationFactor(stage(emptyHistory(3), 'a', role('A', 100), 7), 2, 7);
  const y = stageReplicationFactor(stage(emptyHistory(3), 'a', role('B', 100), 7), 1, 7);
  assert.equal(x.staging['a']!.t, y.staging['a']!.t);
  const xy = mergeHistory(x, y);
  assert.deepEqual(mergeHistory(y, x), xy);
  assert.equal(stagedRoles(xy)['a']!.zone, 'B'); // greater canonical encoding
  assert.equal(xy.stagingRf!.v, 2);
});

test('revert clears staging, and merging a peer that still has the old entries does not resurrect them', () => {
  let h = stageAll(emptyHistory(3), [['a', 'A', 100], ['b', 'B', 100]], 5);
  h = stageReplicationFactor(h, 2, 6);
  const peer = h;
  const reverted = revert(h);
  assert.deepEqual(reverted.staging, {});
  assert.equal(reverted.stagingRf, undefined);
  assert.deepEqual(stagedRoles(reverted), {});
  const merged = mergeHistory(reverted, peer);
  assert.deepEqual(merged.staging, {});
  assert.equal(merged.stagingRf, undefined);
  // A change staged after the revert survives.
  const later = stage(reverted, 'c', role('C', 1), 1);
  assert.deepEqual(Object.keys(mergeHistory(peer, later).staging), ['c']);
});

test('apply consumes the staging everywhere once gossiped', () => {
  const staged = stageAll(emptyHistory(3), [['a', 'A', 100], ['b', 'B', 100], ['c', 'C', 100]], 5);
  const applied = apply(staged, 1, 6);
  const m = mergeHistory(staged, applied);
  assert.deepEqual(m.staging, {});
  assert.equal(current(m).version, 1);
  assert.throws(() => apply(m, 2, 7), /no staged layout changes/);
});

test('removing a role and changing the replication factor', () => {
  let h = twoVersions();
  h = stage(h, 'd', null, 10);
  h = stageReplicationFactor(h, 2, 10);
  const p = preview(h);
  assert.equal(p.next.replicationFactor, 2);
  assert.deepEqual(Object.keys(p.next.roles), ['a', 'b', 'c']);
  h = apply(h, 3, 11);
  assert.equal(current(h).replicationFactor, 2);
  assert.ok(current(h).assignment.every((l) => l.length === 2 && !l.includes('d')));
  assert.equal(h.stagingRf, undefined);
});

test('preview counts the replicas that move, and staging a new node in a used zone moves its share', () => {
  let h = stageAll(emptyHistory(3), [['a', 'A', 100], ['b', 'B', 100], ['c', 'C', 100]], 1);
  h = apply(h, 1, 2);
  h = stage(h, 'd', role('A', 100), 3);
  const p = preview(h, { bytesPerReplica: 1000 });
  assert.equal(p.moved, 128);
  assert.equal(p.movedBytesEstimate, 128_000);
  assert.deepEqual(p.perNode.map((n) => n.partitions), [128, 256, 256, 128]);
});

test('transition v1 → v2: writes reach both sets, reads stay on v1 until every node synced v2', () => {
  let h = twoVersions();
  const [v1, v2] = h.versions;
  assert.equal(v1!.version, 1);
  assert.equal(v2!.version, 2);
  const p = h.versions[1]!.assignment.findIndex((l) => l.includes('d'));
  assert.ok(p >= 0);
  const sorted = (l: NodeId[]) => [...l].sort();
  assert.deepEqual(writeSets(h, p).map(sorted), [sorted(nodesOf(v1!, p)), sorted(nodesOf(v2!, p))]);
  assert.deepEqual(readNodes(h, p), nodesOf(v1!, p));
  assert.equal(readVersion(h), 1);
  // A partition that did not change needs one set only.
  const q = h.versions[1]!.assignment.findIndex((l) => !l.includes('d'));
  assert.equal(writeSets(h, q).length, 1);

  // Everyone acks v2: reads still come from v1, so writes must keep reaching v1.
  for (const n of ['a', 'b', 'c', 'd']) h = markAcked(h, n, 2);
  assert.equal(ackMin(h), 2);
  assert.equal(writeSets(h, p).length, 2);
  assert.deepEqual(readNodes(h, p), nodesOf(v1!, p));

  // Three of four synced: still v1.
  for (const n of ['a', 'b', 'c']) h = markSynced(h, n, 2);
  assert.deepEqual(readNodes(h, p), nodesOf(v1!, p));
  assert.equal(trim(h).versions.length, 2);

  h = markSynced(h, 'd', 2);
  assert.equal(readVersion(h), 2);
  assert.deepEqual(readNodes(h, p), nodesOf(v2!, p));
  assert.deepEqual(writeSets(h, p), [nodesOf(v2!, p)]);
  const t = trim(h);
  assert.deepEqual(t.versions.map((v) => v.version), [2]);
  assert.deepEqual(readNodes(t, p), nodesOf(v2!, p));
  assert.deepEqual(trim(t), t);
});

test('writes keep reaching v1 while some node (even a gateway) has not acked v2 and reads moved on', () => {
  let h = stageAll(emptyHistory(3), [['a', 'A', 100], ['b', 'B', 100], ['c', 'C', 100], ['gw', 'G', null]], 1);
  h = apply(h, 1, 2);
  h = apply(stage(h, 'd', role('D', 100), 3), 2, 4);
  const p = h.versions[1]!.assignment.findIndex((l) => l.includes('d'));
  for (const n of ['a', 'b', 'c', 'd']) h = markSynced(h, n, 2);
  assert.equal(readVersion(h), 2);
  assert.equal(ackMin(h), 1); // the gateway has not acked
  assert.equal(writeSets(h, p).length, 2);
  h = markAcked(h, 'gw', 2);
  assert.equal(writeSets(h, p).length, 1);
});

test('a removed node holds reads on the old version until it synced, but trim drops the old version without it', () => {
  let h = stageAll(emptyHistory(3), [['a', 'A', 100], ['b', 'B', 100], ['c', 'C', 100], ['x', 'C', 100]], 1);
  h = apply(h, 1, 2);
  h = apply(stage(h, 'x', null, 3), 2, 4);
  for (const n of ['a', 'b', 'c']) h = markSynced(h, n, 2);
  assert.equal(readVersion(h), 1);
  assert.ok(allNodes(h).includes('x'));
  const t = trim(h);
  assert.deepEqual(t.versions.map((v) => v.version), [2]);
  assert.equal(readVersion(t), 2);
  assert.deepEqual(allNodes(t), ['a', 'b', 'c']);
});

test('trackers are monotone', () => {
  let h = markSynced(emptyHistory(3), 'a', 3);
  h = markSynced(h, 'a', 2);
  h = markAcked(h, 'a', 1);
  assert.deepEqual(h.syncMap, { a: 3 });
  assert.deepEqual(h.ackMap, { a: 3 });
});

test('merge keeps a trimmed version trimmed', () => {
  const h = twoVersions();
  let synced = h;
  for (const n of ['a', 'b', 'c', 'd']) synced = markSynced(synced, n, 2);
  const t = trim(synced);
  const m = mergeHistory(h, t);
  assert.deepEqual(m.versions.map((v) => v.version), [2]);
  assert.deepEqual(mergeHistory(t, h), m);
});

test('concurrent applies of one version number resolve to the same winner on both sides', () => {
  const base = apply(stageAll(emptyHistory(3), [['a', 'A', 100], ['b', 'B', 100], ['c', 'C', 100]], 1), 1, 2);
  const x = apply(stage(base, 'd', role('A', 100), 3), 2, 4);
  const y = apply(stage(base, 'e', role('B', 100), 3), 2, 4);
  const xy = mergeHistory(x, y);
  assert.deepEqual(mergeHistory(y, x), xy);
  assert.equal(xy.versions.length, 2);
  assert.ok([x, y].some((h) => JSON.stringify(current(h)) === JSON.stringify(current(xy))));
});

/** Random histories: replicas of one cluster doing random operations and gossiping. */
function randomHistories(seed: number, count: number): LayoutHistory[] {
  const rnd = prng(seed);
  const ids = ['n1', 'n2', 'n3', 'n4', 'n5', 'n6'];
  const zones = ['A', 'B', 'C', 'D'];
  const replicas: LayoutHistory[] = [emptyHistory(3), emptyHistory(3), emptyHistory(3)];
  const out: LayoutHistory[] = [];
  for (let step = 0; step < count * 10; step++) {
    const i = Math.floor(rnd() * replicas.length);
    let h = replicas[i]!;
    const now = step + Math.floor(rnd() * 20); // skewed clocks
    const op = rnd();
    const node = pick(rnd, ids);
    const v = current(h).version;
    if (op < 0.35) h = stage(h, node, rnd() < 0.2 ? null : role(pick(rnd, zones), rnd() < 0.15 ? null : 1 + Math.floor(rnd() * 500)), now);
    else if (op < 0.4) h = stageReplicationFactor(h, 1 + Math.floor(rnd() * 3), now);
    else if (op < 0.43) h = revert(h);
    else if (op < 0.6) {
      try {
        h = apply(h, v + 1, now);
      } catch {
        // nothing staged or no storage node: fine
      }
    } else if (op < 0.72) h = markSynced(h, node, Math.max(0, v - Math.floor(rnd() * 2)));
    else if (op < 0.82) h = markAcked(h, node, v);
    else if (op < 0.88) h = trim(h);
    else h = mergeHistory(h, replicas[Math.floor(rnd() * replicas.length)]!);
    replicas[i] = h;
    if (step % 10 === 9) out.push(h);
  }
  return out;
}

test('merge is commutative, associative and idempotent on random histories', () => {
  for (let seed = 1; seed <= 15; seed++) {
    const hs = randomHistories(seed, 12);
    const rnd = prng(seed * 31);
    for (let k = 0; k < 20; k++) {
      const [a, b, c] = [pick(rnd, hs), pick(rnd, hs), pick(rnd, hs)];
      const ab = mergeHistory(a, b);
      assert.deepEqual(ab, mergeHistory(b, a), `seed ${seed}: commutative`);
      assert.deepEqual(mergeHistory(ab, c), mergeHistory(a, mergeHistory(b, c)), `seed ${seed}: associative`);
      assert.deepEqual(mergeHistory(a, a), a, `seed ${seed}: idempotent`);
      assert.deepEqual(mergeHistory(ab, a), ab, `seed ${seed}: absorbs`);
      const nums = ab.versions.map((v) => v.version);
      nums.forEach((n, j) => j === 0 || assert.equal(n, nums[j - 1]! + 1, `seed ${seed}: contiguous ${nums}`));
    }
  }
});

test('random histories exercise real transitions (the merge test is not vacuous)', () => {
  const hs = randomHistories(3, 12);
  assert.ok(hs.some((h) => h.versions.length > 1));
  assert.ok(hs.some((h) => current(h).version >= 3));
  assert.ok(hs.some((h) => Object.keys(h.staging).length > 0));
});
