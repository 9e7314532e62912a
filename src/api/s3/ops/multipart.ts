// S3 multipart uploads. An upload is an object version in state 'uploading' (uuid = UploadId)
// plus an mpu entry listing the parts; each part streams into its own version's blocks, and
// completing reuses those blocks under the upload id, so no byte is copied or held in memory.
import { createHash } from 'node:crypto';
import type { Bucket } from '../../../model/bucket.ts';
import { latestParts, type MpuEntry, type PartInfo } from '../../../model/mpu.ts';
import { versionIdOf, type ObjectVersion } from '../../../model/object.ts';
import { isoDate } from '../../../util/time.ts';
import type { BlockRef, Completion } from '../../../model/version.ts';
import type { StoredBlock } from '../../../block/manager.ts';
import { readSmallBody, requireBucket, requireKey, sendEmpty, sendXml, type S3Ctx } from '../context.ts';
import { S3Error } from '../errors.ts';
import { children, childText, parseXml, type XmlNode } from '../xml.ts';
import { checkQuota, checkWritePreconditions, newVersion, putVersion, storedHeaders } from './common.ts';
import { newObjectAcl } from './acl.ts';
import { newVersionRegisters } from './object-lock.ts';
import { checkCopyConditions, parseCopyRange, resolveCopySource } from './copy-source.ts';
import { Store } from '../../../model/store.ts';
import { abortUploadLocked, withUploadLock } from '../../../model/uploads.ts';
import { commitVersion } from '../../../model/commit.ts';
import { capBytes, remainingQuota } from '../../../model/write-cap.ts';
import { overLimitError } from './object.ts';
import { log } from '../../../util/log.ts';
import { requireClientWaiting } from './late-write.ts';
import { owner, ownerNames } from './owner.ts';
import { checkKeyFor, keyHeaders, newNonce, newRecord, requestKey, sseCEtag, type CustomerKey } from '../sse-c.ts';
import { cryptStream } from '../../../model/sse-c-cipher.ts';
import { requestScheme } from '../forwarded.ts';
import { hashPool, STREAM_OFFLOAD_BYTES } from '../../../util/hash-pool.ts';

/** S3's limits: every part but the last must be at least 5 MiB, none above 5 GiB. */
export const MIN_PART_SIZE = 5 * 1024 * 1024;
export const MAX_PART_SIZE = 5 * 1024 * 1024 * 1024;
export const MAX_PART_NUMBER = 10_000;
const MAX_LIST = 1000;

function headerOf(ctx: S3Ctx, name: string): string | undefined {
  const v = ctx.req.headers[name];
  return Array.isArray(v) ? v.join(',') : v;
}

/** S3's encoding-type=url: percent-encode, but keep "/" readable as AWS does. */
function urlEncode(s: string): string {
  return encodeURIComponent(s).replace(/%2F/g, '/');
}

function encoder(ctx: S3Ctx): (s: string) => string {
  const et = ctx.query.get('encoding-type');
  if (et === null) return (s) => s;
  if (et !== 'url') throw new S3Error('InvalidArgument', 'Invalid Encoding Method specified in Request', { ArgumentName: 'encoding-type', ArgumentValue: et });
  return urlEncode;
}

function intParam(ctx: S3Ctx, name: string, dflt: number, min: number, max: number): number {
  const v = ctx.query.get(name);
  if (v === null) return dflt;
  if (!/^\d{1,9}$/.test(v) || Number(v) < min)
    throw new S3Error('InvalidArgument', `Argument ${name} must be an integer between ${min} and 2147483647`, { ArgumentName: name, ArgumentValue: v });
  return Math.min(Number(v), max);
}

function uploadIdParam(ctx: S3Ctx): string {
  const id = ctx.query.get('uploadId');
  if (id === null || id === '') throw new S3Error('InvalidArgument', 'uploadId is required', { ArgumentName: 'uploadId' });
  return id;
}

function noSuchUpload(uploadId: string): S3Error {
  return new S3Error(
    'NoSuchUpload',
    'The specified multipart upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.',
    { UploadId: uploadId },
  );
}

/** The live mpu entry of this bucket + key, or NoSuchUpload. */
async function openUpload(ctx: S3Ctx, b: Bucket, key: string, uploadId: string): Promise<MpuEntry> {
  // Upload ids are our own hex uuids; anything else cannot exist (and must not reach the db as a key).
  if (!/^[0-9a-f]{32}$/.test(uploadId)) throw noSuchUpload(uploadId);
  const m = await ctx.store.mpus.get(uploadId, '');
  if (!m || m.deleted || m.bucket !== b.id || m.key !== key) throw noSuchUpload(uploadId);
  return m;
}

async function uploadingVersion(ctx: S3Ctx, b: Bucket, key: string, uploadId: string): Promise<ObjectVersion | undefined> {
  const o = await ctx.store.objects.get(b.id, key);
  return o?.versions.find((v) => v.uuid === uploadId && v.multipart && v.state === 'uploading');
}


/** The key a part of this upload must bring (sse-c.ts): the upload's own, or none. */
async function partKey(ctx: S3Ctx, b: Bucket, key: string, uploadId: string): Promise<CustomerKey | undefined> {
  const k = requestKey(ctx);
  // No version: the upload was superseded (its Complete will fail); parts are taken as before.
  const v = await uploadingVersion(ctx, b, key, uploadId);
  checkKeyFor(v?.ssec, k);
  return k;
}

function partNumberParam(ctx: S3Ctx): number {
  const v = ctx.query.get('partNumber');
  if (v === null || !/^\d{1,5}$/.test(v) || Number(v) < 1 || Number(v) > MAX_PART_NUMBER)
    throw new S3Error('InvalidArgument', `Part number must be an integer between 1 and ${MAX_PART_NUMBER}, inclusive`, {
      ArgumentName: 'partNumber',
      ArgumentValue: v ?? '',
    });
  return Number(v);
}

export async function CreateMultipartUpload(ctx: S3Ctx): Promise<void> {
  const b = requireBucket(ctx);
  const key = requireKey(ctx);
  const headers = storedHeaders(ctx.req.headers);
  const sseKey = requestKey(ctx);
  // An unfinished upload counts as an object (usage() in model/object.ts): maxObjects bounds them.
  await checkQuota(ctx.store, b, 0, 1);
  const v = newVersion(ctx.store, b, { multipart: true, meta: { size: 0, etag: '', headers } });
  v.acl = await newObjectAcl(ctx, b);
  // Tags and lock given at Create are the completed object's (Complete keeps the version's registers).
  Object.assign(v, newVersionRegisters(ctx, b));
  // SSE-C: the upload keeps how to recognise the key; every part brings it again, with its own nonce.
  if (sseKey) v.ssec = newRecord(sseKey, false);
  // The mpu entry first: an upload visible in listings must already accept parts.
  await ctx.store.mpus.insert({ uploadId: v.uuid, bucket: b.id, key, deleted: false, parts: {} });
  await putVersion(ctx.store, b, key, v);
  sendXml(ctx, 200, 'InitiateMultipartUploadResult', { Bucket: ctx.bucketName ?? '', Key: key, UploadId: v.uuid }, keyHeaders(sseKey));
}

function partTooLarge(): S3Error {
  return new S3Error('EntityTooLarge', `A part may not be larger than ${MAX_PART_SIZE} bytes`, { MaxSizeAllowed: String(MAX_PART_SIZE) });
}

/** Bytes the current copy of part number `part` holds (what re-uploading it frees). */
async function replacedBytes(ctx: S3Ctx, b: Bucket, key: string, uploadId: string, part: number): Promise<number> {
  const v = await uploadingVersion(ctx, b, key, uploadId);
  return v?.uploaded?.[String(part)]?.size ?? 0;
}

/** Streams a part's data into blocks referenced by `version`, stopping at the first byte past the
 *  bucket's room (plus what the part replaces) or MAX_PART_SIZE; a refused part's blocks go at once. */
async function writePart(ctx: S3Ctx, b: Bucket, version: string, data: AsyncIterable<Buffer>, replaced: number): Promise<StoredBlock[]> {
  const room = await remainingQuota(ctx.store, b, replaced);
  const src = capBytes(data, { quota: room, size: MAX_PART_SIZE }, (which) => (which === 'size' ? partTooLarge() : overLimitError(b, MAX_PART_SIZE, 'quota')));
  try {
    return (await ctx.store.blocks.writeStream(src, version)).blocks;
  } catch (e) {
    await releasePart(ctx.store, version, Store.landedBlocks(e));
    throw e;
  }
}

async function releasePart(store: Store, version: string, blocks: StoredBlock[]): Promise<void> {
  await store.releaseRefs(version, blocks).catch((err) => log.warn({ err: (err as Error).message, version }, 'releasing a refused part failed (GC will)'));
}

/** Records a streamed part under the upload (mpu entry for Complete and ListParts, the upload's
 *  object version for usage) and releases the copy it replaces; if the upload finished meanwhile,
 *  releases the part itself. */
async function savePart(
  ctx: S3Ctx,
  b: Bucket,
  m: MpuEntry,
  part: number,
  version: string,
  stored: StoredBlock[],
  replaced: number,
  info: Omit<PartInfo, 'part' | 'ts' | 'version'>,
  iv?: Buffer,
): Promise<PartInfo> {
  const store = ctx.store;
  try {
    await checkQuota(store, b, info.size - replaced, 0);
  } catch (e) {
    await releasePart(store, version, stored);
    throw e;
  }
  let offset = 0;
  const blocks: BlockRef[] = stored.map((s) => {
    const r: BlockRef = { part, offset, hash: s.hash, size: s.size };
    if (iv) r.iv = iv; // SSE-C: this part upload's nonce; offset is the place in the part
    offset += s.size;
    return r;
  });
  await store.saveVersionBlocks(version, blocks);
  try {
    // A part whose client has gone is not recorded (a retry may have replaced it: late-write.ts).
    await requireClientWaiting(ctx, 'UploadPart');
  } catch (e) {
    await store.versions.insert({ uuid: version, deleted: true, blocks: [] }).catch(() => {});
    throw e;
  }
  const p: PartInfo = { part, ts: store.ts(), version, ...info };
  const previous = latestParts(m).find((x) => x.part === part);
  const merged = await store.mpus.insert({ ...m, deleted: false, parts: { [`${part}:${p.ts}`]: p } });
  if (merged.deleted) {
    // Completed or aborted while this part streamed: nothing will ever release it but us.
    await store.versions.insert({ uuid: version, deleted: true, blocks: [] });
    throw noSuchUpload(m.uploadId);
  }
  const v = await uploadingVersion(ctx, b, m.key, m.uploadId);
  if (v) await store.objects.insert({ bucket: b.id, key: m.key, versions: [{ ...v, uploaded: { [String(part)]: { ts: p.ts, version, size: p.size } } }] });
  // One copy per part number: the one it replaced (or this one, if a newer arrived meanwhile)
  // drops its blocks now. Complete/Abort releases every part version the entry ever listed.
  const latest = latestParts(merged).find((x) => x.part === part);
  for (const x of [previous, p]) if (x && latest && x.version !== latest.version) await store.versions.insert({ uuid: x.version, deleted: true, blocks: [] });
  return p;
}

function declaredLength(ctx: S3Ctx): number | undefined {
  const v = headerOf(ctx, 'x-amz-decoded-content-length') ?? headerOf(ctx, 'content-length');
  return v !== undefined && /^\d{1,16}$/.test(v.trim()) ? Number(v) : undefined;
}

export async function UploadPart(ctx: S3Ctx): Promise<void> {
  const b = requireBucket(ctx);
  const key = requireKey(ctx);
  const part = partNumberParam(ctx);
  const m = await openUpload(ctx, b, key, uploadIdParam(ctx));
  const len = declaredLength(ctx);
  if (len !== undefined && len > MAX_PART_SIZE)
    throw new S3Error('EntityTooLarge', `A part may not be larger than ${MAX_PART_SIZE} bytes`, { ProposedSize: String(len), MaxSizeAllowed: String(MAX_PART_SIZE) });
  // Parts count in usage from now on; a re-upload frees the copy it replaces.
  const sseKey = await partKey(ctx, b, key, m.uploadId);
  const replaced = await replacedBytes(ctx, b, key, m.uploadId, part);
  if (len !== undefined) await checkQuota(ctx.store, b, len - replaced, 0);
  const version = ctx.store.newUuid();
  const body = ctx.body();
  const iv = sseKey ? newNonce() : undefined;
  const blocks = await writePart(ctx, b, version, sseKey ? cryptStream(body.stream, sseKey.key, iv!) : body.stream, replaced);
  const r = body.result();
  const p = await savePart(ctx, b, m, part, version, blocks, replaced, {
    etag: sseCEtag(sseKey, r.md5Hex),
    size: r.size,
    ...(Object.keys(r.checksums).length > 0 ? { checksums: r.checksums } : {}),
  }, iv);
  const headers: Record<string, string> = { etag: `"${p.etag}"`, ...keyHeaders(sseKey) };
  for (const [alg, value] of Object.entries(r.checksums)) headers[`x-amz-checksum-${alg}`] = value;
  sendEmpty(ctx, 200, headers);
}

export async function UploadPartCopy(ctx: S3Ctx): Promise<void> {
  const b = requireBucket(ctx);
  const key = requireKey(ctx);
  const part = partNumberParam(ctx);
  const m = await openUpload(ctx, b, key, uploadIdParam(ctx));
  const src = await resolveCopySource(ctx);
  checkCopyConditions(ctx.req.headers, src.version);
  const srcKey = requestKey(ctx, true);
  checkKeyFor(src.version.ssec, srcKey, true);
  const sseKey = await partKey(ctx, b, key, m.uploadId);
  const size = src.version.meta?.size ?? 0;
  const { start, end } = parseCopyRange(headerOf(ctx, 'x-amz-copy-source-range'), size);
  if (end - start > MAX_PART_SIZE)
    throw new S3Error('EntityTooLarge', `A part may not be larger than ${MAX_PART_SIZE} bytes; use x-amz-copy-source-range`, { MaxSizeAllowed: String(MAX_PART_SIZE) });
  const replaced = await replacedBytes(ctx, b, key, m.uploadId, part);
  await checkQuota(ctx.store, b, end - start - replaced, 0);
  // The plaintext MD5 in a hash worker for a large range (back-pressure: ready()).
  const md5 = hashPool().stream(['md5'], end - start >= STREAM_OFFLOAD_BYTES);
  const data: AsyncIterable<Buffer> = end > start ? await ctx.store.readData(src.version, start, end, srcKey?.key) : (async function* () {})();
  let copied = 0;
  async function* hashed(): AsyncGenerator<Buffer> {
    for await (const c of data) {
      md5.update(c);
      copied += c.length;
      const w = md5.ready();
      if (w) await w;
      yield c;
    }
  }
  const version = ctx.store.newUuid();
  const iv = sseKey ? newNonce() : undefined;
  let blocks: Awaited<ReturnType<typeof writePart>>;
  try {
    blocks = await writePart(ctx, b, version, sseKey ? cryptStream(hashed(), sseKey.key, iv!) : hashed(), replaced);
  } catch (e) {
    md5.abort();
    throw e;
  }
  if (copied !== end - start) {
    md5.abort();
    await releasePart(ctx.store, version, blocks);
    throw new S3Error('InternalError', `copy source read returned ${copied} of ${end - start} bytes`);
  }
  let plainMd5: string;
  try {
    plainMd5 = (await md5.digest()).md5.toString('hex');
  } catch (e) {
    await releasePart(ctx.store, version, blocks);
    throw e;
  }
  const p = await savePart(ctx, b, m, part, version, blocks, replaced, { etag: sseCEtag(sseKey, plainMd5), size: copied }, iv);
  const headers: Record<string, string> = { ...keyHeaders(sseKey) };
  if (src.bucket.versioning.v !== null) headers['x-amz-copy-source-version-id'] = versionIdOf(src.version);
  sendXml(ctx, 200, 'CopyPartResult', { ETag: `"${p.etag}"`, LastModified: isoDate(p.ts) }, headers);
}

interface RequestedPart {
  part: number;
  etag: string;
}

function parseCompleteBody(xml: string): RequestedPart[] {
  const root = parseXml(xml);
  if (root.name !== 'CompleteMultipartUpload')
    throw new S3Error('MalformedXML', `The XML you provided was not well-formed or did not validate against our published schema: root element is ${root.name}, expected CompleteMultipartUpload`);
  const parts = children(root, 'Part').map((el): RequestedPart => {
    const n = childText(el, 'PartNumber');
    const etag = childText(el, 'ETag');
    if (n === undefined || etag === undefined) throw new S3Error('MalformedXML', 'Each Part needs a PartNumber and an ETag');
    if (!/^\d{1,9}$/.test(n)) throw new S3Error('MalformedXML', `PartNumber ${n} is not an integer`);
    return { part: Number(n), etag: etag.replace(/^"|"$/g, '').toLowerCase() };
  });
  if (parts.length === 0)
    throw new S3Error('MalformedXML', 'The XML you provided was not well-formed or did not validate against our published schema: it lists no Part');
  // A part number named again right after itself (a part re-sent while its first upload still
  // ran, both answers listed: s3-tests test_multipart_resend_first_finishes_last): the last entry
  // stands, as RGW. A lower number than the one before stays InvalidPartOrder (Complete).
  const out: RequestedPart[] = [];
  for (const p of parts) {
    if (out.at(-1)?.part === p.part) out[out.length - 1] = p;
    else out.push(p);
  }
  return out;
}

function completeLocation(ctx: S3Ctx, key: string): string {
  const host = headerOf(ctx, 'host') ?? 'localhost';
  // The client's connection decides (forwarded.ts), not an X-Forwarded-Proto anyone can send.
  const proto = requestScheme(ctx.req);
  const bucket = ctx.bucketName ?? '';
  const path = host.startsWith(`${bucket}.`) ? urlEncode(key) : `${bucket}/${urlEncode(key)}`;
  return `${proto}://${host}/${path}`;
}

export async function CompleteMultipartUpload(ctx: S3Ctx): Promise<void> {
  const store = ctx.store;
  const b = requireBucket(ctx);
  const key = requireKey(ctx);
  const uploadId = uploadIdParam(ctx);
  const sseKey = requestKey(ctx);
  // Gone, but maybe completed: a repeated Complete naming the same parts answers the same result.
  const earlier = await openUpload(ctx, b, key, uploadId).then(
    () => undefined,
    async (e: unknown) => {
      const v = e instanceof S3Error && e.code === 'NoSuchUpload' ? await completedVersion(ctx, b, key, uploadId) : undefined;
      if (!v) throw e;
      return { v, e };
    },
  );
  // 10,000 parts of ~120 bytes of XML each fit well within 2 MiB.
  const requested = parseCompleteBody(await readSmallBody(ctx, 2 * 1024 * 1024));
  if (earlier) {
    if (earlier.v.meta?.etag !== multipartEtag(requested.map((r) => r.etag))) throw earlier.e;
    checkKeyFor(earlier.v.ssec, sseKey);
    sendCompleted(ctx, b, key, earlier.v, sseKey);
    return;
  }
  const { done } = await withUploadLock(uploadId, async () => {
    const m = await openUpload(ctx, b, key, uploadId); // re-read: parts may have arrived while the body did
    const v = await uploadingVersion(ctx, b, key, uploadId);
    if (!v) throw noSuchUpload(uploadId);
    // An SSE-C upload completes only with its key, as each of its parts was sent.
    checkKeyFor(v.ssec, sseKey);

    const have = new Map(latestParts(m).map((p) => [p.part, p]));
    const chosen: PartInfo[] = [];
    for (let i = 0; i < requested.length; i++) {
      const r = requested[i]!;
      if (i > 0 && r.part <= requested[i - 1]!.part)
        throw new S3Error('InvalidPartOrder', 'The list of parts was not in ascending order. Parts must be ordered by part number.', { UploadId: uploadId });
      const p = have.get(r.part);
      if (!p || p.etag !== r.etag)
        throw new S3Error(
          'InvalidPart',
          `One or more of the specified parts could not be found: part ${r.part} ${p ? `has ETag "${p.etag}", not "${r.etag}"` : 'was not uploaded'}.`,
          { UploadId: uploadId, PartNumber: String(r.part), ETag: r.etag },
        );
      chosen.push(p);
    }
    for (let i = 0; i < chosen.length - 1; i++) {
      const p = chosen[i]!;
      if (p.size < MIN_PART_SIZE)
        throw new S3Error('EntityTooSmall', `Your proposed upload is smaller than the minimum allowed object size: part ${p.part} has ${p.size} bytes, every part but the last needs at least ${MIN_PART_SIZE}.`, {
          ProposedSize: String(p.size),
          MinSizeAllowed: String(MIN_PART_SIZE),
          PartNumber: String(p.part),
          ETag: p.etag,
        });
    }
    const size = chosen.reduce((n, p) => n + p.size, 0);
    const etag = multipartEtag(chosen.map((p) => p.etag));
    // The parts are already counted in usage (and the object among the objects): no quota check,
    // only the object size limit.
    const maxBytes = store.limits.object_bytes_max;
    if (size > maxBytes)
      throw new S3Error('EntityTooLarge', `Your proposed upload exceeds the maximum allowed object size (${maxBytes} bytes).`, { ProposedSize: String(size), MaxSizeAllowed: String(maxBytes) });
    await checkWritePreconditions(store, b, key, ctx.req.headers);

    const blocks: BlockRef[] = [];
    for (const p of chosen) {
      const pv = await store.versions.get(p.version, '');
      if (!pv || pv.deleted) throw noSuchUpload(uploadId); // released by a concurrent complete/abort
      for (const blk of pv.blocks) blocks.push({ ...blk, part: p.part });
    }
    // The completed object keeps the upload's timestamp (S3 dates a multipart object by its
    // initiation): a version has one timestamp in all its forms, which keeps the object merge a
    // semilattice (model/object.ts). Two nodes completing one upload with different part lists
    // (the lock is per node) converge on the same one in both tables: the completion stamp
    // orders version-table entries as the object merge orders the two completed forms.
    const done: ObjectVersion = { ...v, state: 'complete', uploaded: undefined, meta: { size, etag, headers: v.meta?.headers ?? [] } };
    const completion: Completion = { ts: done.ts, etag };
    // Not for a client that has gone (late-write.ts); after this the completion is written whole
    // (model/commit.ts), the object entry at the upload's timestamp.
    await commitVersion(store, { bucket: b, key, version: done, data: { completion, blocks }, stamp: 'kept', mayCommit: () => requireClientWaiting(ctx, 'CompleteMultipartUpload') });
    await store.mpus.insert({ uploadId, bucket: b.id, key, deleted: true, parts: {} });
    return { done, etag };
  });
  sendCompleted(ctx, b, key, done, sseKey);
}

/** S3's multipart ETag: the MD5 of the parts' binary MD5s, then "-" and the number of parts. */
function multipartEtag(partEtags: string[]): string {
  return createHash('md5').update(Buffer.concat(partEtags.map((e) => Buffer.from(e, 'hex')))).digest('hex') + `-${partEtags.length}`;
}

/** The version an earlier Complete of this upload made, if it is still there. */
async function completedVersion(ctx: S3Ctx, b: Bucket, key: string, uploadId: string): Promise<ObjectVersion | undefined> {
  if (!/^[0-9a-f]{32}$/.test(uploadId)) return undefined;
  const o = await ctx.store.objects.get(b.id, key);
  return o?.versions.find((x) => x.uuid === uploadId && x.multipart && x.state === 'complete');
}

function sendCompleted(ctx: S3Ctx, b: Bucket, key: string, done: ObjectVersion, sseKey?: CustomerKey): void {
  const headers: Record<string, string> = { ...keyHeaders(sseKey) };
  if (!done.nullVersion) headers['x-amz-version-id'] = versionIdOf(done); // none for a "null" version, as S3
  sendXml(ctx, 200, 'CompleteMultipartUploadResult', { Location: completeLocation(ctx, key), Bucket: ctx.bucketName ?? '', Key: key, ETag: `"${done.meta!.etag}"` }, headers);
}

export async function AbortMultipartUpload(ctx: S3Ctx): Promise<void> {
  const b = requireBucket(ctx);
  const key = requireKey(ctx);
  const uploadId = uploadIdParam(ctx);
  await withUploadLock(uploadId, async () => {
    await openUpload(ctx, b, key, uploadId);
    await abortUploadLocked(ctx.store, b.id, key, uploadId);
  });
  sendEmpty(ctx, 204);
}

export async function ListMultipartUploads(ctx: S3Ctx): Promise<void> {
  const b = requireBucket(ctx);
  const enc = encoder(ctx);
  const prefix = ctx.query.get('prefix') ?? '';
  const delimiter = ctx.query.get('delimiter') ?? '';
  const keyMarker = ctx.query.get('key-marker') ?? '';
  // Without a key marker the upload id marker means nothing (S3 ignores it too).
  const uploadIdMarker = keyMarker !== '' ? (ctx.query.get('upload-id-marker') ?? '') : '';
  const maxUploads = intParam(ctx, 'max-uploads', MAX_LIST, 0, MAX_LIST);

  type Item = { kind: 'upload'; key: string; v: ObjectVersion } | { kind: 'prefix'; prefix: string };
  const items: Item[] = [];
  // Within one key, uploads are ordered by upload id, so a marker stays meaningful even after
  // the upload it names has completed.
  let after: string | undefined = keyMarker !== '' ? keyMarker : undefined;
  // With an upload id marker the marker key itself still has uploads to list.
  let includeMarkerKey = uploadIdMarker !== '';
  let lastPrefix: string | undefined;
  scan: while (items.length <= maxUploads) {
    const q: { prefix: string; limit: number; after?: string; start?: string } = { prefix, limit: MAX_LIST };
    if (after !== undefined) {
      if (includeMarkerKey) q.start = after;
      else q.after = after;
    }
    includeMarkerKey = false;
    const batch = await ctx.store.objects.range(b.id, q);
    if (batch.length === 0) break;
    for (const o of batch) {
      after = o.key;
      const uploads = o.versions
        .filter((v) => v.multipart && v.state === 'uploading')
        .filter((v) => o.key !== keyMarker || (uploadIdMarker !== '' && v.uuid > uploadIdMarker))
        .sort((x, y) => (x.uuid < y.uuid ? -1 : 1));
      if (uploads.length === 0) continue;
      if (delimiter !== '') {
        const i = o.key.indexOf(delimiter, prefix.length);
        if (i >= 0) {
          const cp = o.key.slice(0, i + delimiter.length);
          if (cp === lastPrefix || cp <= keyMarker) continue;
          lastPrefix = cp;
          items.push({ kind: 'prefix', prefix: cp });
          if (items.length > maxUploads) break scan;
          continue;
        }
      }
      for (const v of uploads) {
        items.push({ kind: 'upload', key: o.key, v });
        if (items.length > maxUploads) break scan;
      }
    }
    if (batch.length < MAX_LIST) break;
  }

  const truncated = maxUploads > 0 && items.length > maxUploads;
  const page = items.slice(0, maxUploads);
  const last = page.at(-1);
  const body: XmlNode = {
    Bucket: ctx.bucketName ?? '',
    KeyMarker: enc(keyMarker),
    UploadIdMarker: uploadIdMarker,
    Prefix: enc(prefix),
    Delimiter: delimiter !== '' ? enc(delimiter) : undefined,
    MaxUploads: maxUploads,
    IsTruncated: truncated,
  };
  if (truncated && last) {
    body['NextKeyMarker'] = enc(last.kind === 'upload' ? last.key : last.prefix);
    body['NextUploadIdMarker'] = last.kind === 'upload' ? last.v.uuid : '';
  }
  if (ctx.query.get('encoding-type') === 'url') body['EncodingType'] = 'url';
  const uploads = page.filter((x) => x.kind === 'upload');
  const names = await ownerNames(ctx, uploads.map((x) => x.v));
  body['Upload'] = uploads.map((x) => {
    const who = owner(ctx, x.v, names);
    return { Key: enc(x.key), UploadId: x.v.uuid, Initiator: who, Owner: who, StorageClass: 'STANDARD', Initiated: isoDate(x.v.ts) };
  });
  body['CommonPrefixes'] = page.filter((x) => x.kind === 'prefix').map((x) => ({ Prefix: enc(x.prefix) }));
  sendXml(ctx, 200, 'ListMultipartUploadsResult', body);
}

export async function ListParts(ctx: S3Ctx): Promise<void> {
  const b = requireBucket(ctx);
  const key = requireKey(ctx);
  const enc = encoder(ctx);
  const uploadId = uploadIdParam(ctx);
  const m = await openUpload(ctx, b, key, uploadId);
  const marker = intParam(ctx, 'part-number-marker', 0, 0, MAX_PART_NUMBER);
  const maxParts = intParam(ctx, 'max-parts', MAX_LIST, 0, MAX_LIST);
  const rest = latestParts(m).filter((p) => p.part > marker);
  const page = rest.slice(0, maxParts);
  const truncated = rest.length > page.length;
  const body: XmlNode = {
    Bucket: ctx.bucketName ?? '',
    Key: enc(key),
    UploadId: uploadId,
    PartNumberMarker: marker,
    NextPartNumberMarker: page.at(-1)?.part ?? marker,
    MaxParts: maxParts,
    IsTruncated: truncated,
    StorageClass: 'STANDARD',
  };
  if (ctx.query.get('encoding-type') === 'url') body['EncodingType'] = 'url';
  body['Part'] = page.map((p) => {
    const x: XmlNode = { PartNumber: p.part, LastModified: isoDate(p.ts), ETag: `"${p.etag}"`, Size: p.size };
    for (const [alg, value] of Object.entries(p.checksums ?? {})) x[`Checksum${alg.toUpperCase()}`] = value;
    return x;
  });
  sendXml(ctx, 200, 'ListPartsResult', body);
}
