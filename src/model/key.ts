// The access key table (replicated everywhere). The secret never changes after creation, so
// it needs no register; name, deletion, the create-bucket right, the expiration and the self-service site
// allowance are LWW; the key's local bucket aliases (names only this key sees) and its own sites LWW maps.
import { mergeLww, mergeLwwMap, type Lww, type LwwMap } from '../table/crdt.ts';
import type { TableSchema } from '../table/schema.ts';
import { randomBytes } from 'node:crypto';

export interface AccessKey {
  id: string;
  secret: string;
  created: number;
  name: Lww<string>;
  deleted: Lww<boolean>;
  allowCreateBucket: Lww<boolean>;
  /** When the key stops working (ms since the epoch), null: never. Absent in entries written
   *  before keys could expire, which merges like the unset register. */
  expiration?: Lww<number | null>;
  /** Local aliases (Garage's): a bucket name only this key resolves → bucket id (null: removed). */
  localAliases?: LwwMap<string | null>;
  /** Self-service sites (Guichet's): how many sites the key may create itself under the root
   *  domain (or ask for at a custom domain). Absent in older entries: none, like { t: 0, v: 0 }. */
  sitesMax?: Lww<number>;
  /** The sites the site workflow made for this key (bucket id → 'self': it created the site
   *  itself, counted against sitesMax while the site lives; 'given': an admin made it for the
   *  key). The owner's site list reads the owner flags instead (model/site-index.ts), which also
   *  name sites made theirs by AllowBucketKey. */
  ownSites?: LwwMap<'self' | 'given' | null>;
}

const NEVER: Lww<number | null> = { t: 0, v: null };
const NO_SITES: Lww<number> = { t: 0, v: 0 };

/** Whether the key has expired at `now`. */
export function keyExpired(k: AccessKey, now: number): boolean {
  const e = k.expiration?.v;
  return e !== undefined && e !== null && e <= now;
}

/** The bucket id a local alias of this key names, if any. */
export function localAliasOf(k: AccessKey, name: string): string | undefined {
  return (Object.hasOwn(k.localAliases ?? {}, name) && k.localAliases![name]!.v) || undefined;
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
    ...(a.expiration || b.expiration ? { expiration: mergeLww(a.expiration ?? NEVER, b.expiration ?? NEVER) } : {}),
    ...(a.localAliases || b.localAliases ? { localAliases: mergeLwwMap(a.localAliases ?? {}, b.localAliases ?? {}) } : {}),
    ...(a.sitesMax || b.sitesMax ? { sitesMax: mergeLww(a.sitesMax ?? NO_SITES, b.sitesMax ?? NO_SITES) } : {}),
    ...(a.ownSites || b.ownSites ? { ownSites: mergeLwwMap(a.ownSites ?? {}, b.ownSites ?? {}) } : {}),
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
