// The access key table (replicated everywhere). The secret never changes after creation, so
// it needs no register; name, deletion and the create-bucket right are LWW.
import { mergeLww, type Lww } from '../table/crdt.ts';
import type { TableSchema } from '../table/schema.ts';
import { randomBytes } from 'node:crypto';

export interface AccessKey {
  id: string;
  secret: string;
  created: number;
  name: Lww<string>;
  deleted: Lww<boolean>;
  allowCreateBucket: Lww<boolean>;
}

export const keySchema: TableSchema<AccessKey> = {
  name: 'key',
  replication: 'everywhere',
  partitionKey: () => 'key',
  sortKey: (k) => k.id,
  merge: (a, b) => ({
    id: a.id,
    // Identical on every replica; min() keeps the merge deterministic if ever not.
    secret: a.secret < b.secret ? a.secret : b.secret,
    created: Math.min(a.created, b.created),
    name: mergeLww(a.name, b.name),
    deleted: mergeLww(a.deleted, b.deleted),
    allowCreateBucket: mergeLww(a.allowCreateBucket, b.allowCreateBucket),
  }),
  isTombstone: (k) => k.deleted.v,
};

/** Garage-style ids: "GK" + 24 hex characters; 64 hex characters of secret. */
export function generateKeyPair(): { id: string; secret: string } {
  return { id: 'GK' + randomBytes(12).toString('hex'), secret: randomBytes(32).toString('hex') };
}

export function keyIdError(id: string): string | undefined {
  if (!/^GK[0-9a-f]{24}$/.test(id)) return 'access key ids look like GK followed by 24 hex characters';
  return undefined;
}
