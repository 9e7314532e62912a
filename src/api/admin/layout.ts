// Cluster layout operations (Garage admin v2 names): show, stage role changes, preview what would
// move, apply a version, revert staged changes, and the version history with its trackers.
import type { Handler, AdminDeps } from './context.ts';
import type { ClusterHandle } from './cluster-handle.ts';
import { AdminError, badRequest } from './http.ts';
import { clusterOf, gatherInfo, partitionCounts, resolveNode } from './cluster.ts';
import { ackMin, current, readVersion, stagedZoneRedundancy, zoneRedundancyOf } from '../../layout/history.ts';
import { storageNodesOf } from '../../layout/assign.ts';
import { PARTITIONS } from '../../layout/types.ts';
import type { LayoutHistory, LayoutVersion, NodeRole, Preview } from '../../layout/types.ts';
import { GrenierError } from '../../util/errors.ts';
import { formatSize } from '../../util/size.ts';
import { rfChangeProblem, stagedRf, stagedZr, stageParameters } from './layout-params.ts';


function short(id: string): string {
  return id.slice(0, 16);
}

function rolesOf(v: LayoutVersion): unknown[] {
  const counts = partitionCounts(v.assignment);
  return Object.keys(v.roles)
    .sort()
    .map((id) => {
      const r = v.roles[id]!;
      const storedPartitions = r.capacity === null ? null : (counts.get(id) ?? 0);
      return {
        id,
        zone: r.zone,
        capacity: r.capacity,
        tags: r.tags,
        storedPartitions,
        usableCapacity: storedPartitions === null ? null : storedPartitions * v.partitionSize,
      };
    });
}

function since(h: LayoutHistory): number {
  return h.stagingSince ?? 0;
}

function stagedChanges(h: LayoutHistory): unknown[] {
  return Object.keys(h.staging)
    .sort()
    .filter((id) => h.staging[id]!.t >= since(h))
    .map((id) => {
      const v = h.staging[id]!.v;
      return v === null ? { id, remove: true } : { id, zone: v.zone, capacity: v.capacity, tags: v.tags };
    });
}

/** GetClusterLayout's shape for a version (the current one, or a preview's next one). */
export function layoutBody(v: LayoutVersion, h?: LayoutHistory): Record<string, unknown> {
  const staged = h && (stagedRf(h) !== undefined || stagedZr(h) !== undefined);
  return {
    version: v.version,
    roles: rolesOf(v),
    // Garage's shape: "maximum" or {"atLeast": n}.
    parameters: { zoneRedundancy: zoneRedundancyOf(v), replicationFactor: v.replicationFactor },
    partitionSize: v.partitionSize,
    stagedRoleChanges: h ? stagedChanges(h) : [],
    stagedParameters: staged ? { zoneRedundancy: stagedZoneRedundancy(h), replicationFactor: stagedRf(h) ?? v.replicationFactor } : null,
  };
}

function fromGrenier(e: unknown): never {
  if (e instanceof GrenierError) throw new AdminError(400, e.code, e.message);
  throw e;
}

const getClusterLayout: Handler = async ({ deps }) => {
  const h = clusterOf(deps).layout.history();
  return layoutBody(current(h), h);
};

interface Change {
  id: string;
  role: NodeRole | null;
}

function parseChange(c: ClusterHandle, x: unknown, i: number): Change {
  const at = `roles[${i}]`;
  if (typeof x !== 'object' || x === null || Array.isArray(x)) throw badRequest(`${at} must be an object`);
  const o = x as Record<string, unknown>;
  if (typeof o.id !== 'string' || o.id === '') throw badRequest(`${at}.id must be a node id (or a unique prefix of one)`);
  const id = resolveNode(c, o.id);
  if (o.remove === true) return { id, role: null };
  if (o.remove !== undefined && o.remove !== false) throw badRequest(`${at}.remove must be true or absent`);
  if (typeof o.zone !== 'string' || o.zone.trim() === '') throw badRequest(`${at}.zone must be a non-empty string`);
  const cap = o.capacity ?? null;
  if (cap !== null && !(typeof cap === 'number' && Number.isSafeInteger(cap) && cap > 0))
    throw badRequest(`${at}.capacity must be a positive integer number of bytes, or null for a gateway`);
  const tags = o.tags ?? [];
  if (!Array.isArray(tags) || tags.some((t) => typeof t !== 'string')) throw badRequest(`${at}.tags must be an array of strings`);
  return { id, role: { zone: o.zone.trim(), capacity: cap as number | null, tags: tags as string[] } };
}

const updateClusterLayout: Handler = async ({ deps, body }) => {
  const c = clusterOf(deps);
  // Garage v2 takes {roles: [...], parameters}; v1 took the bare array.
  const hasParams = body.parameters !== undefined && body.parameters !== null;
  const list = Array.isArray(body.items) ? body.items : (body.roles ?? (hasParams ? [] : undefined));
  if (!Array.isArray(list)) throw badRequest('the body must be {"roles": [{id, zone, capacity, tags} | {id, remove: true}, ...], "parameters": {...}}');
  // Validate everything first, so a bad entry stages nothing.
  const changes = list.map((x, i) => parseChange(c, x, i));
  const now = Date.now();
  try {
    for (const ch of changes) c.layout.stageRole(ch.id, ch.role, now);
    // After the roles: a zone redundancy is checked against the zones they give.
    stageParameters(c, body.parameters, now);
  } catch (e) {
    fromGrenier(e);
  }
  const h = c.layout.history();
  return layoutBody(current(h), h);
};

/** Bytes one partition replica holds on average, from the block counts the up nodes report;
 *  undefined when it cannot be told (a storage node is down, or nothing is placed yet). */
async function dataEstimate(deps: AdminDeps, c: ClusterHandle): Promise<{ perReplica?: number; note: string }> {
  const h = c.layout.history();
  const cur = current(h);
  const infos = await gatherInfo(c);
  const storage = storageNodesOf(cur.roles);
  const holders = storage.length ? storage : [...infos.keys()];
  const missing = holders.filter((id) => !infos.has(id));
  const blocks = holders.reduce((n, id) => n + (infos.get(id)?.blocks ?? 0), 0);
  const stored = blocks * deps.config.block_size;
  if (missing.length) return { note: `unknown (no answer from ${missing.map(short).join(', ')})` };
  if (blocks === 0) return { perReplica: 0, note: 'nothing stored yet' };
  const replicas = cur.assignment.reduce((n, l) => n + l.length, 0);
  if (!replicas) return { note: `all data stored so far (${blocks} blocks, up to ≈ ${formatSize(stored)}) will be spread over the new layout` };
  return { perReplica: stored / replicas, note: `${blocks} blocks stored, up to ≈ ${formatSize(stored)} in all` };
}

function previewMessages(h: LayoutHistory, p: Preview, est: { perReplica?: number; note: string }): string[] {
  const cur = current(h);
  const before = partitionCounts(cur.assignment);
  const msg: string[] = [];
  msg.push(`layout version ${cur.version} → ${p.next.version} (replication factor ${p.next.replicationFactor}, ${PARTITIONS} partitions)`);
  const ids = [...new Set([...Object.keys(cur.roles), ...Object.keys(p.next.roles)])].sort();
  for (const id of ids) {
    const r = p.next.roles[id];
    const was = before.get(id) ?? 0;
    const now = p.perNode.find((u) => u.node === id)?.partitions ?? 0;
    const delta = now - was;
    const what = !r ? 'removed' : r.capacity === null ? `zone ${r.zone}, gateway` : `zone ${r.zone}, capacity ${formatSize(r.capacity)}`;
    const usable = r && r.capacity !== null ? `, usable ${formatSize(now * p.next.partitionSize)}` : '';
    msg.push(`node ${short(id)} (${what}): ${was} → ${now} partitions (${delta >= 0 ? '+' : ''}${delta})${usable}`);
  }
  if (p.next.replicationFactor !== cur.replicationFactor)
    msg.push(
      `replication factor ${cur.replicationFactor} → ${p.next.replicationFactor}: apply needs every node to run with replication_factor = ${p.next.replicationFactor} in its config first`,
    );
  msg.push(`partition replicas moved: ${p.moved} of ${p.next.assignment.reduce((n, l) => n + l.length, 0)}`);
  const movedBytes = est.perReplica !== undefined ? p.moved * est.perReplica : undefined;
  msg.push(`data to move: ${movedBytes !== undefined ? `≈ ${formatSize(Math.round(movedBytes))} (${est.note})` : est.note}`);
  msg.push(`usable capacity: ${formatSize(p.usableCapacity)} (currently ${formatSize(cur.partitionSize * PARTITIONS)})`);
  for (const w of p.warnings) msg.push(`warning: ${w}`);
  return msg;
}

const previewClusterLayoutChanges: Handler = async ({ deps }) => {
  const c = clusterOf(deps);
  const h = c.layout.history();
  const est = await dataEstimate(deps, c);
  let p: Preview;
  try {
    p = c.layout.preview(est.perReplica);
  } catch (e) {
    // Garage answers an impossible layout with {error} rather than an HTTP error.
    if (e instanceof GrenierError) return { error: e.message };
    throw e;
  }
  return { message: previewMessages(h, p, est), newLayout: layoutBody(p.next) };
};

const applyClusterLayout: Handler = async ({ deps, body }) => {
  const c = clusterOf(deps);
  const v = body.version;
  const cur = current(c.layout.history()).version;
  if (typeof v !== 'number' || !Number.isSafeInteger(v))
    throw badRequest(`field "version" must be the new layout version (the current one is ${cur}: give ${cur + 1})`);
  if (v !== cur + 1)
    throw new AdminError(400, 'LayoutVersionMismatch', `layout version mismatch: expected --version ${cur + 1} (got ${v}; the current layout version is ${cur})`);
  const h0 = c.layout.history();
  const rf = stagedRf(h0);
  const was = current(h0).replicationFactor;
  if (rf !== undefined && rf !== was) {
    const problem = await rfChangeProblem(deps, c, was, rf);
    if (problem) throw new AdminError(409, 'UnsafeReplicationFactor', problem);
  }
  try {
    c.layout.apply(v, Date.now());
  } catch (e) {
    fromGrenier(e);
  }
  const h = c.layout.history();
  return { message: [`applied layout version ${current(h).version}`], layout: layoutBody(current(h), h) };
};

const revertClusterLayout: Handler = async ({ deps }) => {
  const c = clusterOf(deps);
  c.layout.revert();
  const h = c.layout.history();
  return layoutBody(current(h), h);
};

const getClusterLayoutHistory: Handler = async ({ deps }) => {
  const h = clusterOf(deps).layout.history();
  const cur = current(h);
  // Versions from here up are still written to (or read from) during a transition.
  const inUse = Math.min(ackMin(h), readVersion(h));
  const ids = [...new Set([...Object.keys(h.ackMap), ...Object.keys(h.syncMap)])].sort();
  return {
    currentVersion: cur.version,
    minAck: ackMin(h),
    readVersion: readVersion(h),
    versions: [...h.versions].reverse().map((v) => ({
      version: v.version,
      status: v.version === cur.version ? 'Current' : v.version >= inUse ? 'Draining' : 'Historical',
      storageNodes: storageNodesOf(v.roles).length,
      gatewayNodes: Object.values(v.roles).filter((r) => r.capacity === null).length,
    })),
    updateTrackers: Object.fromEntries(ids.map((id) => [id, { ack: h.ackMap[id] ?? null, sync: h.syncMap[id] ?? null }])),
    ackMap: h.ackMap,
    syncMap: h.syncMap,
  };
};

export const LAYOUT_OPS: Record<string, Handler> = {
  GetClusterLayout: getClusterLayout,
  UpdateClusterLayout: updateClusterLayout,
  PreviewClusterLayoutChanges: previewClusterLayoutChanges,
  ApplyClusterLayout: applyClusterLayout,
  RevertClusterLayout: revertClusterLayout,
  GetClusterLayoutHistory: getClusterLayoutHistory,
};
