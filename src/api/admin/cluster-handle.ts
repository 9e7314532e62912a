// What the admin API sees of the cluster runtime (node-cluster.ts provides it): peers, layout,
// workers and per-node information, without the admin layer depending on the composition root.
import type { Rpc } from '../../rpc/rpc.ts';
import type { LayoutManager } from '../../layout/manager.ts';
import type { Workers } from '../../util/worker.ts';
import type { BlockReplication } from '../../block/replication.ts';
import type { PeerInfo } from '../../net/index.ts';

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
