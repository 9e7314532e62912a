// The global alias table (replicated everywhere): bucket name → bucket id, an LWW register so
// that renames and deletions merge; a null id means the name is free.
import { mergeLww, type Lww } from '../table/crdt.ts';
import type { TableSchema } from '../table/schema.ts';

export interface Alias {
  name: string;
  bucket: Lww<string | null>;
  /** The bucket an admin (admin API, site workflow) gave this name to as a host: the name is
   *  served as a bare host only while it equals `bucket` (model/hosts.ts). Null or absent for a
   *  name a tenant created over S3 (and for entries written before this field existed). Its own
   *  register, written with `bucket` at the same time: a mix from concurrent writes never
   *  matches a foreign bucket id, so it fails closed. */
  given?: Lww<string | null>;
}

const NONE: Lww<string | null> = { t: 0, v: null };

export const aliasSchema: TableSchema<Alias> = {
  name: 'alias',
  replication: 'everywhere',
  partitionKey: () => 'alias',
  sortKey: (a) => a.name,
  merge: (a, b) => {
    const m: Alias = { name: a.name, bucket: mergeLww(a.bucket, b.bucket) };
    if (a.given || b.given) m.given = mergeLww(a.given ?? NONE, b.given ?? NONE);
    return m;
  },
  isTombstone: (a) => a.bucket.v === null,
};
