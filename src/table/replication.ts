// What a replicated table needs from the cluster (an RPC layer, where each partition lives, the
// quorums of the consistency mode), and the replication strategies built from it: one interface
// (read set, write sets, quorums, partitions to sync) with Sharded, Everywhere and SingleNode
// behind it, so a table runs the same code alone, in unit tests and in production.
import type { Rpc } from '../rpc/rpc.ts';
import type { NodeId } from '../rpc/transport.ts';
import { PARTITION_COUNT } from './partitions.ts';

export interface Placement {
  /** Nodes to read a partition from (the newest fully synced layout version). */
  readNodes(partition: number): NodeId[];
  /** Node sets a write must reach quorum in: one per active layout version. */
  writeSets(partition: number): NodeId[][];
  /** Every node of every active layout version (targets of "everywhere" tables). */
  allNodes(): NodeId[];
  /** Calls `cb` after every change of the answers above (the layout manager's): what is derived
   *  from the whole placement is computed once per change. Absent: derived again on each use. */
  onChange?(cb: () => void): void;
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

/** A partition this node replicates, with the other replicas to compare it with. */
export interface SyncTarget {
  p: number;
  peers: NodeId[];
}

/** Where a table's entries live and how many replicas must answer. */
export interface ReplicationStrategy {
  readonly kind: 'sharded' | 'everywhere' | 'single-node';
  /** This node. */
  readonly self: NodeId;
  /** Whether reads of the partition are answered from this node's copy alone. */
  readsLocal(partition: number): boolean;
  /** Nodes a read asks (when not local) and how many answers it needs. */
  readNodes(partition: number): NodeId[];
  readonly readQuorum: number;
  /** Node sets a write must reach quorum in (one per active layout version), and each set's quorum. */
  writeSets(partition: number): NodeId[][];
  writeQuorum(set: NodeId[]): number;
  /** Other nodes a read that found nothing locally asks (getFresh): "everywhere" tables only. */
  freshReadNodes(): NodeId[];
  /** Partitions anti-entropy compares, each with the other replicas. */
  partitionsToSync(): SyncTarget[];
  /** Nodes that must all hold a tombstone before it is collected (this node skips the partition
   *  unless it is one of them). */
  tombstoneHolders(partition: number): NodeId[];
  /** Whether a failed write on this node is queued for itself (a cluster retries it from the
   *  queue; a node alone reports it to the caller). */
  readonly queuesOwnFailures: boolean;
}

const majority = (s: NodeId[]) => Math.floor(s.length / 2) + 1;

/** Today's consistent-hash placement by layout versions: R/W replicas per partition. */
export class Sharded implements ReplicationStrategy {
  readonly kind = 'sharded';
  readonly self: NodeId;
  readonly queuesOwnFailures = true;
  private readonly placement: Placement;
  private readonly quorums: Quorums;
  constructor(self: NodeId, placement: Placement, quorums: Quorums) {
    this.self = self;
    this.placement = placement;
    this.quorums = quorums;
  }
  get readQuorum(): number {
    return this.quorums.read;
  }
  readsLocal(p: number): boolean {
    const nodes = this.placement.readNodes(p);
    return nodes.length === 1 && nodes[0] === this.self;
  }
  readNodes(p: number): NodeId[] {
    return this.placement.readNodes(p);
  }
  writeSets(p: number): NodeId[][] {
    return this.placement.writeSets(p);
  }
  writeQuorum(set: NodeId[]): number {
    return Math.min(this.quorums.write, set.length);
  }
  freshReadNodes(): NodeId[] {
    return [];
  }
  partitionsToSync(): SyncTarget[] {
    const out: SyncTarget[] = [];
    for (let p = 0; p < PARTITION_COUNT; p++) {
      const nodes = new Set(this.placement.writeSets(p).flat());
      if (!nodes.has(this.self)) continue;
      nodes.delete(this.self);
      if (nodes.size > 0) out.push({ p, peers: [...nodes] });
    }
    return out;
  }
  tombstoneHolders(p: number): NodeId[] {
    return [...new Set(this.placement.writeSets(p).flat())];
  }
}

/** Every node holds every entry (buckets, keys, routes...): reads are local, writes wait for a
 *  majority of all nodes, and anti-entropy compares the ONE partition the table's constant
 *  partition key hashes to (not 256). */
export class Everywhere implements ReplicationStrategy {
  readonly kind = 'everywhere';
  readonly self: NodeId;
  readonly queuesOwnFailures = true;
  readonly readQuorum = 1;
  /** The partition every entry of the table lives in. */
  readonly partition: number;
  private readonly placement: Placement;
  constructor(self: NodeId, placement: Placement, partition: number) {
    this.self = self;
    this.placement = placement;
    this.partition = partition;
  }
  readsLocal(): boolean {
    return true;
  }
  readNodes(): NodeId[] {
    return [this.self];
  }
  writeSets(): NodeId[][] {
    const all = this.placement.allNodes();
    return [all.length ? all : [this.self]];
  }
  writeQuorum(set: NodeId[]): number {
    return majority(set);
  }
  freshReadNodes(): NodeId[] {
    return this.placement.allNodes().filter((n) => n !== this.self);
  }
  partitionsToSync(): SyncTarget[] {
    const peers = this.freshReadNodes();
    return peers.length === 0 ? [] : [{ p: this.partition, peers }];
  }
  tombstoneHolders(): NodeId[] {
    return this.placement.allNodes();
  }
}

/** A node without a cluster: it is the only replica of everything. */
export class SingleNode implements ReplicationStrategy {
  readonly kind = 'single-node';
  readonly self: NodeId;
  readonly queuesOwnFailures = false;
  readonly readQuorum = 1;
  constructor(self: NodeId) {
    this.self = self;
  }
  readsLocal(): boolean {
    return true;
  }
  readNodes(): NodeId[] {
    return [this.self];
  }
  writeSets(): NodeId[][] {
    return [[this.self]];
  }
  writeQuorum(): number {
    return 1;
  }
  freshReadNodes(): NodeId[] {
    return [];
  }
  partitionsToSync(): SyncTarget[] {
    return [];
  }
  tombstoneHolders(): NodeId[] {
    return [this.self];
  }
}
