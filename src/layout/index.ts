// Cluster layout (ARCHITECTURE §3): zones, capacities, the 256-partition assignment, versions
// and the history that carries a cluster through a layout change. Pure: no I/O, no clock.
export { PARTITIONS } from './types.ts';
export type { AssignmentResult, LayoutHistory, LayoutVersion, NodeId, NodeRole, NodeUsage, Preview, StagedRole } from './types.ts';
export { computeAssignment, isStorage, storageNodesOf } from './assign.ts';
export {
  ackMin,
  allNodes,
  allStorageNodes,
  apply,
  current,
  emptyHistory,
  emptyVersion,
  markAcked,
  markSynced,
  mergeHistory,
  nodesOf,
  partitionOf,
  preview,
  readNodes,
  readVersion,
  revert,
  stage,
  stagedRoles,
  stageReplicationFactor,
  trim,
  validateRole,
  writeSets,
} from './history.ts';
