// The block_ref table (sharded by block hash): one entry per (block, version) using it.
// It is the refcount's source of truth; a deleted flag wins once set.
import type { TableSchema } from '../table/schema.ts';

export interface BlockRefEntry {
  block: string; // hex hash
  version: string; // version uuid
  deleted: boolean;
}

export const blockRefSchema: TableSchema<BlockRefEntry> = {
  name: 'block_ref',
  replication: 'sharded',
  partitionKey: (r) => r.block,
  sortKey: (r) => r.version,
  merge: (a, b) => ({ block: a.block, version: a.version, deleted: a.deleted || b.deleted }),
  isTombstone: (r) => r.deleted,
  pkHash: (pk) => Buffer.from(pk, 'hex'),
};
