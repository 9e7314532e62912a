// What a replicated table needs from the cluster: an RPC layer, where each partition lives
// (from the layout) and the quorums of the consistency mode.
import type { Rpc } from '../rpc/rpc.ts';
import type { NodeId } from '../rpc/transport.ts';

export interface Placement {
  /** Nodes to read a partition from (the newest fully synced layout version). */
  readNodes(partition: number): NodeId[];
  /** Node sets a write must reach quorum in: one per active layout version. */
  writeSets(partition: number): NodeId[][];
  /** Every node of every active layout version (targets of "everywhere" tables). */
  allNodes(): NodeId[];
}

export interface Quorums {
  read: number;
  write: number;
}

export interface ReplicationContext {
  rpc: Rpc;
  placement: Placement;
  quorums: Quorums;
  /** Deadline of one replica call. */
  timeoutMs: number;
}

/** Read/write quorums of a consistency mode (ARCHITECTURE §10). */
export function quorumsFor(mode: 'consistent' | 'degraded' | 'dangerous', rf: number): Quorums {
  const majority = Math.floor(rf / 2) + 1;
  switch (mode) {
    case 'consistent':
      return { read: majority, write: majority };
    case 'degraded':
      return { read: 1, write: majority };
    case 'dangerous':
      return { read: 1, write: 1 };
  }
}
