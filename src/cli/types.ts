// The admin API response shapes the CLI reads (Garage admin API v2 names).

export interface Perm {
  read: boolean;
  write: boolean;
  owner: boolean;
}

export interface KeyListItem {
  id: string;
  name: string;
  created?: string;
  expiration?: string | null;
  expired?: boolean;
}

export interface KeyInfo {
  accessKeyId: string;
  name: string;
  created?: string;
  secretAccessKey?: string;
  expiration?: string | null;
  expired?: boolean;
  permissions: { createBucket?: boolean };
  buckets: { id: string; globalAliases: string[]; permissions: Perm }[];
}

export interface BucketListItem {
  id: string;
  created?: string;
  globalAliases: string[];
}

export interface BucketInfo {
  id: string;
  created?: string;
  globalAliases: string[];
  websiteAccess: boolean;
  websiteConfig: { indexDocument: string | null; errorDocument: string | null } | null;
  keys: { accessKeyId: string; name: string; permissions: Perm }[];
  objects: number;
  bytes: number;
  quotas: { maxSize: number | null; maxObjects: number | null };
}
