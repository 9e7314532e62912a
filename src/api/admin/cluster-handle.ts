// What the admin API sees of the cluster runtime (node-cluster.ts provides it): peers, layout,
// workers and per-node information, without the admin layer depending on the composition root.
import type { Rpc } from '../../rpc/rpc.ts';
import type { LayoutManager } from '../../layout/manager.ts';
import type { Workers } from '../../util/worker.ts';
import type { BlockReplication } from '../../block/replication.ts';
import type { PeerInfo } from '../../net/index.ts';
import { Endpoint, none, type EndpointHost } from '../../rpc/schema.ts';

export interface ClusterNodeInfo {
  id: string;
  hostname: string;
  version: string;
  rpcAddr?: string;
  dataDisk?: { avail: number; total: number };
  metadataDisk?: { avail: number; total: number };
  blocks: number;
  /** The node's config replication_factor: what its quorums are computed from. */
  replicationFactor?: number;
  /** The node's process: CPU (% of one core, last sampling interval) and RSS (util/process-usage.ts).
   *  Absent from older nodes; checked on receipt like every peer figure. */
  process?: { cpuPercent: number; rssBytes: number };
}

export interface ClusterHandle {
  net: {
    readonly id: string;
    peers(): PeerInfo[];
    connect(idAtAddr: string): Promise<string>;
    address(): { host: string; port: number };
  };
  rpc: Rpc;
  layout: LayoutManager;
  workers: Workers;
  blockRepl: BlockReplication;
  info(): Promise<ClusterNodeInfo>;
  /** What this node still owes (node-cluster.ts): entries queued for other nodes, blocks it has yet to fetch. */
  replicationDebt?(): ReplicationDebt;
  /** Worker variables of this node (resync-tranquility, resync-worker-count), as strings. */
  variables?(): Record<string, string>;
  /** Sets one (throws naming the allowed range); returns the value now in force. */
  setVariable?(name: string, value: string): string;
}

export interface ReplicationDebt {
  entriesQueued: number;
  entriesQueuedByNode: Record<string, number>;
  blocksQueued: number;
  blockErrors: number;
  /** Nodes not fully replicated as far as this node knows (owed entries, or itself with blocks queued). */
  nodesBehind: string[];
}

/** Most nodes one debt answer may name (a peer's answer is bounded like any peer input). */
const DEBT_NODES_MAX = 10_000;

function count(x: unknown, what: string): number {
  if (typeof x !== 'number' || !Number.isSafeInteger(x) || x < 0) throw new Error(`${what}: expected a count`);
  return x;
}

function nodeIdOf(x: unknown, what: string): string {
  if (typeof x !== 'string' || !/^[0-9a-f]{1,64}$/.test(x)) throw new Error(`${what}: expected a node id`);
  return x;
}

/** A peer's `node/debt` answer, checked (throws on any other shape). */
export function checkDebt(x: unknown): ReplicationDebt {
  if (typeof x !== 'object' || x === null || Array.isArray(x)) throw new Error('debt: expected an object');
  const o = x as Record<string, unknown>;
  const by = o.entriesQueuedByNode;
  if (typeof by !== 'object' || by === null || Array.isArray(by)) throw new Error('debt.entriesQueuedByNode: expected an object');
  const byEntries = Object.entries(by);
  const behind = o.nodesBehind;
  if (!Array.isArray(behind)) throw new Error('debt.nodesBehind: expected an array');
  if (byEntries.length > DEBT_NODES_MAX || behind.length > DEBT_NODES_MAX) throw new Error(`debt: more than ${DEBT_NODES_MAX} nodes`);
  return {
    entriesQueued: count(o.entriesQueued, 'debt.entriesQueued'),
    entriesQueuedByNode: Object.fromEntries(byEntries.map(([k, v]) => [nodeIdOf(k, 'debt.entriesQueuedByNode'), count(v, `debt.entriesQueuedByNode.${k.slice(0, 16)}`)])),
    blocksQueued: count(o.blocksQueued, 'debt.blocksQueued'),
    blockErrors: count(o.blockErrors, 'debt.blockErrors'),
    nodesBehind: behind.map((id, i) => nodeIdOf(id, `debt.nodesBehind[${i}]`)),
  };
}

/** The per-node endpoints, typed once: node-cluster.ts serves them, the admin API calls them. */
export function nodeEndpoints(rpc: EndpointHost): { info: Endpoint<null, ClusterNodeInfo>; debt: Endpoint<null, ReplicationDebt> } {
  return {
    info: new Endpoint<null, ClusterNodeInfo>(rpc, 'node/info', none),
    // What a node owes, for a peer's GetClusterHealth: checked on receipt (BadAnswerError).
    debt: new Endpoint<null, ReplicationDebt>(rpc, 'node/debt', none, checkDebt),
  };
}
