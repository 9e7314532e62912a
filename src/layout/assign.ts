// Partition assignment: which storage nodes hold each of the 256 partitions. A pure,
// deterministic function of (previous assignment, roles, replication factor), so every node
// that applies the same staged changes computes the same version.
//
// Two steps, after Garage's "optimal layout" but with the balance decided up front:
// 1. Targets. Each node's partition count is capacity-proportional water-filling under the
//    placement constraints: a node holds a partition at most once (≤ 256), and each partition
//    spreads over zr = min(#zones, rf) distinct zones; a zone then holds at most 1 + rf - zr
//    replicas of a partition (1 when #zones ≥ rf, so a zone never takes more than 256 in
//    total) and, when #zones < rf, at least one. The fractional optimum is floored, then the
//    missing units go one by one where they lower the partition size least (D'Hondt).
// 2. Placement. A flow network source → partition (zr "zone-spreading" units + rf - zr
//    extra) → (partition, zone) → node → sink (capacity = node target) encodes every
//    constraint. Keeping a previous replica costs 0 and a new one costs 1, so a min-cost max
//    flow is a valid assignment that moves the fewest replicas possible given the targets.
//    Previous replicas are pre-seeded greedily (or, for a first layout, a greedy balanced
//    fill), then successive shortest paths finish the job.
// Zone redundancy {atLeast: n} lowers zr to n: a zone may then hold up to 1 + rf - n replicas
// of a partition. When the water-filled targets cannot give every partition n distinct zones,
// the assignment falls back to the maximum spread, which also satisfies "at least n".
import { FlowGraph } from './flow.ts';
import { GrenierError } from '../util/errors.ts';
import { PARTITIONS } from './types.ts';
import type { AssignmentResult, NodeId, NodeRole, LayoutVersion, ZoneRedundancy } from './types.ts';

/** Storage nodes of a role map: a positive capacity. Sorted, so object key order never matters. */
export function storageNodesOf(roles: Record<NodeId, NodeRole>): NodeId[] {
  return Object.keys(roles)
    .filter((id) => isStorage(roles[id]!))
    .sort();
}

export function isStorage(role: NodeRole): boolean {
  return role.capacity !== null && Number.isFinite(role.capacity) && role.capacity > 0;
}

export function computeAssignment(
  prev: LayoutVersion | undefined,
  roles: Record<NodeId, NodeRole>,
  rf: number,
  zoneRedundancy: ZoneRedundancy = 'maximum',
): AssignmentResult {
  if (!Number.isInteger(rf) || rf < 1) throw new Error(`replication factor must be a positive integer, got ${rf}`);
  const atLeast = zoneRedundancy === 'maximum' ? undefined : zoneRedundancy.atLeast;
  if (atLeast !== undefined && !(Number.isInteger(atLeast) && atLeast >= 1 && atLeast <= rf))
    throw new GrenierError('InvalidLayout', `zone redundancy must be from 1 to the replication factor (${rf}), got ${atLeast}`);
  const warnings: string[] = [];
  for (const id of Object.keys(roles).sort()) {
    const c = roles[id]!.capacity;
    if (c !== null && !isStorage(roles[id]!)) warnings.push(`node ${short(id)} has capacity ${c}: it stores nothing`);
  }
  const nodes = storageNodesOf(roles);
  const empty = (): NodeId[][] => Array.from({ length: PARTITIONS }, () => []);
  if (nodes.length === 0) {
    warnings.push('no storage node: give at least one node a capacity');
    return { assignment: empty(), partitionSize: 0, warnings };
  }
  const S = nodes.length;
  const cap = nodes.map((id) => roles[id]!.capacity!);
  const zones = [...new Set(nodes.map((id) => roles[id]!.zone))].sort();
  const Z = zones.length;
  const zoneOf = nodes.map((id) => zones.indexOf(roles[id]!.zone));
  const rfp = Math.min(rf, S);
  if (atLeast !== undefined && atLeast > Z)
    throw new GrenierError(
      'InvalidLayout',
      `zone redundancy is at least ${atLeast} zones but the storage nodes are in ${Z} zone(s) (${zones.join(', ')}): add storage nodes in ${atLeast - Z} more zone(s), or lower it (grenier layout config -r ${Z})`,
    );
  const zrMax = Math.min(Z, rfp);
  let zr = Math.min(atLeast ?? zrMax, zrMax);
  if (rf > S) warnings.push(`replication factor ${rf} but only ${S} storage node(s): each partition gets ${rfp} replica(s)`);
  if (Z < rf && S > 1) {
    warnings.push(
      `only ${Z} zone(s) for replication factor ${rf}: some partitions keep several replicas in one zone, so losing that zone can make them unavailable`,
    );
  }

  let targets = computeTargets(cap, zoneOf, Z, rfp, zr);
  let placed = zr < zrMax && !spreadFeasible(targets.node, zoneOf, Z, zr) ? undefined : place(prev, nodes, zoneOf, Z, rfp, zr, targets.node);
  if (zr < zrMax && (!placed || placed.flow < PARTITIONS * rfp)) {
    warnings.push(`zone redundancy ${zr}: no better-balanced placement found, so partitions span ${zrMax} zones (which meets it too)`);
    zr = zrMax;
    targets = computeTargets(cap, zoneOf, Z, rfp, zr);
    placed = undefined;
  }
  placed ??= place(prev, nodes, zoneOf, Z, rfp, zr, targets.node);
  if (placed.flow < PARTITIONS * rfp) {
    // Should not happen (the targets are feasible by construction); stay available rather than fail.
    warnings.push('could not meet the capacity-proportional targets exactly; placement is less balanced');
    placed = place(prev, nodes, zoneOf, Z, rfp, zr, nodes.map(() => PARTITIONS));
    if (placed.flow < PARTITIONS * rfp) warnings.push('some partitions have fewer replicas than the replication factor');
  }

  const count = new Array<number>(S).fill(0);
  for (const list of placed.assignment) for (const id of list) count[nodes.indexOf(id)]!++;
  let partitionSize = Infinity;
  for (let i = 0; i < S; i++) if (count[i]! > 0) partitionSize = Math.min(partitionSize, Math.floor(cap[i]! / count[i]!));
  if (partitionSize === Infinity) partitionSize = 0;

  for (let i = 0; i < S; i++) {
    if (count[i] === 0) warnings.push(`node ${short(nodes[i]!)} (zone ${zones[zoneOf[i]!]}) gets no partition: its capacity is too small next to the others`);
  }
  for (let z = 0; z < Z; z++) {
    let zoneCap = 0;
    let zoneCount = 0;
    for (let i = 0; i < S; i++) {
      if (zoneOf[i] !== z) continue;
      zoneCap += cap[i]!;
      zoneCount += count[i]!;
    }
    const unused = 1 - (zoneCount * partitionSize) / zoneCap;
    if (targets.zoneCapped[z] && unused > 0.05) {
      warnings.push(
        `zone ${zones[z]}: ${Math.round(unused * 100)}% of its capacity stays unused (a node holds a partition at most once, and this zone at most ${targets.zoneMax[z]! / PARTITIONS} replica(s) of each)`,
      );
    }
  }
  return { assignment: placed.assignment, partitionSize, warnings };
}

/** Necessary for every partition to span zr zones: a zone contributes to at most one of the
 *  zr distinct zones of each partition, so the zones' counts, each capped at one per partition,
 *  must add up to zr per partition. */
function spreadFeasible(node: number[], zoneOf: number[], Z: number, zr: number): boolean {
  const perZone = new Array<number>(Z).fill(0);
  node.forEach((n, i) => (perZone[zoneOf[i]!]! += n));
  return perZone.reduce((s, n) => s + Math.min(n, PARTITIONS), 0) >= zr * PARTITIONS;
}

function short(id: NodeId): string {
  return id.length > 16 ? id.slice(0, 16) : id;
}

interface Targets {
  node: number[];
  zoneMax: number[];
  /** The zone's share was limited by the placement rules, not by its capacity. */
  zoneCapped: boolean[];
}

/** Integer partition counts per node: capacity-proportional within the placement limits. */
export function computeTargets(cap: number[], zoneOf: number[], Z: number, rfp: number, zr: number): Targets {
  const total = PARTITIONS * rfp;
  const members: number[][] = Array.from({ length: Z }, () => []);
  zoneOf.forEach((z, i) => members[z]!.push(i));
  const lo = members.map(() => (zr === Z ? PARTITIONS : 0));
  const hi = members.map((m) => PARTITIONS * Math.min(m.length, 1 + rfp - zr));
  const nodeFill = (z: number, x: number): number => {
    let s = 0;
    for (const i of members[z]!) s += Math.min(PARTITIONS, x * cap[i]!);
    return s;
  };
  const zoneFill = (z: number, x: number): number => Math.min(hi[z]!, Math.max(lo[z]!, nodeFill(z, x)));
  const top = PARTITIONS / Math.min(...cap);
  const lambda = bisect(top, (x) => {
    let s = 0;
    for (let z = 0; z < Z; z++) s += zoneFill(z, x);
    return s;
  }, total);

  const node = cap.map(() => 0);
  const zoneCapped: boolean[] = [];
  for (let z = 0; z < Z; z++) {
    const m = members[z]!;
    const raw = nodeFill(z, lambda);
    const share = zoneFill(z, lambda);
    zoneCapped.push(m.reduce((a, i) => a + lambda * cap[i]!, 0) > share + 1e-9);
    // A clamped zone scales its own nodes to its share; otherwise they are already there.
    const x = Math.abs(raw - share) < 1e-9 ? lambda : bisect(PARTITIONS / Math.min(...m.map((i) => cap[i]!)), (y) => nodeFill(z, y), share);
    for (const i of m) node[i] = Math.min(PARTITIONS, Math.floor(Math.min(PARTITIONS, x * cap[i]!) + 1e-9));
  }
  roundUp(node, cap, zoneOf, members, lo, hi, total);
  return { node, zoneMax: hi, zoneCapped };
}

/** Completes floored shares to integers that meet the zone bounds and the total. Each extra
 *  unit goes to the node whose capacity per partition drops least (D'Hondt), which keeps the
 *  minimum capacity/partitions, i.e. the partition size, as large as possible. */
function roundUp(node: number[], cap: number[], zoneOf: number[], members: number[][], lo: number[], hi: number[], total: number): void {
  const zoneSum = members.map((m) => m.reduce((s, i) => s + node[i]!, 0));
  const best = (ok: (i: number) => boolean): number => {
    let b = -1;
    for (let i = 0; i < node.length; i++) {
      if (!ok(i)) continue;
      if (b === -1 || cap[i]! * (node[b]! + 1) > cap[b]! * (node[i]! + 1)) b = i;
    }
    if (b === -1) throw new Error('layout: no node can take another partition');
    return b;
  };
  const add = (i: number): void => {
    node[i]!++;
    zoneSum[zoneOf[i]!]!++;
  };
  for (let z = 0; z < members.length; z++) {
    while (zoneSum[z]! < lo[z]!) add(best((i) => zoneOf[i] === z && node[i]! < PARTITIONS));
  }
  let sum = zoneSum.reduce((a, b) => a + b, 0);
  for (; sum < total; sum++) add(best((i) => node[i]! < PARTITIONS && zoneSum[zoneOf[i]!]! < hi[zoneOf[i]!]!));
  for (; sum > total; sum--) {
    // Only reachable through rounding noise: take back from the node that gains the most.
    let w = -1;
    for (let i = 0; i < node.length; i++) {
      if (node[i] === 0 || zoneSum[zoneOf[i]!]! <= lo[zoneOf[i]!]!) continue;
      if (w === -1 || cap[i]! * node[w]! < cap[w]! * node[i]!) w = i;
    }
    node[w]!--;
    zoneSum[zoneOf[w]!]!--;
  }
}

/** Smallest x in [0, top] with f(x) ≥ target, for a continuous nondecreasing f. */
function bisect(top: number, f: (x: number) => number, target: number): number {
  let a = 0;
  let b = top;
  for (let k = 0; k < 200 && a < b; k++) {
    const mid = (a + b) / 2;
    if (mid === a || mid === b) break;
    if (f(mid) >= target) b = mid;
    else a = mid;
  }
  return b;
}

function place(
  prev: LayoutVersion | undefined,
  nodes: NodeId[],
  zoneOf: number[],
  Z: number,
  rfp: number,
  zr: number,
  target: number[],
): { assignment: NodeId[][]; flow: number } {
  const S = nodes.length;
  const P = PARTITIONS;
  const index = new Map(nodes.map((id, i) => [id, i]));
  const extra = rfp - zr;
  const SRC = 0;
  const SINK = 1;
  const up = (p: number): number => 2 + p;
  const down = (p: number): number => 2 + P + p;
  const pz = (p: number, z: number): number => 2 + 2 * P + p * Z + z;
  const nodeV = (i: number): number => 2 + 2 * P + P * Z + i;
  const g = new FlowGraph(2 + 2 * P + P * Z + S);

  const had = new Uint8Array(P * S);
  let anyPrev = false;
  for (let p = 0; p < P; p++) {
    for (const id of prev?.assignment[p] ?? []) {
      const i = index.get(id);
      if (i !== undefined) {
        had[p * S + i] = 1;
        anyPrev = true;
      }
    }
  }

  const eSrcUp: number[] = [];
  const eSrcDown: number[] = [];
  const eUpZ: number[] = [];
  const eDownZ: number[] = [];
  const eZN = new Int32Array(P * S);
  const eNSink: number[] = [];
  for (let i = 0; i < S; i++) eNSink.push(g.addEdge(nodeV(i), SINK, target[i]!, 0));
  for (let p = 0; p < P; p++) {
    eSrcUp.push(g.addEdge(SRC, up(p), zr, 0));
    eSrcDown.push(extra > 0 ? g.addEdge(SRC, down(p), extra, 0) : -1);
    for (let z = 0; z < Z; z++) {
      eUpZ.push(g.addEdge(up(p), pz(p, z), 1, 0));
      eDownZ.push(extra > 0 ? g.addEdge(down(p), pz(p, z), extra, 0) : -1);
    }
    for (let i = 0; i < S; i++) eZN[p * S + i] = g.addEdge(pz(p, zoneOf[i]!), nodeV(i), 1, had[p * S + i] ? 0 : 1);
  }

  // Route one replica of p onto node i through the zone-spreading unit if its zone is new
  // for p, else through an extra unit. Returns false when a constraint forbids it.
  const tryPush = (p: number, i: number): boolean => {
    const z = zoneOf[i]!;
    const zn = eZN[p * S + i]!;
    if (g.residual(zn) < 1 || g.residual(eNSink[i]!) < 1) return false;
    if (g.residual(eSrcUp[p]!) > 0 && g.residual(eUpZ[p * Z + z]!) > 0) {
      g.pushPath([eSrcUp[p]!, eUpZ[p * Z + z]!, zn, eNSink[i]!]);
      return true;
    }
    if (extra > 0 && g.residual(eSrcDown[p]!) > 0 && g.residual(eDownZ[p * Z + z]!) > 0) {
      g.pushPath([eSrcDown[p]!, eDownZ[p * Z + z]!, zn, eNSink[i]!]);
      return true;
    }
    return false;
  };

  let seeded = 0;
  if (anyPrev) {
    // Zero-cost units only: the flow stays min-cost for its value, as successive shortest paths require.
    for (let p = 0; p < P; p++) {
      for (const id of prev!.assignment[p]!) {
        const i = index.get(id);
        if (i !== undefined && tryPush(p, i)) seeded++;
      }
    }
  } else {
    // Every path costs 1, so any flow is min-cost: fill greedily, least-loaded node first.
    const load = new Array<number>(S).fill(0);
    for (let p = 0; p < P; p++) {
      const zoneUsed = new Uint8Array(Z);
      for (let k = 0; k < rfp; k++) {
        let best = -1;
        for (let i = 0; i < S; i++) {
          if (load[i]! >= target[i]!) continue;
          if (k < zr && zoneUsed[zoneOf[i]!]) continue;
          if (g.residual(eZN[p * S + i]!) < 1) continue;
          if (best === -1 || (load[i]! + 1) * target[best]! < (load[best]! + 1) * target[i]!) best = i;
        }
        if (best === -1 || !tryPush(p, best)) break;
        load[best]!++;
        zoneUsed[zoneOf[best]!] = 1;
        seeded++;
      }
    }
  }
  const { flow } = g.minCostFlow(SRC, SINK, P * rfp - seeded);

  const assignment: NodeId[][] = [];
  for (let p = 0; p < P; p++) {
    const holds = (i: number): boolean => g.flowOn(eZN[p * S + i]!) > 0;
    const kept = (prev?.assignment[p] ?? []).filter((id) => {
      const i = index.get(id);
      return i !== undefined && holds(i);
    });
    const added = nodes.filter((id, i) => holds(i) && !kept.includes(id));
    assignment.push([...kept, ...added]);
  }
  return { assignment, flow: seeded + flow };
}
