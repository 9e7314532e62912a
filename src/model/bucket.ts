// The bucket table (replicated everywhere): identity, aliases, key permissions and per-bucket
// settings (website, CORS, versioning, quotas, owner, ACL, policy, public access block, lifecycle), each an
// LWW register so edits merge.
import { mergeLww, mergeLwwMap, type Lww, type LwwMap } from '../table/crdt.ts';
import type { TableSchema } from '../table/schema.ts';
import type { Grant } from './acl.ts';
import type { ObjectLockConfig } from './object-lock.ts';
import type { LifecycleConfig } from './lifecycle.ts';
import type { TagSet } from './tags.ts';

export interface Perm {
  read: boolean;
  write: boolean;
  owner: boolean;
}

export interface CorsRule {
  id?: string;
  allowedOrigins: string[];
  allowedMethods: string[];
  allowedHeaders: string[];
  exposeHeaders: string[];
  maxAgeSeconds?: number;
}

export interface RoutingRule {
  condition?: { keyPrefixEquals?: string; httpErrorCodeReturnedEquals?: string };
  redirect: {
    hostName?: string;
    protocol?: string;
    replaceKeyPrefixWith?: string;
    replaceKeyWith?: string;
    httpRedirectCode?: string;
  };
}

export interface WebsiteConfig {
  indexDocument?: string;
  errorDocument?: string;
  redirectAllRequestsTo?: { hostName: string; protocol?: string };
  routingRules?: RoutingRule[];
  /** Cache-Control sent with the site's files (an object's own cache-control header wins). */
  cacheControl?: string;
}

export type Versioning = 'Enabled' | 'Suspended' | null;

export interface Quotas {
  maxSize: number | null;
  maxObjects: number | null;
}

/** PublicAccessBlockConfiguration: each flag true blocks or ignores that kind of public access. */
export interface PublicAccessBlock {
  blockPublicAcls: boolean;
  ignorePublicAcls: boolean;
  blockPublicPolicy: boolean;
  restrictPublicBuckets: boolean;
}

/** A bucket policy as the client sent it (GetBucketPolicy returns it verbatim; validated at Put). */
export interface StoredPolicy {
  text: string;
}

export interface Bucket {
  id: string;
  created: number;
  deleted: Lww<boolean>;
  /** Global alias names pointing at this bucket (the alias table is authoritative). */
  aliases: LwwMap<boolean>;
  keys: LwwMap<Perm>;
  website: Lww<WebsiteConfig | null>;
  cors: Lww<CorsRule[] | null>;
  versioning: Lww<Versioning>;
  quotas: Lww<Quotas>;
  /** The key that created the bucket over S3 (absent on entries written before owners were
   *  recorded: bucketOwner() then falls back to the first key with the owner flag). */
  owner?: Lww<string | null>;
  /** The bucket's ACL grants; null = the default (the owner has FULL_CONTROL). */
  acl?: Lww<Grant[] | null>;
  policy?: Lww<StoredPolicy | null>;
  publicAccessBlock?: Lww<PublicAccessBlock | null>;
  /** Object lock (enabled at creation, or later on a versioned bucket) and its default retention. */
  objectLock?: Lww<ObjectLockConfig | null>;
  /** The bucket's tag set (Put/Get/DeleteBucketTagging); null = none. */
  tags?: Lww<TagSet | null>;
  /** The lifecycle configuration (model/lifecycle.ts), applied by the lifecycle worker; null = none. */
  lifecycle?: Lww<LifecycleConfig | null>;
}

const UNSET = { t: 0, v: null };

/** Merges an optional register; absent (older entries, older peers) is the unset register. */
function mergeOpt<T>(a: Lww<T | null> | undefined, b: Lww<T | null> | undefined): Lww<T | null> | undefined {
  if (!a && !b) return undefined;
  return mergeLww<T | null>(a ?? UNSET, b ?? UNSET);
}

export const bucketSchema: TableSchema<Bucket> = {
  name: 'bucket',
  replication: 'everywhere',
  partitionKey: () => 'bucket',
  sortKey: (b) => b.id,
  merge: (a, b) => ({
    id: a.id,
    created: Math.min(a.created, b.created),
    deleted: mergeLww(a.deleted, b.deleted),
    aliases: mergeLwwMap(a.aliases, b.aliases),
    keys: mergeLwwMap(a.keys, b.keys),
    website: mergeLww(a.website, b.website),
    cors: mergeLww(a.cors, b.cors),
    versioning: mergeLww(a.versioning, b.versioning),
    quotas: mergeLww(a.quotas, b.quotas),
    ...optional('owner', mergeOpt(a.owner, b.owner)),
    ...optional('acl', mergeOpt(a.acl, b.acl)),
    ...optional('policy', mergeOpt(a.policy, b.policy)),
    ...optional('publicAccessBlock', mergeOpt(a.publicAccessBlock, b.publicAccessBlock)),
    ...optional('objectLock', mergeOpt(a.objectLock, b.objectLock)),
    ...optional('tags', mergeOpt(a.tags, b.tags)),
    ...optional('lifecycle', mergeOpt(a.lifecycle, b.lifecycle)),
  }),
  isTombstone: (b) => b.deleted.v,
};

/** Absent registers stay absent, so an entry without them encodes as before. */
function optional<K extends string, V>(k: K, v: V | undefined): { [P in K]?: V } {
  return (v === undefined ? {} : { [k]: v }) as { [P in K]?: V };
}

/** The bucket's S3 owner: the recorded creator, else (older buckets) the first key given the
 *  owner flag (earliest grant, then id); null when none (e.g. an admin's bucket without owner). */
export function bucketOwner(b: Bucket): string | null {
  if (b.owner && b.owner.t > 0) return b.owner.v;
  let best: [string, number] | undefined;
  for (const [id, p] of Object.entries(b.keys)) {
    if (!p.v.owner) continue;
    if (!best || p.t < best[1] || (p.t === best[1] && id < best[0])) best = [id, p.t];
  }
  return best?.[0] ?? null;
}

export function newBucket(id: string, now: number): Bucket {
  return {
    id,
    created: now,
    deleted: { t: now, v: false },
    aliases: {},
    keys: {},
    website: { t: 0, v: null },
    cors: { t: 0, v: null },
    versioning: { t: 0, v: null },
    quotas: { t: 0, v: { maxSize: null, maxObjects: null } },
  };
}

/** S3 bucket naming rules (the DNS-compatible subset AWS enforces for new buckets). */
export function bucketNameError(name: string): string | undefined {
  if (name.length < 3 || name.length > 63) return 'bucket names must be 3 to 63 characters long';
  if (!/^[a-z0-9][a-z0-9.-]*[a-z0-9]$/.test(name))
    return 'bucket names may contain only lowercase letters, digits, dots and hyphens, and must start and end with a letter or digit';
  if (/\.\.|\.-|-\./.test(name)) return 'bucket names must not contain "..", ".-" or "-."';
  if (/^\d+\.\d+\.\d+\.\d+$/.test(name)) return 'bucket names must not look like an IP address';
  return undefined;
}
