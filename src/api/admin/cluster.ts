// Cluster and node status (GetClusterStatus, GetClusterHealth, GetNodeInfo). At this single-node
// stage the cluster is this node; shapes follow Garage v2 so tools built for it keep working.
import { statfs } from 'node:fs/promises';
import { hostname } from 'node:os';
import type { Handler, AdminDeps } from './context.ts';

/** Every key lands in one of 256 partitions (ARCHITECTURE §3). */
const PARTITIONS = 256;

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

const getClusterStatus: Handler = async ({ deps }) => {
  const [dataPartition, metadataPartition] = await Promise.all([freeSpace(deps.config.data_dir), freeSpace(deps.config.metadata_dir)]);
  return {
    layoutVersion: 0,
    nodes: [
      {
        id: deps.nodeId,
        addr: nodeAddr(deps),
        hostname: hostname(),
        isUp: true,
        lastSeenSecsAgo: null,
        draining: false,
        role: deps.role ?? null,
        dataPartition,
        metadataPartition,
      },
    ],
  };
};

/** The health of a lone node: it is up because it answers, and it stores every partition
 *  whether or not a layout role has been assigned yet. */
export function clusterHealth(): Record<string, unknown> {
  return {
    status: 'healthy',
    knownNodes: 1,
    connectedNodes: 1,
    storageNodes: 1,
    storageNodesOk: 1,
    partitions: PARTITIONS,
    partitionsQuorum: PARTITIONS,
    partitionsAllOk: PARTITIONS,
  };
}

const getClusterHealth: Handler = async () => clusterHealth();

const getNodeInfo: Handler = async ({ deps, query }) => {
  const node = query.get('node') ?? 'self';
  if (node !== 'self' && node !== '*' && node !== deps.nodeId)
    return { success: {}, error: { [node]: 'unknown node (this cluster has a single node)' } };
  return {
    success: {
      [deps.nodeId]: {
        nodeId: deps.nodeId,
        grenierVersion: deps.version,
        nodeVersion: process.version,
        dbEngine: 'lmdb',
        startedAt: new Date(deps.startedAt).toISOString(),
        uptimeSecs: Math.floor((Date.now() - deps.startedAt) / 1000),
      },
    },
    error: {},
  };
};

export const CLUSTER_OPS: Record<string, Handler> = {
  GetClusterStatus: getClusterStatus,
  GetClusterHealth: getClusterHealth,
  GetNodeInfo: getNodeInfo,
};
