// Cluster and node status (GetClusterStatus, GetClusterHealth, GetNodeInfo, ConnectClusterNodes),
// gathered from the layout, the peer table and `node/info` calls; shapes follow Garage admin v2.
// Without a cluster runtime (unit tests of keys and buckets) the cluster is this node alone.
import { statfs } from 'node:fs/promises';
import { hostname } from 'node:os';
import type { IncomingMessage } from 'node:http';
import type { Handler, AdminDeps } from './context.ts';
import type { ClusterHandle, ClusterNodeInfo } from './cluster-handle.ts';
import { AdminError, badRequest, parseJsonBody, readBody, type Hold } from './http.ts';
import { current, allNodes } from '../../layout/history.ts';
import { PARTITIONS } from '../../layout/types.ts';
import type { LayoutHistory, NodeRole } from '../../layout/types.ts';
import { quorumsFor } from '../../table/replication.ts';
import { errorMessage } from '../../util/errors.ts';
import { readiness, type ReadyStatus } from './readiness.ts';
import { checkDebt, nodeEndpoints, type ReplicationDebt } from './cluster-handle.ts';
import { checkProcessUsage, processUsage } from '../../util/process-usage.ts';

/** How long GetClusterStatus waits for a peer's `node/info`: a slow peer must not stall status. */
const INFO_TIMEOUT_MS = 2000;

async function freeSpace(dir: string): Promise<{ available: number; total: number } | null> {
  try {
    const s = await statfs(dir);
    return { available: s.bavail * s.bsize, total: s.blocks * s.bsize };
  } catch {
    return null;
  }
}

export function nodeAddr(deps: AdminDeps): string {
  return deps.config.rpc_public_addr ?? deps.config.rpc_bind_addr;
}

function isWildcard(host: string): boolean {
  return host === '' || host === '::' || host === '0.0.0.0';
}

/** The address other nodes should dial to reach this one, and whether it is only a guess
 *  (bound to a wildcard with no rpc_public_addr: the hostname may not resolve for peers). */
export function selfRpcAddr(deps: AdminDeps): { addr: string; guessed: boolean } {
  if (deps.config.rpc_public_addr) return { addr: deps.config.rpc_public_addr, guessed: false };
  let host: string;
  let port: number;
  try {
    ({ host, port } = deps.cluster!.net.address());
  } catch {
    return { addr: deps.config.rpc_bind_addr, guessed: true };
  }
  if (isWildcard(host)) return { addr: `${hostname()}:${port}`, guessed: true };
  return { addr: host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`, guessed: false };
}

/** Requires the cluster runtime (absent only in admin unit tests without a node). */
export function clusterOf(deps: AdminDeps): ClusterHandle {
  if (!deps.cluster) throw new AdminError(503, 'ClusterUnavailable', 'this admin server runs without a cluster runtime');
  return deps.cluster;
}

/** Every node this one knows of: itself, its peers, and every node named by the layout. */
export function knownNodeIds(c: ClusterHandle): string[] {
  const h = c.layout.history();
  const ids = new Set<string>([c.net.id, ...c.net.peers().map((p) => p.id), ...allNodes(h), ...Object.keys(h.staging)]);
  return [...ids].sort();
}

/** A full node id from a unique prefix of a known node's id (a full unknown id is accepted as is). */
export function resolveNode(c: ClusterHandle, given: string): string {
  const p = given.trim().toLowerCase();
  if (!/^[0-9a-f]+$/.test(p)) throw badRequest(`"${given}" is not a node id (hex)`);
  const all = knownNodeIds(c);
  if (all.includes(p)) return p;
  const hits = all.filter((id) => id.startsWith(p));
  if (hits.length === 1) return hits[0]!;
  if (hits.length > 1) throw new AdminError(400, 'AmbiguousNode', `${hits.length} nodes match ${given}: ${hits.map((h) => h.slice(0, 16)).join(', ')}`);
  if (p.length === 64) return p;
  throw new AdminError(404, 'NoSuchNode', `no node matches ${given}`);
}

/** Partition replicas each node holds in a layout version. */
export function partitionCounts(assignment: string[][]): Map<string, number> {
  const m = new Map<string, number>();
  for (const list of assignment) for (const id of list) m.set(id, (m.get(id) ?? 0) + 1);
  return m;
}

/** `node/info` of this node and of every connected peer, in parallel, each bounded by a timeout. */
export async function gatherInfo(c: ClusterHandle): Promise<Map<string, ClusterNodeInfo>> {
  const out = new Map<string, ClusterNodeInfo>();
  const up = c.net.peers().filter((p) => p.connected && p.id !== c.net.id);
  const results = await Promise.all([
    c.info().then((i) => [c.net.id, i] as const, () => undefined),
    ...up.map((p) =>
      nodeEndpoints(c.rpc).info.call(p.id, null, { timeoutMs: INFO_TIMEOUT_MS, priority: 'high' }).then(
        (i) => [p.id, i] as const,
        () => undefined,
      ),
    ),
  ]);
  for (const r of results) if (r) out.set(r[0], r[1]);
  return out;
}

function space(d: { avail: number; total: number } | undefined): { available: number; total: number } | null {
  return d ? { available: d.avail, total: d.total } : null;
}

/** Nodes with a role in an older active version but none in the current one: still handing data over. */
function drainingNodes(h: LayoutHistory): Set<string> {
  const cur = current(h);
  const out = new Set<string>();
  for (const v of h.versions) for (const id of Object.keys(v.roles)) if (!cur.roles[id]) out.add(id);
  return out;
}

async function clusterStatus(deps: AdminDeps, c: ClusterHandle): Promise<unknown> {
  const h = c.layout.history();
  const cur = current(h);
  const now = Date.now();
  const peers = new Map(c.net.peers().map((p) => [p.id, p]));
  const infos = await gatherInfo(c);
  const counts = partitionCounts(cur.assignment);
  const draining = drainingNodes(h);
  const nodes = knownNodeIds(c)
    // A node only staged (never connected, no role yet) is not part of the cluster's state.
    .filter((id) => id === c.net.id || peers.has(id) || allNodes(h).includes(id))
    .map((id) => {
      const self = id === c.net.id;
      const p = peers.get(id);
      const info = infos.get(id);
      const role: NodeRole | undefined = cur.roles[id];
      return {
        id,
        addr: self ? selfRpcAddr(deps).addr : (p?.addr ?? info?.rpcAddr ?? null),
        hostname: info?.hostname ?? null,
        version: info?.version ?? null,
        isUp: self || p?.connected === true,
        lastSeenSecsAgo: self ? null : p?.lastSeen !== undefined ? Math.max(0, Math.floor((now - p.lastSeen) / 1000)) : null,
        rttMs: self ? null : p?.rttMs !== undefined ? Math.round(p.rttMs * 10) / 10 : null,
        role: role ? { zone: role.zone, capacity: role.capacity, tags: role.tags } : null,
        draining: !role && draining.has(id),
        dataPartition: space(info?.dataDisk),
        metadataPartition: space(info?.metadataDisk),
        partitions: counts.get(id) ?? 0,
        blocks: info?.blocks ?? null,
        process: checkProcessUsage(info?.process),
      };
    });
  return { layoutVersion: cur.version, nodes };
}

const getClusterStatus: Handler = async ({ deps }) => {
  if (deps.cluster) return clusterStatus(deps, deps.cluster);
  const [dataPartition, metadataPartition] = await Promise.all([freeSpace(deps.config.data_dir), freeSpace(deps.config.metadata_dir)]);
  return {
    layoutVersion: 0,
    nodes: [
      {
        id: deps.nodeId,
        addr: nodeAddr(deps),
        hostname: hostname(),
        version: deps.version,
        isUp: true,
        lastSeenSecsAgo: null,
        rttMs: null,
        draining: false,
        role: deps.role ?? null,
        dataPartition,
        metadataPartition,
        partitions: PARTITIONS,
        process: processUsage(),
      },
    ],
  };
};

export interface ClusterHealth {
  status: 'healthy' | 'degraded' | 'unavailable';
  knownNodes: number;
  connectedNodes: number;
  storageNodes: number;
  storageNodesUp: number;
  partitions: number;
  partitionsQuorum: number;
  partitionsAllOk: number;
  /** Whether the node that answers can serve requests now: what its /health says (not in Garage). */
  node?: { status: ReadyStatus; reason: string };
  /** What the answering node still owes (entries queued for other nodes, blocks it has yet to fetch). */
  replicationDebt?: ReplicationDebt;
  /** Each connected node's own debt as it reported it (GetClusterHealth asks them all), this one's included. */
  replicationDebtByNode?: Record<string, ReplicationDebt>;
  /** Nodes of the layout whose debt could not be read (down, or no answer in time): not known to be caught up. */
  replicationDebtUnknown?: string[];
}

/** Garage's rule: a partition has quorum when every write set of it (one per active layout
 *  version) has a write quorum of its nodes up; "all ok" when all of them are up. Healthy needs
 *  every storage node up, degraded still has quorum everywhere, unavailable does not. */
export function computeHealth(
  h: LayoutHistory,
  writeSets: (p: number) => string[][],
  isUp: (id: string) => boolean,
  known: string[],
  writeQuorum: number,
  /** False for a node known to lack writes (replication debt): its partitions are not "all ok". */
  caughtUp: (id: string) => boolean = () => true,
): ClusterHealth {
  const storage = Object.entries(current(h).roles)
    .filter(([, r]) => r.capacity !== null)
    .map(([id]) => id);
  let partitionsQuorum = 0;
  let partitionsAllOk = 0;
  for (let p = 0; p < PARTITIONS; p++) {
    const sets = writeSets(p);
    const upIn = sets.map((s) => s.filter(isUp).length);
    if (sets.length > 0 && sets.every((s, i) => upIn[i]! >= Math.min(writeQuorum, s.length))) partitionsQuorum++;
    if (sets.length > 0 && sets.every((s, i) => upIn[i]! === s.length && s.every(caughtUp))) partitionsAllOk++;
  }
  const storageNodes = storage.length;
  const storageNodesUp = storage.filter(isUp).length;
  const status =
    partitionsQuorum < PARTITIONS ? 'unavailable' : storageNodesUp < storageNodes || partitionsAllOk < PARTITIONS ? 'degraded' : 'healthy';
  return {
    status,
    knownNodes: known.length,
    connectedNodes: known.filter(isUp).length,
    // Before any layout, this lone node holds everything.
    storageNodes: storageNodes || 1,
    storageNodesUp: storageNodes ? storageNodesUp : 1,
    partitions: PARTITIONS,
    partitionsQuorum,
    partitionsAllOk,
  };
}

/** Health as this node sees it; `debts` (every node's own, see gatherDebts) decides which nodes
 *  are behind, else only this node's debt is known. */
export function clusterHealth(deps: AdminDeps, debts?: Map<string, ReplicationDebt>): ClusterHealth {
  const c = deps.cluster;
  if (!c) {
    return { status: 'healthy', knownNodes: 1, connectedNodes: 1, storageNodes: 1, storageNodesUp: 1, partitions: PARTITIONS, partitionsQuorum: PARTITIONS, partitionsAllOk: PARTITIONS };
  }
  const q = quorumsFor(deps.config.consistency_mode, deps.config.replication_factor);
  const debt = c.replicationDebt?.();
  const behind = new Set(debt?.nodesBehind ?? []);
  for (const d of debts?.values() ?? []) for (const id of d.nodesBehind) behind.add(id);
  const h = computeHealth(c.layout.history(), (p) => c.layout.writeSets(p), (id) => c.rpc.isUp(id), knownNodeIds(c), q.write, (id) => !behind.has(id));
  return debt ? { ...h, replicationDebt: debt } : h;
}

/** How long GetClusterHealth waits for a peer's `node/debt`. */
const DEBT_TIMEOUT_MS = 2000;
export { checkDebt };

/** Every connected node's own replication debt (`node/debt`, bounded by a timeout), and the nodes
 *  of the layout that did not tell. */
export async function gatherDebts(c: ClusterHandle): Promise<{ debts: Map<string, ReplicationDebt>; unknown: string[] }> {
  const debts = new Map<string, ReplicationDebt>();
  const self = c.replicationDebt?.();
  if (self) debts.set(c.net.id, self);
  const up = c.net.peers().filter((p) => p.connected && p.id !== c.net.id);
  await Promise.all(
    up.map(async (p) => {
      try {
        debts.set(p.id, await nodeEndpoints(c.rpc).debt.call(p.id, null, { timeoutMs: DEBT_TIMEOUT_MS, priority: 'high' }));
      } catch {
        // Down, slow, or a version without node/debt: reported as unknown.
      }
    }),
  );
  const unknown = allNodes(c.layout.history()).filter((id) => !debts.has(id));
  return { debts, unknown };
}

const getClusterHealth: Handler = async ({ deps }) => {
  const r = readiness(deps);
  if (!deps.cluster?.replicationDebt) return { ...clusterHealth(deps), node: { status: r.status, reason: r.reason } };
  const { debts, unknown } = await gatherDebts(deps.cluster);
  return {
    ...clusterHealth(deps, debts),
    replicationDebtByNode: Object.fromEntries(debts),
    replicationDebtUnknown: unknown,
    node: { status: r.status, reason: r.reason },
  };
};

function localNodeInfo(deps: AdminDeps): Record<string, unknown> {
  const out: Record<string, unknown> = {
    nodeId: deps.nodeId,
    grenierVersion: deps.version,
    nodeVersion: process.version,
    dbEngine: 'lmdb',
    hostname: hostname(),
    startedAt: new Date(deps.startedAt).toISOString(),
    uptimeSecs: Math.floor((Date.now() - deps.startedAt) / 1000),
  };
  if (deps.cluster) {
    const { addr, guessed } = selfRpcAddr(deps);
    out.rpcAddr = addr;
    // What `grenier node connect` on another node takes.
    out.nodeAddr = `${deps.nodeId}@${addr}`;
    if (guessed) out.warning = 'rpc_bind_addr is a wildcard and rpc_public_addr is not set: the address is a guess, set rpc_public_addr';
  }
  return out;
}

const getNodeInfo: Handler = async ({ deps, query }) => {
  const node = query.get('node') ?? 'self';
  const c = deps.cluster;
  if (!c) {
    if (node !== 'self' && node !== '*' && node !== deps.nodeId)
      return { success: {}, error: { [node]: 'unknown node (this cluster has a single node)' } };
    return { success: { [deps.nodeId]: localNodeInfo(deps) }, error: {} };
  }
  let ids: string[];
  if (node === 'self') ids = [deps.nodeId];
  else if (node === '*') ids = knownNodeIds(c);
  else {
    try {
      ids = [resolveNode(c, node)];
    } catch (e) {
      return { success: {}, error: { [node]: errorMessage(e) } };
    }
  }
  const success: Record<string, unknown> = {};
  const error: Record<string, string> = {};
  await Promise.all(
    ids.map(async (id) => {
      if (id === deps.nodeId) {
        success[id] = localNodeInfo(deps);
        return;
      }
      try {
        const i = await nodeEndpoints(c.rpc).info.call(id, null, { timeoutMs: INFO_TIMEOUT_MS, priority: 'high' });
        const addr = i.rpcAddr ?? c.net.peers().find((p) => p.id === id)?.addr;
        success[id] = { nodeId: id, grenierVersion: i.version, hostname: i.hostname, rpcAddr: addr ?? null, nodeAddr: addr ? `${id}@${addr}` : null };
      } catch (e) {
        error[id] = errorMessage(e);
      }
    }),
  );
  return { success, error };
};

const connectClusterNodes: Handler = async ({ deps, body }) => {
  const c = clusterOf(deps);
  const list = body.items;
  if (!Array.isArray(list) || list.some((x) => typeof x !== 'string'))
    throw badRequest('the request body must be a JSON array of "<node id>@<host>:<port>" strings');
  return Promise.all(
    (list as string[]).map(async (s) => {
      try {
        await c.net.connect(s);
        return { success: true, error: null };
      } catch (e) {
        return { success: false, error: errorMessage(e) };
      }
    }),
  );
};

/** Reads a POST body that may be a JSON array (Garage takes bare arrays for some operations):
 *  an array arrives to the handler as `{ items: [...] }`. */
export async function readJsonOrArray(req: IncomingMessage, max: number, hold: Hold): Promise<Record<string, unknown>> {
  return parseJsonBody(await readBody(req, max, hold), { allowArray: true });
}

export const CLUSTER_OPS: Record<string, Handler> = {
  GetClusterStatus: getClusterStatus,
  GetClusterHealth: getClusterHealth,
  GetNodeInfo: getNodeInfo,
  ConnectClusterNodes: connectClusterNodes,
};
