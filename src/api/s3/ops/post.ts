// PostObject: browser form uploads authorised by a signed POST policy instead of a signed request.
import { createHash } from 'node:crypto';
import { Transform } from 'node:stream';
import type { S3Ctx } from '../context.ts';
import { sendXml } from '../context.ts';
import { S3Error } from '../errors.ts';
import { parseFormUpload, verifyPostPolicy } from '../auth/index.ts';
import { checkContentLengthRange } from '../auth/policy.ts';
import { checkQuota, keySecret, newVersion, putVersion, storedHeaders } from './common.ts';
import { overLimitError } from './object.ts';
import { Store } from '../../../model/store.ts';
import { remainingQuota } from '../../../model/write-cap.ts';
import { versionIdOf } from '../../../model/object.ts';

export async function PostObject(ctx: S3Ctx): Promise<void> {
  const name = ctx.bucketName!;
  const form = await parseFormUpload(ctx.req, String(ctx.req.headers['content-type']));
  const policy = verifyPostPolicy(form.fields, (id) => keySecret(ctx.store, id), ctx.settings.region, Date.now(), undefined, {
    bucket: name,
    filename: form.filename,
  });
  const b = await ctx.store.bucketByName(name);
  if (!b) throw new S3Error('NoSuchBucket', 'The specified bucket does not exist', { BucketName: name });
  const key = await ctx.store.key(policy.accessKeyId);
  if (!key) throw new S3Error('InvalidAccessKeyId', 'The AWS access key Id you provided does not exist in our records.');
  if (!b.keys[key.id]?.v.write) throw new S3Error('AccessDenied', 'Access Denied');
  if (policy.key === '' || Buffer.byteLength(policy.key) > 1024) throw new S3Error('InvalidArgument', 'the key field must be 1 to 1024 bytes');
  const fieldHeaders: Record<string, string> = {};
  for (const [k, v] of Object.entries(form.fields)) fieldHeaders[k] = v;
  if (!fieldHeaders['content-type'] && form.fileContentType) fieldHeaders['content-type'] = form.fileContentType;
  const headers = storedHeaders(fieldHeaders);
  await checkQuota(ctx.store, b, 0, 1);
  const md5 = createHash('md5');
  let size = 0;
  const maxBytes = ctx.store.limits.object_bytes_max;
  const limit = Math.min(policy.contentLengthRange?.max ?? maxBytes, maxBytes);
  // The file's length is unknown until its boundary: stop at the first byte past the room left.
  const room = await remainingQuota(ctx.store, b);
  const meter = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      size += chunk.length;
      if (size > limit) return cb(new S3Error('EntityTooLarge', 'Your proposed upload exceeds the maximum allowed size', { MaxSizeAllowed: String(limit) }));
      if (size > room) return cb(overLimitError(b, maxBytes, 'quota'));
      md5.update(chunk);
      cb(null, chunk);
    },
  });
  form.file.on('error', (e) => meter.destroy(e));
  const v = newVersion(ctx.store, b);
  let data: Awaited<ReturnType<Store['writeData']>> | undefined;
  try {
    data = await ctx.store.writeData(form.file.pipe(meter), v.uuid);
    checkContentLengthRange(policy.contentLengthRange, size);
    await checkQuota(ctx.store, b, size, 1);
  } catch (e) {
    // Nothing points at these blocks yet: give the space back now.
    await ctx.store.releaseRefs(v.uuid, data?.blocks ?? Store.landedBlocks(e)).catch(() => {});
    throw e;
  }
  const etag = md5.digest('hex');
  v.meta = { size, etag, headers };
  if (!data.inline) {
    let offset = 0;
    await ctx.store.saveVersionBlocks(
      v.uuid,
      data.blocks.map((x) => {
        const r = { part: 0, offset, hash: x.hash, size: x.size };
        offset += x.size;
        return r;
      }),
    );
  }
  await putVersion(ctx.store, b, policy.key, { ...v, state: 'complete', inline: data.inline });
  ctx.req.resume(); // fields after the file are ignored, as S3 does
  const h: Record<string, string> = { etag: `"${etag}"` };
  if (b.versioning.v !== null) h['x-amz-version-id'] = versionIdOf(v);
  const location = `/${encodeURIComponent(name)}/${policy.key.split('/').map(encodeURIComponent).join('/')}`;
  const redirect = form.fields['success_action_redirect'] ?? form.fields['redirect'];
  if (redirect) {
    try {
      const u = new URL(redirect);
      u.searchParams.set('bucket', name);
      u.searchParams.set('key', policy.key);
      u.searchParams.set('etag', `"${etag}"`);
      ctx.res.writeHead(303, { ...h, location: u.toString(), 'content-length': 0 });
      ctx.res.end();
      return;
    } catch {
      // S3 ignores an unparsable redirect and falls back to the status code.
    }
  }
  const status = Number(form.fields['success_action_status'] ?? '204');
  if (status === 201) {
    sendXml(ctx, 201, 'PostResponse', { Location: location, Bucket: name, Key: policy.key, ETag: `"${etag}"` }, { ...h, location });
    return;
  }
  ctx.res.writeHead(status === 200 ? 200 : 204, { ...h, location, 'content-length': 0 });
  ctx.res.end();
}
