// Layout parameters and the layout repair of Garage's v2 API: zone redundancy and a staged
// replication-factor change (applied only when every node's quorums agree with it, and only when
// reads and writes still meet during the change), and ClusterLayoutSkipDeadNodes.
import type { AdminDeps, Handler } from './context.ts';
import { nodeEndpoints, type ClusterHandle } from './cluster-handle.ts';
import { badRequest } from './http.ts';
import { clusterOf } from './cluster.ts';
import {
  allNodes,
  canon,
  current,
  markAcked,
  markSynced,
  stagedRoles,
  stagedZoneRedundancy,
  stageReplicationFactor,
  stageZoneRedundancy,
} from '../../layout/history.ts';
import type { LayoutHistory, ZoneRedundancy } from '../../layout/types.ts';
import { quorumsFor } from '../../table/replication.ts';
import { errorMessage } from '../../util/errors.ts';

/** The config's bounds on replication_factor (config.ts). */
export const REPLICATION_FACTOR_MAX = 7;
/** How long the apply check waits for each node's `node/info`. */
const INFO_TIMEOUT_MS = 3000;

/** The staged replication factor, if one is staged (and not consumed by an apply or a revert). */
export function stagedRf(h: LayoutHistory): number | undefined {
  return h.stagingRf && h.stagingRf.t >= (h.stagingSince ?? 0) ? h.stagingRf.v : undefined;
}

/** The staged zone redundancy if it differs from the current version's, for stagedParameters. */
export function stagedZr(h: LayoutHistory): ZoneRedundancy | undefined {
  return h.stagingZr && h.stagingZr.t >= (h.stagingSince ?? 0) ? h.stagingZr.v : undefined;
}

/** Checks `parameters` of UpdateClusterLayout and stages what it asks; throws 400 on a bad one.
 *  {atLeast: n} above the replication factor is refused here (as Garage); whether n zones
 *  exist is checked by preview and apply, since the roles may be staged later. */
export function stageParameters(c: ClusterHandle, p: unknown, now: number): void {
  if (p === undefined || p === null) return;
  if (typeof p !== 'object' || Array.isArray(p)) throw badRequest('field "parameters" must be an object');
  const o = p as Record<string, unknown>;
  for (const k of Object.keys(o))
    if (k !== 'zoneRedundancy' && k !== 'replicationFactor') throw badRequest(`parameters.${k.slice(0, 64)}: unknown (give zoneRedundancy and/or replicationFactor)`);
  const h = c.layout.history();
  const rf = o.replicationFactor;
  if (rf !== undefined && !(typeof rf === 'number' && Number.isInteger(rf) && rf >= 1 && rf <= REPLICATION_FACTOR_MAX))
    throw badRequest(`parameters.replicationFactor must be an integer from 1 to ${REPLICATION_FACTOR_MAX}`);
  const zr = o.zoneRedundancy;
  if (zr !== undefined && zr !== 'maximum') {
    const at = typeof zr === 'object' && zr !== null && !Array.isArray(zr) ? (zr as Record<string, unknown>).atLeast : undefined;
    if (!(typeof at === 'number' && Number.isInteger(at) && at >= 1))
      throw badRequest('parameters.zoneRedundancy must be "maximum" or {"atLeast": <positive integer>}');
    const targetRf = (rf as number | undefined) ?? stagedRf(h) ?? current(h).replicationFactor;
    if (at > targetRf)
      throw badRequest(
        `parameters.zoneRedundancy: at least ${at} zones cannot be met with replication factor ${targetRf}: each partition has ${targetRf} replica(s), so it spans at most ${targetRf} zone(s)`,
      );
  }
  let next = h;
  if (rf !== undefined && rf !== (stagedRf(h) ?? current(h).replicationFactor)) next = stageReplicationFactor(next, rf as number, now);
  if (zr !== undefined) {
    const v: ZoneRedundancy = zr === 'maximum' ? 'maximum' : { atLeast: (zr as { atLeast: number }).atLeast };
    if (canon(v) !== canon(stagedZoneRedundancy(h))) next = stageZoneRedundancy(next, v, now);
  }
  if (next !== h) c.layout.merge(next);
}

/** Why applying a replication-factor change from `from` to `to` is unsafe now, or undefined.
 *  Quorums come from each node's config (replication_factor), not from the layout: every node of
 *  the old and new layout must already run with `to`, and under those quorums a read and a write
 *  must still meet in the old replica sets (r + w > from), or acknowledged writes could be missed. */
export async function rfChangeProblem(deps: AdminDeps, c: ClusterHandle, from: number, to: number): Promise<string | undefined> {
  const q = quorumsFor(deps.config.consistency_mode, to);
  if (deps.config.consistency_mode === 'consistent' && q.read + q.write <= from)
    return `lowering the replication factor from ${from} to ${to} is unsafe: with quorums of ${q.write} (of ${to}), a read and a write could miss each other among ${from} replicas while the data moves; lower it in steps that keep 2 × (${to} / 2 + 1) > the current factor (for example ${from} → ${from - 1})`;
  const h = c.layout.history();
  const ids = [...new Set([...allNodes(h), ...Object.keys(stagedRoles(h))])].sort();
  const wrong: string[] = [];
  await Promise.all(
    ids.map(async (id) => {
      if (id === deps.nodeId) {
        if (deps.config.replication_factor !== to) wrong.push(`${id.slice(0, 16)} (this node) has replication_factor = ${deps.config.replication_factor}`);
        return;
      }
      try {
        const i = await nodeEndpoints(c.rpc).info.call(id, null, { timeoutMs: INFO_TIMEOUT_MS, priority: 'high' });
        if (i.replicationFactor !== to) wrong.push(`${id.slice(0, 16)} has replication_factor = ${i.replicationFactor ?? 'unknown (older version)'}`);
      } catch (e) {
        wrong.push(`${id.slice(0, 16)} did not answer (${errorMessage(e).slice(0, 200)})`);
      }
    }),
  );
  if (wrong.length === 0) return undefined;
  return `the replication factor change ${from} → ${to} needs every node to run with replication_factor = ${to} in its config first (restart each node after editing it): ${wrong.sort().join('; ')}`;
}

/** Garage's ClusterLayoutSkipDeadNodes: marks the nodes that are down as having seen (and, with
 *  allowMissingData, every node as having synced) `version`, so a layout change can finish
 *  without them. Data only a dead node held is then lost for good. */
const skipDeadNodes: Handler = async ({ deps, body }) => {
  const c = clusterOf(deps);
  const v = body.version;
  const allowMissingData = body.allowMissingData;
  if (typeof allowMissingData !== 'boolean') throw badRequest('field "allowMissingData" must be true or false');
  const h = c.layout.history();
  const cur = current(h).version;
  const oldest = h.versions[0]!.version;
  if (h.versions.length === 1) throw badRequest('there is only one active layout version: no layout change is waiting for a node');
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v <= oldest || v > cur)
    throw badRequest(`field "version" must be a layout version from ${oldest + 1} to ${cur} (usually the current one, ${cur})`);
  let next = h;
  const ackUpdated: string[] = [];
  const syncUpdated: string[] = [];
  for (const id of allNodes(h)) {
    if (allowMissingData || !c.rpc.isUp(id)) {
      if ((next.ackMap[id] ?? -1) < v) ackUpdated.push(id);
      next = markAcked(next, id, v);
    }
    if (allowMissingData) {
      if ((next.syncMap[id] ?? -1) < v) syncUpdated.push(id);
      next = markSynced(next, id, v);
    }
  }
  if (next !== h) c.layout.merge(next);
  return { ackUpdated, syncUpdated };
};

export const LAYOUT_PARAM_OPS: Record<string, Handler> = {
  ClusterLayoutSkipDeadNodes: skipDeadNodes,
};
