// S3 tagging: Put/Get/DeleteObjectTagging (per version), Put/Get/DeleteBucketTagging, and the tag
// set a new version gets from x-amz-tagging (PutObject, CopyObject, CreateMultipartUpload, POST).
import type { S3Ctx } from '../context.ts';
import { readSmallBody, requireBucket, requireKey, sendEmpty } from '../context.ts';
import { S3Error } from '../errors.ts';
import { child, children, escapeXml, parseXml } from '../xml.ts';
import { nextTs, type Lww } from '../../../table/crdt.ts';
import type { Bucket } from '../../../model/bucket.ts';
import { versionIdOf, type ObjectVersion } from '../../../model/object.ts';
import { BUCKET_TAGS_MAX, OBJECT_TAGS_MAX, sortTags, tagSetError, type TagSet } from '../../../model/tags.ts';
import { selectVersion } from './object-read.ts';

/** A Tagging document of 50 tags of 128 + 256 characters (4 bytes each at most) fits well. */
const TAGGING_BODY_MAX = 256 * 1024;

function invalidTag(why: string): S3Error {
  return new S3Error('InvalidTag', why);
}

/** Validates and sorts a tag set (InvalidTag as AWS). */
export function checkTags(tags: TagSet, max: number): TagSet {
  const why = tagSetError(tags, max);
  if (why) throw invalidTag(why);
  return sortTags(tags);
}

/** <Tagging><TagSet><Tag><Key/><Value/></Tag>…</TagSet></Tagging> → tags (verbatim, unsorted). */
export function parseTaggingXml(xml: string, max: number): TagSet {
  const root = parseXml(xml);
  if (root.name !== 'Tagging') throw new S3Error('MalformedXML', `expected a Tagging document, not ${root.name}`);
  const set = child(root, 'TagSet');
  if (!set) throw new S3Error('MalformedXML', 'the Tagging document has no TagSet');
  const els = children(set, 'Tag');
  if (els.length > max) throw invalidTag(`Object tags cannot be greater than ${max}`);
  return els.map((el): [string, string] => {
    const k = child(el, 'Key');
    if (!k) throw new S3Error('MalformedXML', 'a Tag has no Key');
    return [k.text, child(el, 'Value')?.text ?? ''];
  });
}

/** x-amz-tagging: URL query encoded ("a=1&b"); undefined when the header is absent. */
export function parseTaggingHeader(value: string | string[] | undefined): TagSet | undefined {
  if (value === undefined) return undefined;
  const s = Array.isArray(value) ? value.join('&') : value;
  const tags: TagSet = [];
  for (const part of s.split('&')) {
    if (part === '') continue;
    if (tags.length >= OBJECT_TAGS_MAX) throw invalidTag(`Object tags cannot be greater than ${OBJECT_TAGS_MAX}`);
    const eq = part.indexOf('=');
    const dec = (x: string) => {
      try {
        return decodeURIComponent(x.replace(/\+/g, ' '));
      } catch {
        throw new S3Error('InvalidArgument', 'x-amz-tagging is not valid URL query encoding', { ArgumentName: 'x-amz-tagging' });
      }
    };
    tags.push(eq < 0 ? [dec(part), ''] : [dec(part.slice(0, eq)), dec(part.slice(eq + 1))]);
  }
  return checkTags(tags, OBJECT_TAGS_MAX);
}

/** The tag register a new version gets from the request's x-amz-tagging (undefined: none). */
export function requestTags(ctx: S3Ctx): Lww<TagSet> | undefined {
  const tags = parseTaggingHeader(ctx.req.headers['x-amz-tagging']);
  return tags && tags.length > 0 ? { t: ctx.store.ts(), v: tags } : undefined;
}

/** A version's tag count for x-amz-tagging-count (GET/HEAD), or undefined when it has none. */
export function tagCount(v: ObjectVersion): number | undefined {
  const n = v.tags?.v.length ?? 0;
  return n > 0 ? n : undefined;
}

function sendTagging(ctx: S3Ctx, tags: TagSet, headers: Record<string, string> = {}): void {
  const body = tags.map(([k, v]) => `<Tag><Key>${escapeXml(k)}</Key><Value>${escapeXml(v)}</Value></Tag>`).join('');
  const xml = `<?xml version="1.0" encoding="UTF-8"?><Tagging xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><TagSet>${body}</TagSet></Tagging>`;
  ctx.res.writeHead(200, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(xml), ...headers });
  ctx.res.end(xml);
}

function versionHeaders(b: Bucket, v: ObjectVersion): Record<string, string> {
  return b.versioning.v !== null ? { 'x-amz-version-id': versionIdOf(v) } : {};
}

async function addressed(ctx: S3Ctx): Promise<{ b: Bucket; key: string; v: ObjectVersion }> {
  const b = requireBucket(ctx);
  const key = requireKey(ctx);
  const v = selectVersion(await ctx.store.objects.get(b.id, key), key, ctx.query.get('versionId'));
  return { b, key, v };
}

/** Rewrites only the version's tag register: same version, same timestamp (Last-Modified stays). */
async function setVersionTags(ctx: S3Ctx, b: Bucket, key: string, v: ObjectVersion, tags: TagSet): Promise<void> {
  await ctx.store.objects.insert({ bucket: b.id, key, versions: [{ ...v, tags: { t: nextTs(ctx.store.ts(), v.tags), v: tags } }] });
}

export async function GetObjectTagging(ctx: S3Ctx): Promise<void> {
  const { b, v } = await addressed(ctx);
  sendTagging(ctx, v.tags?.v ?? [], versionHeaders(b, v));
}

export async function PutObjectTagging(ctx: S3Ctx): Promise<void> {
  const { b, key, v } = await addressed(ctx);
  const tags = checkTags(parseTaggingXml(await readSmallBody(ctx, TAGGING_BODY_MAX), OBJECT_TAGS_MAX), OBJECT_TAGS_MAX);
  await setVersionTags(ctx, b, key, v, tags);
  sendEmpty(ctx, 200, versionHeaders(b, v));
}

export async function DeleteObjectTagging(ctx: S3Ctx): Promise<void> {
  const { b, key, v } = await addressed(ctx);
  if (v.tags?.v.length) await setVersionTags(ctx, b, key, v, []);
  sendEmpty(ctx, 204, versionHeaders(b, v));
}

export async function GetBucketTagging(ctx: S3Ctx): Promise<void> {
  const b = requireBucket(ctx);
  const tags = b.tags?.v;
  if (!tags) throw new S3Error('NoSuchTagSet', 'The TagSet does not exist', { BucketName: ctx.bucketName ?? '' });
  sendTagging(ctx, tags);
}

export async function PutBucketTagging(ctx: S3Ctx): Promise<void> {
  const b = requireBucket(ctx);
  const tags = checkTags(parseTaggingXml(await readSmallBody(ctx, TAGGING_BODY_MAX), BUCKET_TAGS_MAX), BUCKET_TAGS_MAX);
  ctx.bucket = await ctx.store.buckets.insert({ ...b, tags: { t: nextTs(ctx.store.ts(), b.tags), v: tags } });
  sendEmpty(ctx, 204);
}

export async function DeleteBucketTagging(ctx: S3Ctx): Promise<void> {
  const b = requireBucket(ctx);
  if (b.tags?.v) ctx.bucket = await ctx.store.buckets.insert({ ...b, tags: { t: nextTs(ctx.store.ts(), b.tags), v: null } });
  sendEmpty(ctx, 204);
}
