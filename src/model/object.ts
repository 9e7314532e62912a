// The object table (sharded by bucket): (bucket id, key) → its versions. Merging takes the union
// of versions and advances each version's state; then drops what newer complete writes supersede,
// which gives S3 semantics for unversioned, versioned and suspended buckets alike.
import { pack } from 'msgpackr';
import type { TableSchema } from '../table/schema.ts';
import type { Lww } from '../table/crdt.ts';
import { newerObjectAcl, type ObjectAcl } from './acl.ts';
import { newerTags, type TagSet } from './tags.ts';
import type { SseCRecord } from './version.ts';
import { everLocked, mergeLock, type VersionLock } from './object-lock.ts';

export type VersionState = 'uploading' | 'complete' | 'aborted';

export interface ObjectMeta {
  size: number;
  etag: string; // without quotes
  /** Stored response headers: content-type, cache-control, content-disposition, content-encoding,
   *  content-language, expires, x-amz-meta-*, x-amz-website-redirect-location, checksums. */
  headers: [string, string][];
}

export interface ObjectVersion extends VersionLock {
  uuid: string; // also the S3 version id (or "null" when nullVersion)
  ts: number;
  state: VersionState;
  /** Written while versioning was not Enabled: replaces the previous null version. */
  nullVersion: boolean;
  deleteMarker: boolean;
  multipart: boolean;
  meta?: ObjectMeta;
  /** SSE-C: the data (inline or blocks) is encrypted with the customer's key (model/version.ts). */
  ssec?: SseCRecord;
  /** Inline bytes for small objects; otherwise the data is in the version table under uuid. */
  inline?: Buffer;
  /** The block list itself for objects of a few blocks: a GET then needs no version-table read. */
  blocks?: { part: number; offset: number; hash: Buffer; size: number }[];
  /** An unfinished multipart upload's parts: part number → its newest upload (LWW by ts, then part
   *  version uuid). Kept here, with the bucket's partition where the counters live, so parts count
   *  in usage from UploadPart until Complete or Abort; a re-upload replaces the number's bytes. */
  uploaded?: Record<string, UploadedPart>;
  /** The version's owner and ACL grants (absent: written before ACLs; the bucket owner's, private).
   *  Its own LWW register: PutObjectAcl rewrites it, nothing else about the version changes. */
  acl?: Lww<ObjectAcl>;
  /** The version's tag set (absent: none), its own LWW register like acl (PutObjectTagging). */
  tags?: Lww<TagSet>;
  // VersionLock adds retention, compliance and legalHold (model/object-lock.ts).
}

export interface UploadedPart {
  ts: number;
  version: string;
  size: number;
}

function newerPart(a: UploadedPart, b: UploadedPart): UploadedPart {
  if (a.ts !== b.ts) return b.ts > a.ts ? b : a;
  if (a.version !== b.version) return b.version > a.version ? b : a;
  return cmpBytes(a, b) >= 0 ? a : b;
}

function mergeUploaded(a: Record<string, UploadedPart>, b: Record<string, UploadedPart>): Record<string, UploadedPart> {
  // Part numbers are integer keys: JS keeps them in ascending order, so the encoding is canonical.
  const out = { ...a };
  for (const [k, p] of Object.entries(b)) out[k] = out[k] ? newerPart(out[k]!, p) : p;
  return out;
}

function cmpBytes(a: unknown, b: unknown): number {
  return Buffer.compare(pack(a), pack(b));
}

export interface ObjectEntry {
  bucket: string;
  key: string;
  versions: ObjectVersion[];
}

const RANK: Record<VersionState, number> = { uploading: 0, complete: 1, aborted: 2 };

/** Whether this form of a version is or was a complete object. An aborted version was, unless it
 *  is an abandoned multipart upload (whose meta.etag stays '' until Complete). Only such versions
 *  supersede older ones, so deleting the newest one never brings back what it replaced. */
export function wasComplete(v: ObjectVersion): boolean {
  if (v.state !== 'aborted') return v.state === 'complete';
  return !v.multipart || (v.meta?.etag ?? '') !== '';
}

/** The encoding of a version without its state: ties between forms are broken on it. */
function bodyBytes(v: ObjectVersion): Buffer {
  return pack({ ...v, state: '', uploaded: null });
}

/** Of two forms of one version, the later one (timestamp, then etag, then encoding without the
 *  state): of two Completes of one upload on two nodes, the later wins on every replica, and the
 *  version table keeps that completion's block list by the same order (cmpCompletion). */
function later(a: ObjectVersion, b: ObjectVersion): ObjectVersion {
  if (a.ts !== b.ts) return a.ts > b.ts ? a : b;
  const ea = a.meta?.etag ?? '';
  const eb = b.meta?.etag ?? '';
  if (ea !== eb) return ea > eb ? a : b;
  return Buffer.compare(bodyBytes(a), bodyBytes(b)) >= 0 ? a : b;
}

/** Two forms of one version (same uuid), as a semilattice so replicas agree whatever the order.
 *  The state only advances (uploading → complete | aborted, complete → aborted). The body comes
 *  from the forms that were complete if any (so an abort racing a Complete stays a version that
 *  was complete, with the completion's timestamp and data), else from the forms in that state;
 *  an unfinished upload's parts are the union. */
function mergeVersion(a: ObjectVersion, b: ObjectVersion): ObjectVersion {
  const state = RANK[a.state] >= RANK[b.state] ? a.state : b.state;
  const ca = wasComplete(a);
  const cb = wasComplete(b);
  if (ca || cb) {
    const body = ca && cb ? later(a, b) : ca ? a : b;
    return body.state === state ? body : { ...body, state };
  }
  if (state === 'aborted') return a.state !== 'aborted' ? b : b.state !== 'aborted' ? a : later(a, b);
  const base = later(a, b);
  if (!a.uploaded && !b.uploaded) return base;
  return { ...base, uploaded: mergeUploaded(a.uploaded ?? {}, b.uploaded ?? {}) };
}

export function versionOrder(a: ObjectVersion, b: ObjectVersion): number {
  return a.ts - b.ts || (a.uuid < b.uuid ? -1 : a.uuid > b.uuid ? 1 : 0);
}

/** Drops versions made invisible forever: older null versions once a newer null version was
 *  complete (an unfinished multipart upload too, as in Garage: a later write to the key in an
 *  unversioned bucket supersedes it and its parts are released), and non-multipart uploads older
 *  than the newest version that was complete. A version keeps one timestamp in all its forms
 *  (Complete keeps the upload's, DeleteObject does not bump), so every form of a dropped version
 *  would be dropped too; aborted versioned ones stay, as tombstones, so a replica that missed the
 *  deletion cannot bring them back. Hence prune(merge(x, y)) is the same whatever was pruned
 *  before, which is what makes the merge associative (src/model/laws.test.ts). */
export function prune(vs: ObjectVersion[]): ObjectVersion[] {
  let lastNull: ObjectVersion | undefined;
  let lastComplete: ObjectVersion | undefined;
  for (const v of vs) {
    if (!wasComplete(v)) continue;
    if (!lastComplete || versionOrder(v, lastComplete) > 0) lastComplete = v;
    if (v.nullVersion && (!lastNull || versionOrder(v, lastNull) > 0)) lastNull = v;
  }
  return vs.filter((v) => {
    // A version that ever had a lock register stays (a lock must outlive any newer write).
    if (everLocked(v)) return true;
    if (lastNull && v.nullVersion && versionOrder(v, lastNull) < 0) return false;
    if (lastComplete && v.state === 'uploading' && !v.multipart && versionOrder(v, lastComplete) < 0) return false;
    return true;
  });
}

/** The registers a version carries besides its body (written without changing the version). */
const REGISTERS = ['acl', 'tags', 'retention', 'compliance', 'legalHold'] as const;

/** A form with the given registers, in one key order: the registers last, in REGISTERS order. */
function withRegisters(v: ObjectVersion, regs: Partial<ObjectVersion>): ObjectVersion {
  const out = { ...v } as Record<string, unknown>;
  for (const k of REGISTERS) delete out[k];
  for (const k of REGISTERS) if (regs[k] !== undefined) out[k] = regs[k];
  return out as unknown as ObjectVersion;
}

/** Both forms with the merged registers (newer ACL and tags; the strongest lock), so the rest of
 *  the merge never depends on them and a replica never loses a lock or a tag update. */
function sameRegisters(a: ObjectVersion, b: ObjectVersion): [ObjectVersion, ObjectVersion] {
  if (REGISTERS.every((k) => a[k] === undefined && b[k] === undefined)) return [a, b];
  const regs: Partial<ObjectVersion> = { acl: newerObjectAcl(a.acl, b.acl), tags: newerTags(a.tags, b.tags), ...mergeLock(a, b) };
  return [withRegisters(a, regs), withRegisters(b, regs)];
}

export function mergeObject(a: ObjectEntry, b: ObjectEntry): ObjectEntry {
  const byId = new Map<string, ObjectVersion>();
  for (const v of [...a.versions, ...b.versions]) {
    const cur = byId.get(v.uuid);
    byId.set(v.uuid, cur ? mergeVersion(...sameRegisters(cur, v)) : v);
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
  // A write stamped with its node's clock must follow every other version a replica holds.
  newestOther: (cur, inc) => {
    let newest: number | undefined;
    for (const v of cur.versions) if ((newest === undefined || v.ts > newest) && !inc.versions.some((x) => x.uuid === v.uuid)) newest = v.ts;
    return newest;
  },
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
