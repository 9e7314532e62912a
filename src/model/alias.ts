// The global alias table (replicated everywhere): bucket name → bucket id, an LWW register so
// that renames and deletions merge; a null id means the name is free.
import { mergeLww, type Lww } from '../table/crdt.ts';
import type { TableSchema } from '../table/schema.ts';

export interface Alias {
  name: string;
  bucket: Lww<string | null>;
}

export const aliasSchema: TableSchema<Alias> = {
  name: 'alias',
  replication: 'everywhere',
  partitionKey: () => 'alias',
  sortKey: (a) => a.name,
  merge: (a, b) => ({ name: a.name, bucket: mergeLww(a.bucket, b.bucket) }),
  isTombstone: (a) => a.bucket.v === null,
};
