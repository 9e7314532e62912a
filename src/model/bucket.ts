// The bucket table (replicated everywhere): identity, aliases, key permissions and per-bucket
// settings (website, CORS, versioning, quotas), each an LWW register so edits merge.
import { mergeLww, mergeLwwMap, type Lww, type LwwMap } from '../table/crdt.ts';
import type { TableSchema } from '../table/schema.ts';

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
  }),
  isTombstone: (b) => b.deleted.v,
};

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
