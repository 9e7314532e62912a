// The source side of CopyObject and UploadPartCopy: x-amz-copy-source resolution with the
// caller's read permission on the source bucket, copy preconditions and the copy-source range.
import type { IncomingHttpHeaders } from 'node:http';
import type { Bucket } from '../../../model/bucket.ts';
import { findVersion, liveVersion, currentVersion, type ObjectVersion } from '../../../model/object.ts';
import type { S3Ctx } from '../context.ts';
import { S3Error } from '../errors.ts';
import { etagMatches } from './common.ts';
import { checkObjectKey } from '../input-limits.ts';
import { authorizeCopySource } from '../authz/authorize.ts';

export interface CopySource {
  bucket: Bucket;
  bucketName: string;
  key: string;
  version: ObjectVersion;
  /** The versionId the client named, if any (echoed as x-amz-copy-source-version-id). */
  versionId?: string;
}

function header(h: IncomingHttpHeaders, name: string): string | undefined {
  const v = h[name];
  return Array.isArray(v) ? v.join(',') : v;
}

function decode(s: string, what: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw new S3Error('InvalidArgument', `x-amz-copy-source ${what} is not correctly URL-encoded`, { ArgumentName: 'x-amz-copy-source' });
  }
}

/** Splits "/bucket/key?versionId=…" (or without the leading slash). The query is split off before
 *  decoding, so a key containing an encoded "?" stays part of the key. */
export function parseCopySource(raw: string): { bucketName: string; key: string; versionId?: string } {
  const bad = (why: string): never => {
    throw new S3Error('InvalidArgument', `Invalid copy source: ${why}. Use x-amz-copy-source: bucket/key[?versionId=id], URL-encoded.`, {
      ArgumentName: 'x-amz-copy-source',
      ArgumentValue: raw,
    });
  };
  let s = raw.trim();
  let versionId: string | undefined;
  const q = s.indexOf('?');
  if (q >= 0) {
    const params = new URLSearchParams(s.slice(q + 1));
    for (const k of params.keys()) if (k !== 'versionId') bad(`unknown parameter ${k}`);
    versionId = params.get('versionId') ?? undefined;
    if (versionId === '') bad('empty versionId');
    s = s.slice(0, q);
  }
  if (s.startsWith('/')) s = s.slice(1);
  const slash = s.indexOf('/');
  if (slash <= 0) bad('it must name a bucket and a key');
  const bucketName = decode(s.slice(0, slash), 'bucket');
  const key = decode(s.slice(slash + 1), 'key');
  if (key === '') bad('the key is empty');
  checkObjectKey(key);
  return versionId === undefined ? { bucketName, key } : { bucketName, key, versionId };
}

/** Finds the source version named by x-amz-copy-source, checking read permission on its bucket. */
export async function resolveCopySource(ctx: S3Ctx): Promise<CopySource> {
  const raw = header(ctx.req.headers, 'x-amz-copy-source');
  if (raw === undefined || raw.trim() === '') throw new S3Error('InvalidArgument', 'x-amz-copy-source is required', { ArgumentName: 'x-amz-copy-source' });
  const { bucketName, key, versionId } = parseCopySource(raw);
  const bucket = await ctx.store.bucketByName(bucketName);
  if (!bucket) throw new S3Error('NoSuchBucket', 'The specified source bucket does not exist', { BucketName: bucketName });
  const entry = await ctx.store.objects.get(bucket.id, key);
  let version: ObjectVersion | undefined;
  if (versionId !== undefined) {
    version = findVersion(entry, versionId);
    if (!version) throw new S3Error('NoSuchVersion', 'The specified version does not exist.', { Key: key, VersionId: versionId });
    if (version.deleteMarker)
      throw new S3Error('InvalidRequest', 'The source of a copy request may not specifically refer to a delete marker by version id.');
  } else {
    version = liveVersion(entry);
    if (!version) {
      const extra: Record<string, string> = { Key: key };
      if (currentVersion(entry)?.deleteMarker) extra['DeleteMarker'] = 'true';
      throw new S3Error('NoSuchKey', 'The specified copy source key does not exist.', extra);
    }
  }
  // Read permission on the source version: flags, its bucket's policy or its ACL (authz/).
  await authorizeCopySource(ctx, bucket, bucketName, key, version, versionId);
  const out: CopySource = { bucket, bucketName, key, version };
  if (versionId !== undefined) out.versionId = versionId;
  return out;
}

function parseDate(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const t = Date.parse(v);
  // An unparsable date is ignored, as HTTP says for If-Modified-Since.
  return Number.isNaN(t) ? undefined : t;
}

/** x-amz-copy-source-if-* per S3: If-Match overrides a failing If-Unmodified-Since, and
 *  If-None-Match overrides If-Modified-Since. Dates compare at one-second precision. */
export function checkCopyConditions(h: IncomingHttpHeaders, v: ObjectVersion): void {
  const etag = v.meta?.etag ?? '';
  const lastModified = Math.floor(v.ts / 1000) * 1000;
  const fail = (condition: string): never => {
    throw new S3Error('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', { Condition: condition });
  };
  const im = header(h, 'x-amz-copy-source-if-match');
  const inm = header(h, 'x-amz-copy-source-if-none-match');
  const ius = parseDate(header(h, 'x-amz-copy-source-if-unmodified-since'));
  const ims = parseDate(header(h, 'x-amz-copy-source-if-modified-since'));
  if (im !== undefined) {
    if (!etagMatches(im, etag)) fail('x-amz-copy-source-If-Match');
  } else if (ius !== undefined && lastModified > ius) fail('x-amz-copy-source-If-Unmodified-Since');
  if (inm !== undefined) {
    if (etagMatches(inm, etag)) fail('x-amz-copy-source-If-None-Match');
  } else if (ims !== undefined && lastModified <= ims) fail('x-amz-copy-source-If-Modified-Since');
}

/** x-amz-copy-source-range "bytes=first-last" (inclusive) → [start, end) within an object of `size`. */
export function parseCopyRange(value: string | undefined, size: number): { start: number; end: number } {
  if (value === undefined) return { start: 0, end: size };
  const m = /^bytes=(\d{1,16})-(\d{1,16})$/.exec(value.trim());
  if (!m)
    throw new S3Error('InvalidArgument', 'The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy', {
      ArgumentName: 'x-amz-copy-source-range',
      ArgumentValue: value,
    });
  const first = Number(m[1]);
  const last = Number(m[2]);
  if (first > last) throw new S3Error('InvalidArgument', `x-amz-copy-source-range: first byte ${first} is after last byte ${last}`, { ArgumentName: 'x-amz-copy-source-range', ArgumentValue: value });
  if (last >= size) throw new S3Error('InvalidRange', `The requested range is not satisfiable: the source object has ${size} bytes`, { RangeRequested: value, ActualObjectSize: String(size) });
  return { start: first, end: last + 1 };
}
