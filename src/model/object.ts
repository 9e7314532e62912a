// The object table (sharded by bucket): (bucket id, key) → its versions. Merging takes the union
// of versions and advances each version's state; then drops what newer complete writes supersede,
// which gives S3 semantics for unversioned, versioned and suspended buckets alike.
import type { TableSchema } from '../table/schema.ts';

export type VersionState = 'uploading' | 'complete' | 'aborted';

export interface ObjectMeta {
  size: number;
  etag: string; // without quotes
  /** Stored response headers: content-type, cache-control, content-disposition, content-encoding,
   *  content-language, expires, x-amz-meta-*, x-amz-website-redirect-location, checksums. */
  headers: [string, string][];
}

export interface ObjectVersion {
  uuid: string; // also the S3 version id (or "null" when nullVersion)
  ts: number;
  state: VersionState;
  /** Written while versioning was not Enabled: replaces the previous null version. */
  nullVersion: boolean;
  deleteMarker: boolean;
  multipart: boolean;
  meta?: ObjectMeta;
  /** Inline bytes for small objects; otherwise the data is in the version table under uuid. */
  inline?: Buffer;
  /** The block list itself for objects of a few blocks: a GET then needs no version-table read. */
  blocks?: { part: number; offset: number; hash: Buffer; size: number }[];
  /** An unfinished multipart upload's parts: part number → its newest upload (LWW by ts, then part
   *  version uuid). Kept here, with the bucket's partition where the counters live, so parts count
   *  in usage from UploadPart until Complete or Abort; a re-upload replaces the number's bytes. */
  uploaded?: Record<string, UploadedPart>;
}

export interface UploadedPart {
  ts: number;
  version: string;
  size: number;
}

function newerPart(a: UploadedPart, b: UploadedPart): UploadedPart {
  return b.ts > a.ts || (b.ts === a.ts && b.version > a.version) ? b : a;
}

function mergeUploaded(a: Record<string, UploadedPart>, b: Record<string, UploadedPart>): Record<string, UploadedPart> {
  const out = { ...a };
  for (const [k, p] of Object.entries(b)) out[k] = out[k] ? newerPart(out[k]!, p) : p;
  return out;
}

export interface ObjectEntry {
  bucket: string;
  key: string;
  versions: ObjectVersion[];
}

const RANK: Record<VersionState, number> = { uploading: 0, complete: 1, aborted: 2 };

function mergeVersion(a: ObjectVersion, b: ObjectVersion): ObjectVersion {
  // A version moves uploading → complete | aborted, never back; the later state carries the data.
  if (RANK[a.state] !== RANK[b.state]) return RANK[a.state] > RANK[b.state] ? a : b;
  // Parts recorded on different replicas: the union (keys are unique per part upload).
  if (a.state === 'uploading' && (a.uploaded || b.uploaded)) return { ...a, uploaded: mergeUploaded(a.uploaded ?? {}, b.uploaded ?? {}) };
  return a;
}

export function versionOrder(a: ObjectVersion, b: ObjectVersion): number {
  return a.ts - b.ts || (a.uuid < b.uuid ? -1 : a.uuid > b.uuid ? 1 : 0);
}

/** Drops versions made invisible forever: an older null version once a newer complete null
 *  version exists, and non-multipart uploads older than the newest complete version. Monotone,
 *  so prune(merge(x, y)) is the same whatever was pruned before. */
export function prune(vs: ObjectVersion[]): ObjectVersion[] {
  let lastNull: ObjectVersion | undefined;
  let lastComplete: ObjectVersion | undefined;
  for (const v of vs) {
    if (v.state !== 'complete') continue;
    if (!lastComplete || versionOrder(v, lastComplete) > 0) lastComplete = v;
    if (v.nullVersion && (!lastNull || versionOrder(v, lastNull) > 0)) lastNull = v;
  }
  return vs.filter((v) => {
    if (lastNull && v.nullVersion && versionOrder(v, lastNull) < 0 && !(v.multipart && v.state === 'uploading')) return false;
    if (lastComplete && v.state === 'uploading' && !v.multipart && versionOrder(v, lastComplete) < 0) return false;
    if (lastComplete && v.state === 'aborted' && versionOrder(v, lastComplete) < 0) return false;
    return true;
  });
}

export function mergeObject(a: ObjectEntry, b: ObjectEntry): ObjectEntry {
  const byId = new Map<string, ObjectVersion>();
  for (const v of [...a.versions, ...b.versions]) {
    const cur = byId.get(v.uuid);
    byId.set(v.uuid, cur ? mergeVersion(cur, v) : v);
  }
  const versions = prune([...byId.values()].sort(versionOrder));
  return { bucket: a.bucket, key: a.key, versions };
}

export const objectSchema: TableSchema<ObjectEntry> = {
  name: 'object',
  replication: 'sharded',
  partitionKey: (o) => o.bucket,
  sortKey: (o) => o.key,
  merge: mergeObject,
  // Only removed versions and "null" delete markers left: nothing S3 would show in an
  // unversioned bucket, so the entry can go once every replica agrees.
  isTombstone: (o) => o.versions.every((v) => v.state === 'aborted' || (v.state === 'complete' && v.deleteMarker && v.nullVersion)),
};

/** The current version as GET without versionId sees it (may be a delete marker), or undefined. */
export function currentVersion(o: ObjectEntry | undefined): ObjectVersion | undefined {
  if (!o) return undefined;
  for (let i = o.versions.length - 1; i >= 0; i--) {
    if (o.versions[i]!.state === 'complete') return o.versions[i];
  }
  return undefined;
}

/** The live data version: current and not a delete marker. */
export function liveVersion(o: ObjectEntry | undefined): ObjectVersion | undefined {
  const v = currentVersion(o);
  return v && !v.deleteMarker ? v : undefined;
}

export function versionIdOf(v: ObjectVersion): string {
  return v.nullVersion ? 'null' : v.uuid;
}

export function findVersion(o: ObjectEntry | undefined, versionId: string): ObjectVersion | undefined {
  if (!o) return undefined;
  const complete = o.versions.filter((v) => v.state === 'complete');
  if (versionId === 'null') return complete.filter((v) => v.nullVersion).at(-1);
  return complete.find((v) => v.uuid === versionId && !v.nullVersion);
}

/** Bytes the parts of an unfinished multipart upload hold (the newest copy of each part number). */
export function uploadingBytes(v: ObjectVersion): number {
  let n = 0;
  for (const p of Object.values(v.uploaded ?? {})) n += p.size;
  return n;
}

/** Bytes and object count an entry contributes to its bucket's counters (all stored versions).
 *  An unfinished multipart upload counts as one object holding its parts' bytes: it bounds how
 *  many uploads a quota with maxObjects lets a tenant open, and Complete adds nothing to it. */
export function usage(o: ObjectEntry | undefined): { objects: number; bytes: number } {
  let objects = 0;
  let bytes = 0;
  for (const v of o?.versions ?? []) {
    if (v.state === 'uploading' && v.multipart) {
      objects++;
      bytes += uploadingBytes(v);
      continue;
    }
    if (v.state !== 'complete' || v.deleteMarker) continue;
    objects++;
    bytes += v.meta?.size ?? 0;
  }
  return { objects, bytes };
}
