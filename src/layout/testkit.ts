// Helpers shared by the layout tests: a seeded PRNG, random clusters and assignment statistics.
import { PARTITIONS } from './types.ts';
import { prng } from '../util/random.ts';
import type { LayoutVersion, NodeId, NodeRole } from './types.ts';

export { prng };

export function pick<T>(rnd: () => number, xs: readonly T[]): T {
  return xs[Math.floor(rnd() * xs.length)]!;
}

export const GB = 1_000_000_000;

export function role(zone: string, capacityGb: number | null): NodeRole {
  return { zone, capacity: capacityGb === null ? null : capacityGb * GB, tags: [] };
}

/** Roles from [id, zone, capacity in GB or null] triples. */
export function roles(...spec: [NodeId, string, number | null][]): Record<NodeId, NodeRole> {
  const out: Record<NodeId, NodeRole> = {};
  for (const [id, zone, cap] of spec) out[id] = role(zone, cap);
  return out;
}

/** A random cluster: 1–8 zones, 1–12 nodes, capacities 1–1000 GB, some gateways. */
export function randomRoles(rnd: () => number): Record<NodeId, NodeRole> {
  const zones = 1 + Math.floor(rnd() * 8);
  const n = 1 + Math.floor(rnd() * 12);
  const out: Record<NodeId, NodeRole> = {};
  for (let i = 0; i < n; i++) {
    const id = Math.floor(rnd() * 0xffffff).toString(16).padStart(6, '0') + i.toString(16);
    const gateway = rnd() < 0.15;
    out[id] = role(`z${Math.floor(rnd() * zones)}`, gateway ? null : 1 + Math.floor(rnd() ** 2 * 1000));
  }
  return out;
}

export function counts(assignment: NodeId[][]): Map<NodeId, number> {
  const c = new Map<NodeId, number>();
  for (const list of assignment) for (const id of list) c.set(id, (c.get(id) ?? 0) + 1);
  return c;
}

/** Partition replicas that are on a node that did not hold them before. */
export function movedBetween(before: NodeId[][], after: NodeId[][]): number {
  let moved = 0;
  for (let p = 0; p < PARTITIONS; p++) {
    const had = new Set(before[p] ?? []);
    for (const id of after[p]!) if (!had.has(id)) moved++;
  }
  return moved;
}

export function version(n: number, rf: number, r: Record<NodeId, NodeRole>, assignment: NodeId[][], partitionSize: number): LayoutVersion {
  return { version: n, replicationFactor: rf, roles: r, assignment, partitionSize };
}

/** Same object with its keys in another order: results must not depend on it. */
export function shuffledKeys<T>(rnd: () => number, o: Record<string, T>): Record<string, T> {
  const keys = Object.keys(o);
  for (let i = keys.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [keys[i], keys[j]] = [keys[j]!, keys[i]!];
  }
  const out: Record<string, T> = {};
  for (const k of keys) out[k] = o[k]!;
  return out;
}
