// The admin API response shapes the cluster commands read (status, nodes, layout, workers).

export interface FreeSpace {
  available: number;
  total: number;
}

export interface Role {
  zone: string;
  capacity: number | null;
  tags: string[];
}

export interface StatusNode {
  id: string;
  addr: string | null;
  hostname: string | null;
  version?: string | null;
  isUp: boolean;
  lastSeenSecsAgo: number | null;
  rttMs?: number | null;
  role: Role | null;
  draining: boolean;
  dataPartition: FreeSpace | null;
  metadataPartition: FreeSpace | null;
  partitions?: number;
}

export interface ClusterStatus {
  layoutVersion: number;
  nodes: StatusNode[];
}

export type { ClusterHealth } from '../api/admin/cluster.ts';

export interface NodeInfo {
  nodeId: string;
  grenierVersion: string;
  hostname?: string;
  rpcAddr?: string | null;
  nodeAddr?: string | null;
  warning?: string;
}

export interface LayoutRole extends Role {
  id: string;
  storedPartitions: number | null;
  usableCapacity: number | null;
}

export type StagedChange = { id: string; remove: true } | ({ id: string; remove?: undefined } & Role);

export interface ClusterLayout {
  version: number;
  roles: LayoutRole[];
  parameters: { zoneRedundancy: string; replicationFactor: number };
  partitionSize: number;
  stagedRoleChanges: StagedChange[];
  stagedParameters: { replicationFactor: number } | null;
}

export interface LayoutHistoryResp {
  currentVersion: number;
  minAck: number;
  readVersion: number;
  versions: { version: number; status: string; storageNodes: number; gatewayNodes: number }[];
  updateTrackers: Record<string, { ack: number | null; sync: number | null }>;
}

export interface WorkerInfo {
  name: string;
  state: string;
  queue: number;
  progress: string | null;
  runs: number;
  errors: number;
  lastError: string | null;
  lastRunAt: string | null;
}
