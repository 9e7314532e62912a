// Data types of the cluster layout (ARCHITECTURE §3): plain objects, so msgpack and JSON
// carry them as they are and every node can recompute or compare them.

export const PARTITIONS = 256;

/** A node's public key, hex. */
export type NodeId = string;

export interface NodeRole {
  zone: string;
  /** Bytes this node offers; null = gateway (serves requests, stores nothing). */
  capacity: number | null;
  tags: string[];
}

/** Garage's zone redundancy: the fewest distinct zones each partition's replicas span.
 *  'maximum' = min(replication factor, zones); a smaller {atLeast} lets an unbalanced zone
 *  hold several replicas of a partition, so more of its capacity is used. */
export type ZoneRedundancy = 'maximum' | { atLeast: number };

export interface LayoutVersion {
  /** 0 = the empty initial layout. */
  version: number;
  replicationFactor: number;
  /** Absent = 'maximum' (versions written before this field existed mean exactly that). */
  zoneRedundancy?: { atLeast: number };
  /** Every node with a role in this version, gateways included. */
  roles: Record<NodeId, NodeRole>;
  /** [partition] → node ids (replicationFactor of them, fewer if there are not enough storage nodes). */
  assignment: NodeId[][];
  /** Bytes each partition replica may use; usable capacity = partitionSize * PARTITIONS. */
  partitionSize: number;
}

/** A staged change to one node's role; last writer (highest t) wins. null = remove the role. */
export interface StagedRole {
  t: number;
  v: NodeRole | null;
}

export interface LayoutHistory {
  /** Ascending and contiguous; old ones are trimmed once every node synced past them. */
  versions: LayoutVersion[];
  /** Staged role changes, LWW per node. */
  staging: Record<NodeId, StagedRole>;
  stagingRf?: { t: number; v: number };
  /** Staged zone redundancy, LWW like stagingRf. */
  stagingZr?: { t: number; v: ZoneRedundancy };
  /** Staged entries (roles and rf) with t below this were consumed by an apply or dropped by a
   *  revert: without it, gossip from a peer that still has them would bring them back. Absent = 0. */
  stagingSince?: number;
  /** Per node: highest layout version whose data it has fully synced (monotone max). */
  syncMap: Record<NodeId, number>;
  /** Per node: highest version it has acknowledged seeing (it stops using older ones for new writes). */
  ackMap: Record<NodeId, number>;
}

export interface AssignmentResult {
  assignment: NodeId[][];
  partitionSize: number;
  warnings: string[];
}

export interface NodeUsage {
  node: NodeId;
  zone: string;
  partitions: number;
  /** null for a gateway. */
  capacity: number | null;
  /** Bytes this node may have to hold: partitions * partitionSize. */
  usage: number;
}

export interface Preview {
  next: LayoutVersion;
  /** Partition replicas that change node between the current version and `next`. */
  moved: number;
  /** moved * bytesPerReplica, when the caller knows how full partitions are. */
  movedBytesEstimate?: number;
  usableCapacity: number;
  perNode: NodeUsage[];
  warnings: string[];
}
