// PostObject: browser form uploads authorised by a signed POST policy (or, on a bucket whose ACL
// or policy allows public writes, by nobody) instead of a signed request.
import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { S3Ctx } from '../context.ts';
import { S3Error } from '../errors.ts';
import { toXml } from '../xml.ts';
import { applyCors } from '../cors.ts';
import { authorize } from '../authz/authorize.ts';
import { requireUsableKey } from '../auth/key-usable.ts';
import { checkHeaderValue, checkObjectKey } from '../input-limits.ts';
import { checkQuota, keySecret, newVersion, prefetchObject, storedHeaders } from './common.ts';
import { overLimitError } from './object.ts';
import { newObjectAcl } from './acl.ts';
import { newVersionRegisters } from './object-lock.ts';
import { newRecord, requestKey, sseCEtag } from '../sse-c.ts';
import { cryptStream } from '../../../model/sse-c-cipher.ts';
import { requestScheme } from '../forwarded.ts';
import { checkTags, parseTaggingXml } from './tagging.ts';
import { requireClientWaiting } from './late-write.ts';
import { readPostForm, type PostForm } from './post-form.ts';
import { checkContentLengthRange, verifyPostForm } from './post-policy.ts';
import { closeAfterAnswer } from '../../../util/lingering-close.ts';
import { Store } from '../../../model/store.ts';
import type { Bucket, Perm } from '../../../model/bucket.ts';
import { capBytes, remainingQuota } from '../../../model/write-cap.ts';
import { versionIdOf, type ObjectEntry } from '../../../model/object.ts';
import { commitVersion, writtenData } from '../../../model/commit.ts';
import { OBJECT_TAGS_MAX } from '../../../model/tags.ts';

const NO_PERM: Perm = { read: false, write: false, owner: false };

/** Form fields that act as the request header of the same name on PutObject. */
const HEADER_FIELDS = ['cache-control', 'content-type', 'content-disposition', 'content-encoding', 'content-language', 'expires', 'x-amz-website-redirect-location', 'x-amz-storage-class'];
const HEADER_FIELD_PREFIXES = ['x-amz-meta-', 'x-amz-object-lock-', 'x-amz-server-side-encryption-customer-'];
/** What an x-amz-meta-* field name may be: an HTTP header name token. */
const TOKEN = /^[!#$%&'*+.^_`|~0-9a-z-]+$/;

/** The form's fields as the request headers PutObject would have had (acl → x-amz-acl). The
 *  values are sent back as response headers on GET, so they must be valid header text. */
export function formHeaders(form: Pick<PostForm, 'fields' | 'fileContentType'>): IncomingHttpHeaders {
  const h: IncomingHttpHeaders = {};
  for (const [name, value] of form.fields) {
    let header: string | undefined;
    if (name === 'acl') header = 'x-amz-acl';
    else if (HEADER_FIELDS.includes(name) || HEADER_FIELD_PREFIXES.some((p) => name.startsWith(p))) header = name;
    if (header === undefined) continue;
    if (!TOKEN.test(header)) throw new S3Error('InvalidArgument', `The form field name '${header.slice(0, 64)}' is not a valid header name.`, { ArgumentName: header.slice(0, 64) });
    checkHeaderValue(header, value);
    h[header] = value;
  }
  if (h['content-type'] === undefined && form.fileContentType !== undefined) {
    checkHeaderValue('content-type', form.fileContentType);
    h['content-type'] = form.fileContentType;
  }
  return h;
}

/** The request as the model's header readers (ACL, lock, authz conditions) should see it. */
function withHeaders(req: IncomingMessage, headers: IncomingHttpHeaders): IncomingMessage {
  return Object.create(req, { headers: { value: headers, enumerable: true } }) as IncomingMessage;
}

/** Yields the file while hashing and counting it. */
async function* measured(src: AsyncIterable<Buffer>, md5: ReturnType<typeof createHash>, counted: { size: number }): AsyncGenerator<Buffer> {
  for await (const c of src) {
    md5.update(c);
    counted.size += c.length;
    yield c;
  }
}

export async function PostObject(ctx: S3Ctx): Promise<void> {
  const name = ctx.bucketName!;
  const b = await ctx.store.bucketByName(name);
  if (!b) throw new S3Error('NoSuchBucket', 'The specified bucket does not exist', { BucketName: name });
  // A browser's script reads the answer (and the error) only with the bucket's CORS headers.
  applyCors(ctx.req, ctx.res, b);
  // Bounded: only the fields before the file are read here (post-form.ts).
  const form = await readPostForm(ctx.req, ctx.req.headers['content-type']);
  try {
    await authorizeAndStore(ctx, b, form);
  } catch (e) {
    form.release();
    throw e;
  }
}

async function authorizeAndStore(ctx: S3Ctx, b: Bucket, form: PostForm): Promise<void> {
  const name = ctx.bucketName!;
  const auth = verifyPostForm(form.fields, (id) => keySecret(ctx.store, id), ctx.settings.region, Date.now(), { bucket: name, filename: form.filename });
  checkObjectKey(auth.key);
  // The same check as a signed request's: a deleted or expired key's form is refused.
  const accessKey = auth.accessKeyId === undefined ? undefined : requireUsableKey(await ctx.store.key(auth.accessKeyId), Date.now());
  const headers = formHeaders(form);
  // The form's fields stand for PutObject's headers: the same decision (authz/decide.ts) and the
  // same ACL, tag and lock registers, read from them.
  const fctx: S3Ctx = { ...ctx, req: withHeaders(ctx.req, headers), bucket: b, key: auth.key, perm: (accessKey && b.keys[accessKey.id]?.v) || NO_PERM };
  if (accessKey) fctx.accessKey = accessKey;
  else delete fctx.accessKey;
  await authorize(fctx, 'PutObject');
  await post(ctx, fctx, b, auth.key, form, headers, auth.contentLengthRange);
}

async function post(ctx: S3Ctx, fctx: S3Ctx, b: Bucket, key: string, form: PostForm, fieldHeaders: IncomingHttpHeaders, range: { min: number; max: number } | undefined): Promise<void> {
  const stored = storedHeaders(fieldHeaders);
  const tagging = form.fields.get('tagging');
  const tags = tagging === undefined ? undefined : checkTags(parseTaggingXml(tagging, OBJECT_TAGS_MAX), OBJECT_TAGS_MAX);
  await checkQuota(ctx.store, b, 0, 1);
  const maxBytes = ctx.store.limits.object_bytes_max;
  const limit = Math.min(range?.max ?? maxBytes, maxBytes);
  // The file's length is unknown until its boundary: stop at the first byte past the room left.
  const room = await remainingQuota(ctx.store, b);
  const existing = prefetchObject(ctx.store, b, key);
  const v = newVersion(ctx.store, b);
  v.acl = await newObjectAcl(fctx, b);
  Object.assign(v, newVersionRegisters(fctx, b, tags && tags.length > 0 ? { t: ctx.store.ts(), v: tags } : undefined));
  // SSE-C from the form's fields (sse-c.ts: never stored, the file encrypted as PutObject's body).
  const sseKey = requestKey(fctx);
  if (sseKey) v.ssec = newRecord(sseKey, true);
  const md5 = createHash('md5');
  const counted = { size: 0 };
  const over = (which: 'quota' | 'size'): S3Error =>
    which === 'size' && limit < maxBytes
      ? new S3Error('EntityTooLarge', 'Your proposed upload exceeds the maximum allowed size', { MaxSizeAllowed: String(limit) })
      : overLimitError(b, maxBytes, which);
  let data: Awaited<ReturnType<Store['writeData']>> | undefined;
  let prev: ObjectEntry | null;
  try {
    const file = capBytes(measured(form.file, md5, counted), { quota: room, size: limit }, over);
    data = await ctx.store.writeData(sseKey ? cryptStream(file, sseKey.key, v.ssec!.iv!) : file, v.uuid);
    checkContentLengthRange(range, counted.size);
    await checkQuota(ctx.store, b, counted.size, 1);
    // Fields after the file are ignored, as S3 does, but read (boundedly) before the answer: a
    // client still sending when the connection closes would see a reset, not the answer.
    if (!(await form.finish())) closeAfterAnswer(ctx.req, ctx.res);
    const plainMd5 = md5.digest('hex');
    v.meta = { size: counted.size, etag: sseCEtag(sseKey, plainMd5), headers: stored };
    prev = await existing;
  } catch (e) {
    // Nothing points at these blocks yet: give the space back now.
    await ctx.store.releaseRefs(v.uuid, data?.blocks ?? Store.landedBlocks(e)).catch(() => {});
    throw e;
  }
  // As PutObject's commit (model/commit.ts): only while the client still waits (late-write.ts),
  // stamped then, so of two overlapping POSTs the one that finishes last wins.
  await commitVersion(ctx.store, { bucket: b, key, version: v, data: writtenData(data), existing: prev, stamp: 'now', mayCommit: () => requireClientWaiting(ctx, 'PostObject') });
  answer(ctx, b, key, form, v.meta.etag, versionIdOf(v));
}

/** success_action_redirect (303 with bucket, key and etag), else success_action_status 200/201
 *  (with the PostResponse document)/204, anything else being 204, as S3. */
function answer(ctx: S3Ctx, b: Bucket, key: string, form: PostForm, etag: string, versionId: string): void {
  const name = ctx.bucketName!;
  const h: Record<string, string> = { etag: `"${etag}"` };
  if (b.versioning.v !== null) h['x-amz-version-id'] = versionId;
  const location = `/${encodeURIComponent(name)}/${key.split('/').map(encodeURIComponent).join('/')}`;
  const redirect = form.fields.get('success_action_redirect') ?? form.fields.get('redirect');
  if (redirect) {
    try {
      const u = new URL(redirect);
      if (u.protocol === 'http:' || u.protocol === 'https:') {
        u.searchParams.set('bucket', name);
        u.searchParams.set('key', key);
        u.searchParams.set('etag', `"${etag}"`);
        ctx.res.writeHead(303, { ...h, location: u.toString(), 'content-length': 0 });
        ctx.res.end();
        return;
      }
    } catch {
      // S3 ignores an unparsable redirect and falls back to the status code.
    }
  }
  const status = form.fields.get('success_action_status')?.trim();
  if (status === '201') {
    // S3's PostResponse carries no namespace; its Location is absolute.
    const host = ctx.req.headers.host;
    const scheme = requestScheme(ctx.req);
    const xml = toXml('PostResponse', { Location: host ? `${scheme}://${host}${location}` : location, Bucket: name, Key: key, ETag: `"${etag}"` }, false);
    ctx.res.writeHead(201, { ...h, location, 'content-type': 'application/xml', 'content-length': Buffer.byteLength(xml) });
    ctx.res.end(xml);
    return;
  }
  ctx.res.writeHead(status === '200' ? 200 : 204, { ...h, location, 'content-length': 0 });
  ctx.res.end();
}
