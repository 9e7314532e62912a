// Layout history: the versions still in use, staged role changes and the sync/ack trackers
// that decide which versions reads and writes use during a transition (after Garage's
// LayoutHistory). Every function returns a new object; mergeHistory is a CRDT join.
//
// Transition rules. Writes go to every version from min(ackMin, readVersion) to the latest,
// so both the old and the new node sets receive them. Reads use readVersion: the newest
// version every storage node of every active version has synced (markSynced), so a read never
// misses data acknowledged under an older version. trim() drops versions older than what
// every storage node of the latest version has synced. The caller marks a node synced for
// version v only after a full sync that started once every node had acked v.
import { GrenierError } from '../util/errors.ts';
import { computeAssignment, storageNodesOf } from './assign.ts';
import { PARTITIONS } from './types.ts';
import type { LayoutHistory, LayoutVersion, NodeId, NodeRole, NodeUsage, Preview, StagedRole, ZoneRedundancy } from './types.ts';

export function emptyVersion(rf: number): LayoutVersion {
  return {
    version: 0,
    replicationFactor: rf,
    roles: {},
    assignment: Array.from({ length: PARTITIONS }, () => []),
    partitionSize: 0,
  };
}

export function emptyHistory(rf: number): LayoutHistory {
  checkRf(rf);
  return { versions: [emptyVersion(rf)], staging: {}, stagingSince: 0, syncMap: {}, ackMap: {} };
}

export function current(h: LayoutHistory): LayoutVersion {
  const v = h.versions[h.versions.length - 1];
  if (!v) throw new Error('layout history has no version');
  return v;
}

/** Partition of a hash (block hash or SHA-256 of a partition key): its first byte. */
export function partitionOf(hash: Uint8Array): number {
  if (hash.length === 0) throw new Error('partitionOf: empty hash');
  return hash[0]!;
}

export function nodesOf(v: LayoutVersion, partition: number): NodeId[] {
  return v.assignment[partition] ?? [];
}

/** Every node with a role (gateways included) in any active version, sorted. */
export function allNodes(h: LayoutHistory): NodeId[] {
  const set = new Set<NodeId>();
  for (const v of h.versions) for (const id of Object.keys(v.roles)) set.add(id);
  return [...set].sort();
}

/** Nodes that store data in any active version, sorted. */
export function allStorageNodes(h: LayoutHistory): NodeId[] {
  const set = new Set<NodeId>();
  for (const v of h.versions) for (const id of storageNodesOf(v.roles)) set.add(id);
  return [...set].sort();
}

// ---------------------------------------------------------------- staging

export function validateRole(role: NodeRole): void {
  if (typeof role.zone !== 'string' || role.zone.trim() === '') throw new GrenierError('InvalidRole', 'a node role needs a non-empty zone');
  if (role.capacity !== null && !(Number.isSafeInteger(role.capacity) && role.capacity > 0)) {
    throw new GrenierError('InvalidRole', `capacity must be a positive number of bytes, or none for a gateway (got ${role.capacity})`);
  }
  if (!Array.isArray(role.tags) || role.tags.some((t) => typeof t !== 'string')) throw new GrenierError('InvalidRole', 'tags must be strings');
}

function checkRf(rf: number): void {
  if (!Number.isInteger(rf) || rf < 1) throw new GrenierError('InvalidLayout', `replication factor must be a positive integer (got ${rf})`);
}

function since(h: LayoutHistory): number {
  return h.stagingSince ?? 0;
}

/** Highest staging timestamp in use, so a new local entry always wins over what this node saw. */
function stagingClock(h: LayoutHistory): number {
  let t = since(h);
  for (const s of Object.values(h.staging)) t = Math.max(t, s.t + 1);
  if (h.stagingRf) t = Math.max(t, h.stagingRf.t + 1);
  if (h.stagingZr) t = Math.max(t, h.stagingZr.t + 1);
  return t;
}

/** Stages a role for a node (null = remove its role). */
export function stage(h: LayoutHistory, node: NodeId, role: NodeRole | null, now: number): LayoutHistory {
  if (typeof node !== 'string' || node === '') throw new GrenierError('InvalidRole', 'node id must be a non-empty string');
  if (role !== null) validateRole(role);
  const t = Math.max(now, stagingClock(h));
  const v = role === null ? null : { zone: role.zone, capacity: role.capacity, tags: [...role.tags] };
  return { ...h, staging: sortKeys({ ...h.staging, [node]: { t, v } }) };
}

export function stageReplicationFactor(h: LayoutHistory, rf: number, now: number): LayoutHistory {
  checkRf(rf);
  return { ...h, stagingRf: { t: Math.max(now, stagingClock(h)), v: rf } };
}

export function checkZoneRedundancy(zr: unknown): ZoneRedundancy {
  if (zr === 'maximum') return zr;
  const at = typeof zr === 'object' && zr !== null && !Array.isArray(zr) && Object.keys(zr).length === 1 ? (zr as Record<string, unknown>).atLeast : undefined;
  if (!(typeof at === 'number' && Number.isInteger(at) && at >= 1))
    throw new GrenierError('InvalidLayout', 'zone redundancy must be "maximum" or {"atLeast": <positive integer>}');
  return { atLeast: at };
}

/** Stages a zone redundancy; whether enough zones exist is checked when it is applied, since
 *  the roles that bring the zones may be staged after it. */
export function stageZoneRedundancy(h: LayoutHistory, zr: ZoneRedundancy, now: number): LayoutHistory {
  const v = checkZoneRedundancy(zr);
  return { ...h, stagingZr: { t: Math.max(now, stagingClock(h)), v } };
}

/** A version's zone redundancy in Garage's shape. */
export function zoneRedundancyOf(v: LayoutVersion): ZoneRedundancy {
  return v.zoneRedundancy ? { atLeast: v.zoneRedundancy.atLeast } : 'maximum';
}

/** Drops every staged change this node knows of (newer ones staged elsewhere survive, LWW). */
export function revert(h: LayoutHistory): LayoutHistory {
  const { stagingRf: _, stagingZr: __, ...rest } = h;
  return { ...rest, staging: {}, stagingSince: stagingClock(h) };
}

/** Roles the next version would have: the current ones with staged changes on top. */
export function stagedRoles(h: LayoutHistory): Record<NodeId, NodeRole> {
  const roles: Record<NodeId, NodeRole> = { ...current(h).roles };
  for (const [id, s] of Object.entries(h.staging)) {
    if (s.t < since(h)) continue;
    if (s.v === null) delete roles[id];
    else roles[id] = s.v;
  }
  return sortKeys(roles);
}

function stagedRf(h: LayoutHistory): number {
  return h.stagingRf && h.stagingRf.t >= since(h) ? h.stagingRf.v : current(h).replicationFactor;
}

/** The zone redundancy the next version would have. */
export function stagedZoneRedundancy(h: LayoutHistory): ZoneRedundancy {
  return h.stagingZr && h.stagingZr.t >= since(h) ? h.stagingZr.v : zoneRedundancyOf(current(h));
}

// ---------------------------------------------------------------- preview / apply

/** What applying the staged changes would give. `bytesPerReplica` (how full a partition
 *  replica is on average, if the caller knows) turns `moved` into a byte estimate. */
export function preview(h: LayoutHistory, opts: { bytesPerReplica?: number } = {}): Preview {
  const cur = current(h);
  const roles = stagedRoles(h);
  const rf = stagedRf(h);
  const zr = stagedZoneRedundancy(h);
  const r = computeAssignment(cur, roles, rf, zr);
  const next: LayoutVersion = {
    version: cur.version + 1,
    replicationFactor: rf,
    roles,
    assignment: r.assignment,
    partitionSize: r.partitionSize,
  };
  // Only a non-default value is stored, so versions keep the encoding older nodes know.
  if (zr !== 'maximum') next.zoneRedundancy = { atLeast: zr.atLeast };
  let moved = 0;
  for (let p = 0; p < PARTITIONS; p++) {
    const before = new Set(nodesOf(cur, p));
    for (const id of nodesOf(next, p)) if (!before.has(id)) moved++;
  }
  const count = new Map<NodeId, number>();
  for (const list of next.assignment) for (const id of list) count.set(id, (count.get(id) ?? 0) + 1);
  const perNode: NodeUsage[] = Object.keys(roles)
    .sort()
    .map((node) => {
      const partitions = count.get(node) ?? 0;
      return { node, zone: roles[node]!.zone, partitions, capacity: roles[node]!.capacity, usage: partitions * next.partitionSize };
    });
  const warnings = [...r.warnings];
  if (!hasChanges(h)) warnings.push('no staged changes');
  const out: Preview = { next, moved, usableCapacity: next.partitionSize * PARTITIONS, perNode, warnings };
  if (opts.bytesPerReplica !== undefined) out.movedBytesEstimate = moved * opts.bytesPerReplica;
  return out;
}

function hasChanges(h: LayoutHistory): boolean {
  const cur = current(h);
  return (
    stagedRf(h) !== cur.replicationFactor ||
    canon(stagedZoneRedundancy(h)) !== canon(zoneRedundancyOf(cur)) ||
    canon(stagedRoles(h)) !== canon(sortKeys(cur.roles))
  );
}

/** Turns the staged changes into version `version`, which must be current + 1 (the operator
 *  states which version they previewed, so two concurrent applies cannot both silently win). */
export function apply(h: LayoutHistory, version: number, now: number): LayoutHistory {
  void now; // staged entries are consumed by their own timestamps, not by this clock
  const cur = current(h);
  if (version !== cur.version + 1) {
    throw new GrenierError(
      'LayoutVersionMismatch',
      `the current layout version is ${cur.version}: expected --version ${cur.version + 1} (got ${version})`,
    );
  }
  if (!hasChanges(h)) throw new GrenierError('NoLayoutChanges', 'no staged layout changes to apply');
  const p = preview(h);
  if (storageNodesOf(p.next.roles).length === 0) {
    throw new GrenierError('InvalidLayout', 'the new layout has no storage node: give at least one node a capacity');
  }
  let versions = [...h.versions, p.next];
  // Versions that stored nothing are useless for reads and writes once a real one exists.
  while (versions.length > 1 && storageNodesOf(versions[0]!.roles).length === 0) versions = versions.slice(1);
  const { stagingRf: _, stagingZr: __, ...rest } = h;
  return { ...rest, versions, staging: {}, stagingSince: stagingClock(h) };
}

// ---------------------------------------------------------------- trackers

export function markSynced(h: LayoutHistory, node: NodeId, version: number): LayoutHistory {
  // A node that synced a version has necessarily seen it.
  return { ...h, syncMap: raise(h.syncMap, node, version), ackMap: raise(h.ackMap, node, version) };
}

export function markAcked(h: LayoutHistory, node: NodeId, version: number): LayoutHistory {
  return { ...h, ackMap: raise(h.ackMap, node, version) };
}

function raise(map: Record<NodeId, number>, node: NodeId, version: number): Record<NodeId, number> {
  if ((map[node] ?? -Infinity) >= version) return map;
  return sortKeys({ ...map, [node]: version });
}

function minTracker(h: LayoutHistory, map: Record<NodeId, number>, nodes: NodeId[]): number {
  const oldest = h.versions[0]!.version;
  let m = current(h).version;
  for (const id of nodes) m = Math.min(m, map[id] ?? oldest);
  return Math.max(m, oldest);
}

/** Version reads use: the newest one every storage node of every active version has synced. */
export function readVersion(h: LayoutHistory): number {
  if (h.versions.length === 1) return current(h).version;
  return minTracker(h, h.syncMap, allStorageNodes(h));
}

/** Oldest version some node (gateways included) may still be writing with. */
export function ackMin(h: LayoutHistory): number {
  return minTracker(h, h.ackMap, allNodes(h));
}

/** Node sets a write must reach a quorum in, oldest version first; identical sets once. */
export function writeSets(h: LayoutHistory, partition: number): NodeId[][] {
  const from = Math.min(ackMin(h), readVersion(h));
  const sets: NodeId[][] = [];
  const seen = new Set<string>();
  for (const v of h.versions) {
    if (v.version < from) continue;
    const set = nodesOf(v, partition);
    const key = [...set].sort().join(',');
    if (set.length === 0 || seen.has(key)) continue;
    seen.add(key);
    sets.push([...set]);
  }
  return sets;
}

export function readNodes(h: LayoutHistory, partition: number): NodeId[] {
  const r = readVersion(h);
  const v = h.versions.find((x) => x.version === r) ?? current(h);
  return [...nodesOf(v, partition)];
}

/** Drops versions older than what every storage node of the latest version has synced. */
export function trim(h: LayoutHistory): LayoutHistory {
  const latest = current(h);
  const keepFrom = minTracker(h, h.syncMap, storageNodesOf(latest.roles));
  if (keepFrom <= h.versions[0]!.version) return h;
  return { ...h, versions: h.versions.filter((v) => v.version >= keepFrom) };
}

// ---------------------------------------------------------------- merge

/** CRDT join. Versions: union by number above the higher of the two oldest versions (so a
 *  trimmed version never comes back and trimming commutes with merging); two different
 *  versions with one number (concurrent applies) resolve to the greater canonical encoding.
 *  Staging: LWW per node, ties by canonical encoding, minus entries older than stagingSince
 *  (max). Trackers: pointwise max. */
export function mergeHistory(a: LayoutHistory, b: LayoutHistory): LayoutHistory {
  const floor = Math.max(a.versions[0]!.version, b.versions[0]!.version);
  const byNumber = new Map<number, { v: LayoutVersion; c: string }>();
  for (const v of [...a.versions, ...b.versions]) {
    if (v.version < floor) continue;
    const c = canon(v);
    const have = byNumber.get(v.version);
    if (!have || c > have.c) byNumber.set(v.version, { v, c });
  }
  const versions = [...byNumber.keys()].sort((x, y) => x - y).map((n) => byNumber.get(n)!.v);

  const stagingSince = Math.max(since(a), since(b));
  const staging: Record<NodeId, StagedRole> = {};
  for (const id of new Set([...Object.keys(a.staging), ...Object.keys(b.staging)])) {
    const w = lww(a.staging[id], b.staging[id]);
    if (w && w.t >= stagingSince) staging[id] = w;
  }
  const out: LayoutHistory = {
    versions,
    staging: sortKeys(staging),
    stagingSince,
    syncMap: maxMap(a.syncMap, b.syncMap),
    ackMap: maxMap(a.ackMap, b.ackMap),
  };
  const rf = lww(a.stagingRf, b.stagingRf);
  if (rf && rf.t >= stagingSince) out.stagingRf = rf;
  const zr = lww(a.stagingZr, b.stagingZr);
  if (zr && zr.t >= stagingSince) out.stagingZr = zr;
  return out;
}

function lww<T extends { t: number }>(x: T | undefined, y: T | undefined): T | undefined {
  if (!x) return y;
  if (!y) return x;
  if (x.t !== y.t) return x.t > y.t ? x : y;
  return canon(x) >= canon(y) ? x : y;
}

function maxMap(a: Record<NodeId, number>, b: Record<NodeId, number>): Record<NodeId, number> {
  const out: Record<NodeId, number> = { ...a };
  for (const [k, v] of Object.entries(b)) out[k] = Math.max(out[k] ?? -Infinity, v);
  return sortKeys(out);
}

function sortKeys<T>(o: Record<string, T>): Record<string, T> {
  const out: Record<string, T> = {};
  for (const k of Object.keys(o).sort()) out[k] = o[k]!;
  return out;
}

/** Key-order independent encoding, used only to order conflicting values deterministically. */
export function canon(x: unknown): string {
  return JSON.stringify(x, (_k, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v) ? sortKeys(v as Record<string, unknown>) : v,
  );
}

