// S3 object operations: PutObject, GetObject, HeadObject, DeleteObject, DeleteObjects, CopyObject.
import type { S3Ctx } from '../context.ts';
import { readSmallBody, requireBucket, requireKey, sendEmpty, sendXml } from '../context.ts';
import { S3Error } from '../errors.ts';
import { child, children, childText, parseXml } from '../xml.ts';
import type { Bucket } from '../../../model/bucket.ts';
import type { ObjectEntry, ObjectVersion } from '../../../model/object.ts';
import { findVersion, currentVersion, versionIdOf } from '../../../model/object.ts';
import { checkQuota, checkWritePreconditions, newVersion, prefetchObject, putVersion, storedHeaders } from './common.ts';
import { commitVersion, writtenData, type CommitData } from '../../../model/commit.ts';
import { checkConditions, objectHeaders, parseRange, selectVersion } from './object-read.ts';
import { parsePartNumber, partRange } from './part-number.ts';
import { checkCopyConditions, resolveCopySource } from './copy-source.ts';
import { isoDate } from '../../../util/time.ts';
import { Store } from '../../../model/store.ts';
import { capBytes, remainingQuota } from '../../../model/write-cap.ts';
import { formatSize } from '../../../util/size.ts';
import { requireClientWaiting } from './late-write.ts';
import { checkObjectKey } from '../input-limits.ts';
import { newObjectAcl } from './acl.ts';
import { checkDeletable, newVersionRegisters } from './object-lock.ts';
import { requestTags } from './tagging.ts';
import { lockVisibility } from '../authz/lock-visibility.ts';
import { deleteDecider } from '../authz/per-key.ts';
import { checkKeyFor, keyHeaders, keyMatches, newRecord, requestKey, sseCEtag } from '../sse-c.ts';
import { cryptStream } from '../../../model/sse-c-cipher.ts';
import { currentTrace, mark, startTrace, withTrace, TRACE_PUT } from '../../../util/trace.ts';
import { hashPool, STREAM_OFFLOAD_BYTES } from '../../../util/hash-pool.ts';

/** S3's single-PUT maximum, the default of limits.object_bytes_max (the store's setting applies). */
export const MAX_PUT_SIZE = 5 * 1024 ** 3;

function tooLarge(max: number): S3Error {
  return new S3Error('EntityTooLarge', `Your proposed upload exceeds the maximum allowed size (${formatSize(max)}); use multipart upload.`, { MaxSizeAllowed: String(max) });
}

/** What a streamed write answers when it passes the remaining quota or the size limit. */
export function overLimitError(b: Bucket, maxBytes: number, which: 'quota' | 'size'): S3Error {
  if (which === 'size') return tooLarge(maxBytes);
  return new S3Error(
    'QuotaExceeded',
    `Bucket quota exceeded: this upload passed the ${formatSize(b.quotas.v.maxSize ?? 0)} quota while it was sent, and was not stored. ` +
      'Delete objects, or raise the quota (grenier site quota <site> --max-size … up to 200 MB, or --request for more).',
  );
}
const MAX_KEY_BYTES = 1024;

function checkKey(key: string): void {
  if (Buffer.byteLength(key) > MAX_KEY_BYTES) throw new S3Error('KeyTooLongError', 'Your key is too long (max 1024 bytes).');
}

/** Declared decoded size of the body, for early quota and size checks. */
function declaredSize(ctx: S3Ctx): number | undefined {
  const h = ctx.req.headers;
  const v = h['x-amz-decoded-content-length'] ?? (ctx.auth.payload.kind.startsWith('streaming') ? undefined : h['content-length']);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0) throw new S3Error('InvalidArgument', `invalid content length "${v}"`);
  return n;
}

/** The id of the version a write made: none for a "null" version (unversioned or suspended
 *  bucket), as S3 answers. */
function versionHeader(_b: Bucket, v: ObjectVersion): Record<string, string> {
  return v.nullVersion ? {} : { 'x-amz-version-id': versionIdOf(v) };
}

export async function PutObject(ctx: S3Ctx): Promise<void> {
  // GRENIER_TRACE_PUT=1: one log line per PUT with its phases (util/trace.ts).
  const t = startTrace('put trace', { key: ctx.key, length: ctx.req.headers['content-length'] });
  if (!t) return putObject(ctx);
  try {
    await withTrace(t, () => putObject(ctx));
    t.end();
  } catch (e) {
    t.end({ err: (e as Error).message });
    throw e;
  }
}

async function putObject(ctx: S3Ctx): Promise<void> {
  const b = requireBucket(ctx);
  const key = requireKey(ctx);
  checkKey(key);
  const declared = declaredSize(ctx);
  const maxBytes = ctx.store.limits.object_bytes_max;
  if (declared !== undefined && declared > maxBytes) throw tooLarge(maxBytes);
  if (declared === undefined && ctx.req.headers['transfer-encoding'] === undefined && ctx.req.headers['content-length'] === undefined)
    throw new S3Error('MissingContentLength', 'You must provide the Content-Length HTTP header.');
  const sseKey = requestKey(ctx);
  await checkWritePreconditions(ctx.store, b, key, ctx.req.headers);
  const headers = storedHeaders(ctx.req.headers);
  await checkQuota(ctx.store, b, declared ?? 0, 1);
  // A body of unknown length (chunked, aws-chunked without decoded length) stops at the first byte past the room left.
  const room = await remainingQuota(ctx.store, b);
  // A body declared small enough to be inline is written without reading the entry first
  // (putVersion orders it after what replicas hold); a larger one reads it alongside the upload.
  const existing = declared !== undefined && declared <= ctx.store.inlineThreshold ? undefined : prefetchObject(ctx.store, b, key);
  if (TRACE_PUT) void existing?.then(() => mark('prefetch done'), () => {});
  const v = newVersion(ctx.store, b);
  v.acl = await newObjectAcl(ctx, b);
  Object.assign(v, newVersionRegisters(ctx, b));
  // SSE-C: the version keeps how to recognise the key (never the key) and the body's nonce.
  if (sseKey) v.ssec = newRecord(sseKey, true);
  mark('checked');
  const body = ctx.body();
  const tr = currentTrace();
  if (tr) {
    tr.fields.version = v.uuid;
    body.stream.once('end', () => tr.mark('body end'));
  }
  let data: Awaited<ReturnType<typeof ctx.store.writeData>> | undefined;
  let prev: ObjectEntry | null | undefined;
  try {
    const capped = capBytes(body.stream, { quota: room, size: maxBytes }, (which) => overLimitError(b, maxBytes, which));
    data = await ctx.store.writeData(sseKey ? cryptStream(capped, sseKey.key, v.ssec!.iv!) : capped, v.uuid);
    mark('data stored');
    const r = body.result();
    if (r.size > maxBytes) throw tooLarge(maxBytes);
    await checkQuota(ctx.store, b, r.size, 1);
    const checksumHeaders = Object.entries(r.checksums).map(([alg, val]): [string, string] => [`x-amz-checksum-${alg}`, val]);
    v.meta = { size: r.size, etag: sseCEtag(sseKey, r.md5Hex), headers: [...headers, ...checksumHeaders] };
    prev = data.inline ? undefined : await (existing ?? prefetchObject(ctx.store, b, key));
    mark('prev read');
  } catch (e) {
    // Nothing points at these blocks yet: give the space back now.
    const landed = data?.blocks ?? Store.landedBlocks(e);
    await ctx.store.releaseRefs(v.uuid, landed).catch(() => {});
    throw e;
  }
  // Only while the client still waits (late-write.ts); it releases what it wrote if it fails first.
  await commitVersion(ctx.store, { bucket: b, key, version: v, data: writtenData(data), existing: prev, stamp: 'now', mayCommit: () => requireClientWaiting(ctx, 'PutObject') });
  const checksumHeaders = Object.entries(body.result().checksums).map(([alg, val]): [string, string] => [`x-amz-checksum-${alg}`, val]);
  sendEmpty(ctx, 200, { etag: `"${v.meta!.etag}"`, ...versionHeader(b, v), ...Object.fromEntries(checksumHeaders), ...keyHeaders(sseKey) });
}

async function getOrHead(ctx: S3Ctx, withBody: boolean): Promise<void> {
  const b = requireBucket(ctx);
  const key = requireKey(ctx);
  const o = await ctx.store.objects.get(b.id, key);
  const v = selectVersion(o, key, ctx.query.get('versionId'), b.versioning.v !== null);
  const meta = v.meta!;
  const sseKey = requestKey(ctx);
  // ?partNumber=N reads one part of a multipart object as a range (a plain object is its own part 1);
  // a part past the end is InvalidPart, key or not (s3-tests test_multipart_sse_c_get_part).
  const partNumber = ctx.query.get('partNumber');
  if (partNumber !== null && ctx.req.headers.range) throw new S3Error('InvalidRequest', 'Cannot specify both Range header and partNumber query parameter');
  const part = partNumber === null ? undefined : await partRange(ctx.store, v, parsePartNumber(partNumber));
  // SSE-C: the key the version was stored with, or none.
  checkKeyFor(v.ssec, sseKey);
  // A whole-object checksum would not match a range: S3 sends it only for full reads.
  const wantChecksums = ctx.req.headers['x-amz-checksum-mode'] === 'ENABLED' && !ctx.req.headers.range;
  const headers = { ...objectHeaders(v, ctx.query, b.versioning.v !== null, wantChecksums, lockVisibility(ctx, b, ctx.bucketName ?? '', key, v)), ...keyHeaders(sseKey) };
  if (checkConditions(ctx.req.headers, meta.etag, v.ts) === 'not-modified') {
    const keep = ['etag', 'last-modified', 'x-amz-version-id', 'cache-control', 'expires'];
    ctx.res.writeHead(304, Object.fromEntries(Object.entries(headers).filter(([k]) => keep.includes(k))));
    ctx.res.end();
    return;
  }
  let range: { start: number; end: number } | undefined;
  if (part) {
    if (part.count !== undefined) {
      headers['x-amz-mp-parts-count'] = String(part.count);
      range = { start: part.start, end: part.end };
    }
  } else range = parseRange(ctx.req.headers.range, meta.size);
  const start = range?.start ?? 0;
  const end = range?.end ?? meta.size;
  if (range) headers['content-range'] = `bytes ${start}-${end - 1}/${meta.size}`;
  headers['content-length'] = String(end - start);
  if (!withBody || end === start) {
    ctx.res.writeHead(range ? 206 : 200, headers);
    ctx.res.end();
    return;
  }
  if (v.inline && !v.ssec) {
    ctx.res.writeHead(range ? 206 : 200, headers);
    ctx.res.end(v.inline.subarray(start, end));
    return;
  }
  ctx.res.writeHead(range ? 206 : 200, headers);
  try {
    await ctx.store.sendData(v, start, end, ctx.res, sseKey?.key);
  } catch (e) {
    // Headers are gone: the only honest signal left is a truncated response.
    ctx.res.destroy(e as Error);
  }
}

export async function GetObject(ctx: S3Ctx): Promise<void> {
  await getOrHead(ctx, true);
}

export async function HeadObject(ctx: S3Ctx): Promise<void> {
  await getOrHead(ctx, false);
}

interface DeleteOutcome {
  versionId?: string;
  deleteMarker: boolean;
}

/** Deletes one key (new delete marker) or one version (removed for good), S3-style. */
async function deleteOne(ctx: S3Ctx, b: Bucket, key: string, versionId: string | null): Promise<DeleteOutcome> {
  const o = await ctx.store.objects.get(b.id, key);
  if (versionId !== null) {
    if (versionId === '') throw new S3Error('InvalidArgument', 'Version id cannot be the empty string');
    const v = findVersion(o, versionId);
    if (!v) return { versionId, deleteMarker: false };
    checkDeletable(ctx, b, key, v);
    await requireClientWaiting(ctx, 'DeleteObject');
    // 'aborted' is the terminal state: the version disappears and its data is released. Inserted
    // as read (no timestamp bump): a deleted version keeps its place among the others, so it
    // still hides what it superseded on replicas that merge it in any order (model/object.ts).
    await ctx.store.objects.insert({ bucket: b.id, key, versions: [{ ...v, state: 'aborted' }] });
    return { versionId, deleteMarker: v.deleteMarker };
  }
  const cur = currentVersion(o);
  if (b.versioning.v === null && (!cur || cur.deleteMarker)) return { deleteMarker: false };
  const marker = newVersion(ctx.store, b, { state: 'complete', deleteMarker: true });
  await requireClientWaiting(ctx, 'DeleteObject');
  await putVersion(ctx.store, b, key, marker, o ?? null);
  return b.versioning.v === null ? { deleteMarker: false } : { versionId: versionIdOf(marker), deleteMarker: true };
}

export async function DeleteObject(ctx: S3Ctx): Promise<void> {
  const b = requireBucket(ctx);
  const key = requireKey(ctx);
  const r = await deleteOne(ctx, b, key, ctx.query.get('versionId'));
  const h: Record<string, string> = {};
  if (r.versionId) h['x-amz-version-id'] = r.versionId;
  if (r.deleteMarker) h['x-amz-delete-marker'] = 'true';
  sendEmpty(ctx, 204, h);
}

export async function DeleteObjects(ctx: S3Ctx): Promise<void> {
  const b = requireBucket(ctx);
  // No decision for the request as a whole (authz/actions.ts): each key is decided as its own
  // DeleteObject would be, from inputs built once. Only an anonymous caller whom nothing could
  // allow is refused outright, before its body is read.
  const may = deleteDecider(ctx, b, ctx.bucketName ?? '');
  if (!ctx.accessKey && may.uniform && !may.uniform.allow) throw new S3Error('AccessDenied', 'Access Denied');
  const doc = parseXml(await readSmallBody(ctx, 2 * 1024 * 1024));
  if (doc.name !== 'Delete') throw new S3Error('MalformedXML', 'expected a Delete document');
  const quiet = childText(doc, 'Quiet') === 'true';
  const objs = children(doc, 'Object');
  if (objs.length === 0) throw new S3Error('MalformedXML', 'the Delete document lists no Object');
  if (objs.length > 1000) throw new S3Error('MalformedXML', 'at most 1000 objects may be deleted per request');
  const deleted: Record<string, unknown>[] = [];
  const errors: Record<string, unknown>[] = [];
  for (const el of objs) {
    // The key verbatim: ' ' and '_ ' are keys (childText would trim them away).
    const key = child(el, 'Key')?.text;
    const versionId = childText(el, 'VersionId') ?? null;
    if (!key) {
      errors.push({ Key: '', Code: 'InvalidArgument', Message: 'an Object has no Key' });
      continue;
    }
    try {
      // Each entry is a key like any other: the one-place check (1024 bytes) applies here too.
      checkObjectKey(key);
      const allowed = may.decide(key, versionId, may.needsEntry ? await ctx.store.objects.get(b.id, key) : undefined);
      if (!allowed.allow) throw new S3Error('AccessDenied', allowed.reason === 'explicit-deny' ? `Access Denied (by bucket policy statement ${allowed.statement})` : 'Access Denied');
      const r = await deleteOne(ctx, b, key, versionId);
      if (quiet) continue;
      const d: Record<string, unknown> = { Key: key };
      if (versionId !== null) {
        d.VersionId = versionId;
        if (r.deleteMarker) {
          d.DeleteMarker = true;
          d.DeleteMarkerVersionId = versionId;
        }
      } else if (r.deleteMarker) {
        d.DeleteMarker = true;
        d.DeleteMarkerVersionId = r.versionId;
      }
      deleted.push(d);
    } catch (e) {
      const se = e instanceof S3Error ? e : new S3Error('InternalError', 'internal error');
      errors.push({ Key: key, VersionId: versionId ?? undefined, Code: se.code, Message: se.message });
    }
  }
  sendXml(ctx, 200, 'DeleteResult', { Deleted: deleted as never, Error: errors as never });
}

export async function CopyObject(ctx: S3Ctx): Promise<void> {
  const b = requireBucket(ctx);
  const key = requireKey(ctx);
  checkKey(key);
  const src = await resolveCopySource(ctx);
  const sv = src.version;
  checkCopyConditions(ctx.req.headers, sv);
  // SSE-C: the source's key must be the one it was stored with; the copy may take another (or none).
  const srcKey = requestKey(ctx, true);
  checkKeyFor(sv.ssec, srcKey, true);
  const dstKey = requestKey(ctx);
  const directive = String(ctx.req.headers['x-amz-metadata-directive'] ?? 'COPY').toUpperCase();
  if (directive !== 'COPY' && directive !== 'REPLACE') throw new S3Error('InvalidArgument', `Unknown metadata directive "${directive}"`);
  // Versions compared by uuid: each read decodes a fresh entry. A storage class, redirect or
  // encryption header is a change S3 accepts for a copy onto itself.
  const changes = Object.keys(ctx.req.headers).some((h) => h === 'x-amz-storage-class' || h === 'x-amz-website-redirect-location' || h.startsWith('x-amz-server-side-encryption'));
  if (src.bucket.id === b.id && src.key === key && directive === 'COPY' && !changes && !ctx.query.has('versionId') && sv.uuid === currentVersion(await ctx.store.objects.get(b.id, key))?.uuid)
    throw new S3Error(
      'InvalidRequest',
      "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.",
    );
  await checkWritePreconditions(ctx.store, b, key, ctx.req.headers);
  const meta = sv.meta!;
  await checkQuota(ctx.store, b, meta.size, 1);
  const headers = directive === 'REPLACE' ? storedHeaders(ctx.req.headers) : meta.headers;
  const tagging = String(ctx.req.headers['x-amz-tagging-directive'] ?? 'COPY').toUpperCase();
  if (tagging !== 'COPY' && tagging !== 'REPLACE') throw new S3Error('InvalidArgument', `Unknown tagging directive "${tagging.slice(0, 32)}"`, { ArgumentName: 'x-amz-tagging-directive' });
  const v = newVersion(ctx.store, b);
  v.acl = await newObjectAcl(ctx, b);
  // COPY keeps the source's tags (a fresh register: the copy's own history starts now).
  const srcTags = sv.tags?.v.length ? { t: ctx.store.ts(), v: sv.tags.v } : undefined;
  Object.assign(v, newVersionRegisters(ctx, b, tagging === 'REPLACE' ? requestTags(ctx) : srcTags));
  v.meta = { size: meta.size, etag: meta.etag, headers };
  // Same key, or none on both sides: the copy shares the source's stored bytes (and nonces).
  // Otherwise they are read back in clear and stored again, encrypted with the new key if any.
  const sameBytes = sv.ssec ? dstKey !== undefined && keyMatches(sv.ssec, dstKey) : dstKey === undefined;
  if (sameBytes && sv.ssec) v.ssec = sv.ssec;
  else if (dstKey) v.ssec = newRecord(dstKey, true);
  // Only while the client waits (late-write.ts), checked right before the object entry.
  const mayCommit = () => requireClientWaiting(ctx, 'CopyObject');
  // Stamped at the object entry, as PutObject's: of overlapping writes the last finished wins.
  const commit = async (data: CommitData) => {
    v.ts = (await commitVersion(ctx.store, { bucket: b, key, version: v, data, existing: 'read', stamp: 'now', mayCommit })).ts;
  };
  await requireClientWaiting(ctx, 'CopyObject');
  if (!sameBytes) {
    const plain = await ctx.store.readData(sv, 0, meta.size, srcKey?.key);
    // The ETag of bytes stored again (sse-c.ts sseCEtag): from their MD5, hashed on the way.
    // In a hash worker for a large object (back-pressure: ready()).
    const md5 = hashPool().stream(['md5'], meta.size >= STREAM_OFFLOAD_BYTES);
    const hashed = (async function* () {
      for await (const c of plain as AsyncIterable<Buffer>) {
        md5.update(c);
        const w = md5.ready();
        if (w) await w;
        yield c;
      }
    })();
    let data: Awaited<ReturnType<typeof ctx.store.writeData>> | undefined;
    let existing: ObjectEntry | null;
    try {
      data = await ctx.store.writeData(dstKey ? cryptStream(hashed, dstKey.key, v.ssec!.iv!) : hashed, v.uuid);
      if (data.size !== meta.size) throw new S3Error('InternalError', `copy source read returned ${data.size} of ${meta.size} bytes`);
      const plainMd5 = (await md5.digest()).md5.toString('hex');
      v.meta.etag = sseCEtag(dstKey, plainMd5);
      existing = (await ctx.store.objects.get(b.id, key)) ?? null;
    } catch (e) {
      md5.abort();
      await ctx.store.releaseRefs(v.uuid, data?.blocks ?? Store.landedBlocks(e)).catch(() => {});
      throw e;
    }
    await commitVersion(ctx.store, { bucket: b, key, version: v, data: writtenData(data), existing, stamp: 'now', mayCommit });
  } else if (sv.inline) {
    await commit({ inline: sv.inline });
  } else if (sv.blocks) {
    // Same content, same blocks: the copy only adds references.
    await commit({ shared: sv.blocks });
  } else {
    const ve = await ctx.store.versions.get(sv.uuid, '');
    if (!ve || ve.deleted) throw new S3Error('InternalError', 'source object data is missing');
    await commit({ listed: ve.blocks });
  }
  const h: Record<string, string> = { ...versionHeader(b, v), ...keyHeaders(dstKey) };
  if (src.bucket.versioning.v !== null) h['x-amz-copy-source-version-id'] = versionIdOf(sv);
  sendXml(ctx, 200, 'CopyObjectResult', { ETag: `"${v.meta.etag}"`, LastModified: isoDate(v.ts) }, h);
}

