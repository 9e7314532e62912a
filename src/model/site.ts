// Sites and atomic deploys. A site is a website bucket plus an entry in the `site` table
// (replicated everywhere). A deploy's files are stored in the site's bucket content-addressed, as
// `.grenier/blobs/<sha256>`: unchanged files cost nothing, identical files are stored once, and an
// interrupted upload resumes by skipping the blobs already there. The deploy itself is a manifest
// object `.grenier/deploys/<id>.json` (path → sha256, size, type): sharded with the bucket, so
// 50,000 sites do not bloat the everywhere tables. Publishing writes the manifest, then switches
// the site entry's `deploys` register {current, previous} in ONE insert — both pointers in one
// LWW register so two publishes never interleave — and rollback is one insert swapping them back.
// Blobs count against the quota like any object; after a publish, blobs no longer referenced by
// the current or previous manifest are deleted (GC).
import { createHash } from 'node:crypto';
import { Readable, Transform } from 'node:stream';
import { Table } from '../table/table.ts';
import type { StoredBlock } from '../block/manager.ts';
import { mergeLww, type Lww } from '../table/crdt.ts';
import type { TableSchema } from '../table/schema.ts';
import type { Store } from './store.ts';
import type { Bucket, WebsiteConfig } from './bucket.ts';
import type { AccessKey } from './key.ts';
import { liveVersion, type ObjectEntry, type ObjectVersion } from './object.ts';
import { createBucket, deleteBucket } from './bucket-ops.ts';
import { ModelError } from './errors.ts';
import { commitVersion, writtenData } from './commit.ts';
import { countLocked, describeLocked, emptyLockedCount, lockedVersions, type LockedCount } from './locked-versions.ts';
import { DEFAULT_SITE_QUOTA, formatSize, quotaRequestSchema, type QuotaRequest } from './quota-request.ts';
import { capBytes, remainingQuota } from './write-cap.ts';

export interface Deploys {
  current: string | null;
  previous: string | null;
}

export interface SiteEntry {
  /** The site's bucket id (sort key). */
  bucket: string;
  domain: string;
  created: number;
  deleted: Lww<boolean>;
  deploys: Lww<Deploys>;
}

export const siteSchema: TableSchema<SiteEntry> = {
  name: 'site',
  replication: 'everywhere',
  partitionKey: () => 'site',
  sortKey: (s) => s.bucket,
  merge: (a, b) => ({
    bucket: a.bucket,
    domain: a.domain < b.domain ? a.domain : b.domain,
    created: Math.min(a.created, b.created),
    deleted: mergeLww(a.deleted, b.deleted),
    deploys: mergeLww(a.deploys, b.deploys),
  }),
  isTombstone: (s) => s.deleted.v,
};

export interface SiteTables {
  sites: Table<SiteEntry>;
  requests: Table<QuotaRequest>;
}

/** The site and quota_request tables of a store (declared in Store, so they replicate like the rest). */
export function siteTables(store: Store): SiteTables {
  return { sites: store.sites, requests: store.quotaRequests };
}

export const BLOB_PREFIX = '.grenier/blobs/';
export const DEPLOY_PREFIX = '.grenier/deploys/';
export const blobKey = (sha256: string): string => BLOB_PREFIX + sha256;
export const deployKey = (id: string): string => `${DEPLOY_PREFIX}${id}.json`;

export interface ManifestFile {
  sha256: string;
  size: number;
  type: string;
}

export interface Manifest {
  id: string;
  created: number;
  files: Record<string, ManifestFile>;
}

const SHA = /^[0-9a-f]{64}$/;

export function isSha256(s: unknown): s is string {
  return typeof s === 'string' && SHA.test(s);
}

/** Why a manifest path cannot be served (undefined: fine). Paths are keys as the web server looks
 *  them up: relative, '/'-separated, no '.' or '..' segments, nothing under .grenier/. */
export function manifestPathError(p: string): string | undefined {
  if (p === '' || Buffer.byteLength(p) > 1024) return 'must be 1 to 1024 bytes';
  if (p.startsWith('/')) return 'must be relative (no leading "/")';
  if (p.includes('\\') || p.includes('\0')) return 'must not contain "\\" or NUL';
  if (p.split('/').some((s) => s === '' || s === '.' || s === '..')) return 'must not contain empty, "." or ".." segments';
  if (p === '.grenier' || p.startsWith('.grenier/')) return 'the .grenier/ directory is reserved';
  return undefined;
}

/** Checks a client-supplied file list; the error names the first bad path or field. */
export function validateFiles(files: unknown): Record<string, ManifestFile> {
  if (typeof files !== 'object' || files === null || Array.isArray(files)) throw new ModelError('InvalidRequest', '"files" must be an object of path → {sha256, size, type}');
  const out: Record<string, ManifestFile> = {};
  for (const [p, f] of Object.entries(files as Record<string, unknown>)) {
    const why = manifestPathError(p);
    if (why) throw new ModelError('InvalidRequest', `file path "${p}" ${why}`);
    const x = f as Partial<ManifestFile> | null;
    if (!x || !isSha256(x.sha256)) throw new ModelError('InvalidRequest', `file "${p}": sha256 must be 64 lowercase hex characters`);
    if (!Number.isSafeInteger(x.size) || x.size! < 0) throw new ModelError('InvalidRequest', `file "${p}": size must be a non-negative integer`);
    if (typeof x.type !== 'string' || x.type.length > 255 || /[\r\n]/.test(x.type)) throw new ModelError('InvalidRequest', `file "${p}": type must be a one-line string`);
    out[p] = { sha256: x.sha256, size: x.size!, type: x.type };
  }
  if (Object.keys(out).length === 0) throw new ModelError('InvalidRequest', 'a deploy needs at least one file');
  return out;
}

export interface ManifestDiff {
  /** Distinct contents not in the current deploy (what may need uploading). */
  upload: string[];
  added: string[];
  changed: string[];
  removed: string[];
  unchanged: number;
}

/** What a new file list changes relative to the current deploy. Content that the current deploy
 *  already has under any path needs no upload (content addressing). */
export function diffManifest(current: Record<string, ManifestFile> | null, next: Record<string, ManifestFile>): ManifestDiff {
  const cur = current ?? {};
  const have = new Set(Object.values(cur).map((f) => f.sha256));
  const upload = new Set<string>();
  const d: ManifestDiff = { upload: [], added: [], changed: [], removed: [], unchanged: 0 };
  for (const [p, f] of Object.entries(next)) {
    const old = cur[p];
    if (!old) d.added.push(p);
    else if (old.sha256 !== f.sha256) d.changed.push(p);
    else d.unchanged++;
    if (!have.has(f.sha256)) upload.add(f.sha256);
  }
  for (const p of Object.keys(cur)) if (!(p in next)) d.removed.push(p);
  d.upload = [...upload].sort();
  d.added.sort();
  d.changed.sort();
  d.removed.sort();
  return d;
}

/** A sortable, unique deploy id: time first so listings read in order. */
export function newDeployId(now: number, random: string): string {
  return `${new Date(now).toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}-${random.slice(0, 8)}`;
}

// ---- site life cycle -------------------------------------------------------------------------

export interface SiteRef {
  bucket: Bucket;
  site: SiteEntry;
}

export async function findSite(store: Store, domain: string): Promise<SiteRef> {
  const name = domain.trim().toLowerCase();
  const b = await store.bucketByName(name);
  const s = b ? await siteTables(store).sites.get('site', b.id) : undefined;
  if (!b || !s || s.deleted.v) throw new ModelError('NoSuchSite', `no site "${domain}" (grenier site list shows the sites)`);
  return { bucket: b, site: s };
}

export async function listSites(store: Store): Promise<SiteEntry[]> {
  return (await siteTables(store).sites.range('site')).filter((s) => !s.deleted.v);
}

export interface CreateSiteOptions {
  indexDocument: string;
  errorDocument?: string;
  maxSize?: number;
}

/** A bucket named after the domain, website on, owner key read/write/owner, 50 MB quota. */
export async function createSite(store: Store, domain: string, owner: AccessKey, o: CreateSiteOptions): Promise<SiteRef> {
  const name = domain.trim().toLowerCase();
  const created = await createBucket(store, name, owner);
  const t = store.ts();
  const website: WebsiteConfig = { indexDocument: o.indexDocument };
  if (o.errorDocument) website.errorDocument = o.errorDocument;
  const bucket = await store.buckets.insert({
    ...created,
    website: { t, v: website },
    quotas: { t, v: { maxSize: o.maxSize ?? DEFAULT_SITE_QUOTA, maxObjects: null } },
  });
  const site = await siteTables(store).sites.insert({
    bucket: bucket.id,
    domain: name,
    created: t,
    deleted: { t, v: false },
    deploys: { t, v: { current: null, previous: null } },
  });
  return { bucket, site };
}

/** Removes every object of the site (all versions, unfinished uploads), then the bucket and entry.
 *  Refused, before anything is removed, while object lock keeps any of its versions. */
export async function deleteSite(store: Store, ref: SiteRef): Promise<void> {
  const locked = await lockedVersions(store, ref.bucket.id);
  if (locked.total > 0) throw siteLocked(ref, locked);
  let after: string | undefined;
  // A version locked since the count is kept too (deleteBucket then refuses the non-empty bucket).
  const late = emptyLockedCount();
  const now = Date.now();
  for (;;) {
    const objs = await store.objects.range(ref.bucket.id, { limit: 1000, after });
    for (const o of objs) {
      const gone = o.versions.filter((v) => v.state !== 'aborted' && !countLocked(late, v, now)).map((v) => ({ ...v, state: 'aborted' as const }));
      if (gone.length) await store.objects.insert({ bucket: o.bucket, key: o.key, versions: gone });
    }
    if (objs.length < 1000) break;
    after = objs.at(-1)!.key;
  }
  if (late.total > 0) throw siteLocked(ref, late, 'they were locked while the site was being deleted: the other versions are gone, these are kept');
  await deleteBucket(store, (await store.bucketById(ref.bucket.id)) ?? ref.bucket);
  const t = store.ts();
  await siteTables(store).sites.insert({ ...ref.site, deleted: { t: Math.max(t, ref.site.deleted.t + 1), v: true } });
}

function siteLocked(ref: SiteRef, c: LockedCount, what = 'nothing was deleted'): ModelError {
  return new ModelError(
    'ObjectLocked',
    `site ${ref.site.domain} holds ${describeLocked(c)}: ${what}. Delete the site once their retention has ended ` +
      '(legal holds and GOVERNANCE retention can be removed through S3 by a key allowed to: PutObjectLegalHold, PutObjectRetention with bypass)',
  );
}

// ---- quota -----------------------------------------------------------------------------------

/** The site-side twin of the S3 API's checkQuota: refuses a write that would take the bucket
 *  over its quota, saying how to raise it. Called before and after the data is stored. */
export async function checkSiteQuota(store: Store, b: Bucket, domain: string, addBytes: number, addObjects: number): Promise<void> {
  const q = b.quotas.v;
  if (q.maxSize === null && q.maxObjects === null) return;
  const u = await store.usage(b.id);
  if (q.maxSize !== null && addBytes > 0 && u.bytes + addBytes > q.maxSize)
    throw new ModelError(
      'QuotaExceeded',
      `quota of ${domain} exceeded: this upload needs ${formatSize(addBytes)}, ${formatSize(u.bytes)} of ${formatSize(q.maxSize)} are used ` +
        `(the current and previous deploys count). Raise it with: grenier site quota ${domain} --max-size <size> (owners: up to 200 MB), or --request <size> --reason "…"`,
    );
  if (q.maxObjects !== null && addObjects > 0 && u.objects + addObjects > q.maxObjects)
    throw new ModelError('QuotaExceeded', `quota of ${domain} exceeded: ${u.objects} of ${q.maxObjects} objects are stored`);
}

// ---- blobs and manifests ---------------------------------------------------------------------

async function liveObject(store: Store, bucketId: string, key: string): Promise<ObjectVersion | undefined> {
  const v = liveVersion(await store.objects.get(bucketId, key));
  return v?.meta ? v : undefined;
}

export async function blobExists(store: Store, bucketId: string, sha256: string): Promise<boolean> {
  return (await liveObject(store, bucketId, blobKey(sha256))) !== undefined;
}

export async function missingBlobs(store: Store, bucketId: string, shas: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const s of new Set(shas)) if (!(await blobExists(store, bucketId, s))) out.push(s);
  return out.sort();
}

/** Commits a complete version at `key`, ordered after whatever the entry already holds
 *  (model/commit.ts: references first; released if the object entry is never sent). */
async function commitObject(
  store: Store,
  b: Bucket,
  key: string,
  uuid: string,
  data: { inline?: Buffer; blocks: StoredBlock[] },
  meta: { size: number; etag: string; type: string },
): Promise<void> {
  const v: ObjectVersion = {
    uuid,
    ts: 0, // stamped when committed
    state: 'complete',
    nullVersion: b.versioning.v !== 'Enabled',
    deleteMarker: false,
    multipart: false,
    meta: { size: meta.size, etag: meta.etag, headers: [['content-type', meta.type]] },
  };
  await commitVersion(store, { bucket: b, key, version: v, data: writtenData(data), existing: 'read', stamp: 'now' });
}

/** Removes an object's live version for good (its data and its share of the quota). */
async function removeObject(store: Store, bucketId: string, key: string): Promise<number> {
  const o = await store.objects.get(bucketId, key);
  const gone = (o?.versions ?? []).filter((v) => v.state === 'complete').map((v) => ({ ...v, state: 'aborted' as const }));
  if (gone.length === 0) return 0;
  await store.objects.insert({ bucket: bucketId, key, versions: gone });
  return gone.reduce((n, v) => n + (v.deleteMarker ? 0 : (v.meta?.size ?? 0)), 0);
}

export interface BlobResult {
  stored: boolean;
  size: number;
}

/** Stores one blob from a stream. Quota is checked with the declared size before reading, while
 *  streaming (the body stops at the first byte past the room left or limits.object_bytes_max),
 *  and with the real size after the data is stored, before it is committed (like S3 PUT). The body
 *  must hash to `sha256`, so a blob's name always tells its content. A refused blob's blocks are
 *  deleted at once. */
export async function putBlob(store: Store, ref: SiteRef, sha256: string, body: AsyncIterable<Buffer>, declared: number | undefined): Promise<BlobResult> {
  if (!isSha256(sha256)) throw new ModelError('InvalidRequest', 'sha256 must be 64 lowercase hex characters');
  const b = ref.bucket;
  const existing = await liveObject(store, b.id, blobKey(sha256));
  if (existing) return { stored: false, size: existing.meta!.size };
  const maxBytes = store.limits.object_bytes_max;
  const tooLarge = () => new ModelError('EntityTooLarge', `a file may not be larger than ${formatSize(maxBytes)} (limits.object_bytes_max)`);
  if (declared !== undefined && declared > maxBytes) throw tooLarge();
  await checkSiteQuota(store, b, ref.site.domain, declared ?? 0, 1);
  const room = await remainingQuota(store, b);
  const sha = createHash('sha256');
  const md5 = createHash('md5');
  let size = 0;
  const meter = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      size += chunk.length;
      sha.update(chunk);
      md5.update(chunk);
      cb(null, chunk);
    },
  });
  const src = Readable.from(body);
  src.on('error', (e) => meter.destroy(e));
  const uuid = store.newUuid();
  const over = (which: 'quota' | 'size') =>
    which === 'size'
      ? tooLarge()
      : new ModelError('QuotaExceeded', `quota of ${ref.site.domain} exceeded: this upload passed the ${formatSize(b.quotas.v.maxSize ?? 0)} quota while it was sent, and was not stored`);
  let data: Awaited<ReturnType<Store['writeData']>> | undefined;
  try {
    data = await store.writeData(capBytes(src.pipe(meter), { quota: room, size: maxBytes }, over), uuid);
    const got = sha.digest('hex');
    if (got !== sha256) throw new ModelError('BadDigest', `the uploaded data hashes to ${got}, not to the announced ${sha256}`);
    if (declared !== undefined && declared !== size) throw new ModelError('IncompleteBody', `received ${size} bytes, ${declared} were announced`);
    await checkSiteQuota(store, (await store.bucketById(b.id)) ?? b, ref.site.domain, size, 1);
  } catch (e) {
    // Nothing points at these blocks yet: give the space back now.
    const landed = data?.blocks ?? (e as { storedBlocks?: StoredBlock[] } | null)?.storedBlocks ?? [];
    await store.releaseRefs(uuid, landed).catch(() => {});
    throw e;
  }
  await commitObject(store, b, blobKey(sha256), uuid, data, { size, etag: md5.digest('hex'), type: 'application/octet-stream' });
  return { stored: true, size };
}

async function readAll(store: Store, v: ObjectVersion): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of await store.readData(v, 0, v.meta!.size)) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

export async function loadManifest(store: Store, bucketId: string, id: string): Promise<Manifest | undefined> {
  const v = await liveObject(store, bucketId, deployKey(id));
  if (!v) return undefined;
  return JSON.parse((await readAll(store, v)).toString('utf8')) as Manifest;
}

export interface PublishResult {
  id: string;
  previous: string | null;
  files: number;
  gc: GcResult;
}

/** Publishes a file list whose blobs are all uploaded: writes the manifest, then switches the site
 *  in one insert (the previous current deploy is kept for rollback), then collects garbage. */
export async function publishDeploy(store: Store, ref: SiteRef, files: Record<string, ManifestFile>, now = Date.now()): Promise<PublishResult> {
  const shas = [...new Set(Object.values(files).map((f) => f.sha256))];
  const missing = await missingBlobs(store, ref.bucket.id, shas);
  if (missing.length)
    throw new ModelError('MissingBlobs', `${missing.length} file content(s) of this deploy are not uploaded (first: ${missing[0]}); run the deploy again`);
  const id = newDeployId(now, store.newUuid());
  const m: Manifest = { id, created: now, files };
  const text = Buffer.from(JSON.stringify(m));
  await checkSiteQuota(store, ref.bucket, ref.site.domain, text.length, 1);
  const uuid = store.newUuid();
  const data = await store.writeData(Readable.from([text]), uuid);
  await commitObject(store, ref.bucket, deployKey(id), uuid, data, { size: text.length, etag: createHash('md5').update(text).digest('hex'), type: 'application/json' });
  const cur = (await siteTables(store).sites.get('site', ref.site.bucket)) ?? ref.site;
  const previous = cur.deploys.v.current;
  const t = Math.max(store.ts(), cur.deploys.t + 1);
  store.observeTs(t);
  await siteTables(store).sites.insert({ ...cur, deploys: { t, v: { current: id, previous } } });
  const gc = await collectGarbage(store, ref.bucket.id);
  return { id, previous, files: Object.keys(files).length, gc };
}

/** Makes the previous deploy current again (and the current one previous: rolling back twice
 *  rolls forward). One insert, nothing copied. */
export async function rollback(store: Store, ref: SiteRef): Promise<Deploys> {
  const cur = (await siteTables(store).sites.get('site', ref.site.bucket)) ?? ref.site;
  const { current, previous } = cur.deploys.v;
  if (!previous) throw new ModelError('NoPreviousDeploy', `site ${cur.domain} has no previous deploy to roll back to`);
  const t = Math.max(store.ts(), cur.deploys.t + 1);
  store.observeTs(t);
  const next: Deploys = { current: previous, previous: current };
  await siteTables(store).sites.insert({ ...cur, deploys: { t, v: next } });
  return next;
}

export interface GcResult {
  blobs: number;
  bytes: number;
  manifests: number;
}

/** Blobs that an interrupted or concurrent deploy uploaded but no manifest references yet are
 *  kept this long, so resuming (or the other deploy publishing) finds them. */
export const ORPHAN_GRACE_MS = 24 * 3600_000;

/** Deletes manifests other than current/previous, and blobs neither references: at once if a
 *  dropped manifest referenced them, after ORPHAN_GRACE_MS if none ever did. */
export async function collectGarbage(store: Store, bucketId: string, now = Date.now()): Promise<GcResult> {
  const s = await siteTables(store).sites.get('site', bucketId);
  if (!s) return { blobs: 0, bytes: 0, manifests: 0 };
  const keep = new Set([s.deploys.v.current, s.deploys.v.previous].filter((x): x is string => x !== null));
  const referenced = new Set<string>();
  const dropped = new Set<string>();
  const res: GcResult = { blobs: 0, bytes: 0, manifests: 0 };
  const manifests = await scan(store, bucketId, DEPLOY_PREFIX);
  for (const o of manifests) {
    const id = o.key.slice(DEPLOY_PREFIX.length).replace(/\.json$/, '');
    const m = await loadManifest(store, bucketId, id).catch(() => undefined);
    if (!m) continue;
    const into = keep.has(id) ? referenced : dropped;
    for (const f of Object.values(m.files)) into.add(f.sha256);
  }
  // A current or previous manifest that cannot be read must not let its blobs be deleted.
  for (const id of keep) if (!manifests.some((o) => o.key === deployKey(id))) return res;
  for (const o of manifests) {
    const id = o.key.slice(DEPLOY_PREFIX.length).replace(/\.json$/, '');
    if (keep.has(id)) continue;
    await removeObject(store, bucketId, o.key);
    res.manifests++;
  }
  for (const o of await scan(store, bucketId, BLOB_PREFIX)) {
    const sha = o.key.slice(BLOB_PREFIX.length);
    if (referenced.has(sha)) continue;
    const v = liveVersion(o);
    if (!dropped.has(sha) && v && now - v.ts < ORPHAN_GRACE_MS) continue;
    const n = await removeObject(store, bucketId, o.key);
    res.blobs++;
    res.bytes += n;
  }
  return res;
}

async function scan(store: Store, bucketId: string, prefix: string): Promise<ObjectEntry[]> {
  const out: ObjectEntry[] = [];
  let after: string | undefined;
  for (;;) {
    const page = await store.objects.range(bucketId, { prefix, limit: 1000, after });
    for (const o of page) if (liveVersion(o)) out.push(o);
    if (page.length < 1000) return out;
    after = page.at(-1)!.key;
  }
}

export interface DeployStats {
  id: string;
  created: number;
  files: number;
  bytes: number;
}

export function deployStats(m: Manifest): DeployStats {
  const files = Object.values(m.files);
  return { id: m.id, created: m.created, files: files.length, bytes: files.reduce((n, f) => n + f.size, 0) };
}

/** Bytes the retained deploys take, each content counted once (what the quota sees of them). */
export function retainedBytes(ms: Manifest[]): number {
  const seen = new Map<string, number>();
  for (const m of ms) for (const f of Object.values(m.files)) seen.set(f.sha256, f.size);
  let n = 0;
  for (const s of seen.values()) n += s;
  return n;
}
