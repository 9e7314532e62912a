// S3 API tests through @aws-sdk/client-s3 against a real `grenier server` process:
// buckets, objects, conditionals, ranges, copy, batch delete, versioning, big listings,
// multipart, authentication failures and unimplemented operations.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import {
  S3Client,
  CreateBucketCommand,
  ListBucketsCommand,
  HeadBucketCommand,
  DeleteBucketCommand,
  GetBucketLocationCommand,
  PutObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  CopyObjectCommand,
  PutBucketVersioningCommand,
  GetBucketVersioningCommand,
  ListObjectVersionsCommand,
  ListObjectsV2Command,
  ListObjectsCommand,
  CreateMultipartUploadCommand,
  UploadPartCommand,
  CompleteMultipartUploadCommand,
  AbortMultipartUploadCommand,
  ListPartsCommand,
  ListMultipartUploadsCommand,
  GetBucketLoggingCommand,
  GetBucketAccelerateConfigurationCommand,
  PutObjectTaggingCommand,
  GetObjectTaggingCommand,
  PutObjectRetentionCommand,
  GetObjectRetentionCommand,
  PutObjectLockConfigurationCommand,
  GetObjectAttributesCommand,
  type ListObjectsV2CommandOutput,
  type UploadPartCommandOutput,
} from '@aws-sdk/client-s3';
import { startNode, s3Client, type TestNode } from './lib/node.ts';

let node: TestNode;
let s3: S3Client;

before(async () => {
  // Durability is not under test here; without metadata fsync the 10,050 PUTs take ~14 s instead of ~42 s.
  node = await startNode({ extraConfig: 'metadata_fsync = false' });
  s3 = s3Client(node);
});
after(async () => {
  s3?.destroy();
  await node?.stop();
});

const md5b64 = (b: Buffer | string) => createHash('md5').update(b).digest('base64');
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** Asserts that `p` rejects with the given HTTP status (and S3 error code, when given). */
async function rejectsWith(p: Promise<unknown>, status: number, code?: string): Promise<any> {
  let err: any;
  try {
    await p;
  } catch (e) {
    err = e;
  }
  assert.ok(err, `expected HTTP ${status}${code ? ' ' + code : ''}, but the request succeeded`);
  assert.equal(err.$metadata?.httpStatusCode, status, `expected HTTP ${status}, got ${err.$metadata?.httpStatusCode} (${err.name}: ${err.message})`);
  if (code) assert.equal(err.Code ?? err.name, code, `expected error code ${code}, got ${err.Code ?? err.name}: ${err.message}`);
  return err;
}

async function body(bucket: string, key: string, extra: Record<string, unknown> = {}): Promise<Buffer> {
  const r = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, ...extra }));
  return Buffer.from(await r.Body!.transformToByteArray());
}

/** Runs fn over items with at most `limit` in flight. */
async function pool<T>(items: T[], limit: number, fn: (x: T) => Promise<void>): Promise<void> {
  let i = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (i < items.length) await fn(items[i++]!);
    }),
  );
}

test('buckets: create, list, head, location, delete (BucketNotEmpty first)', async () => {
  const b = 'sdk-buckets';
  await s3.send(new CreateBucketCommand({ Bucket: b }));
  const list = await s3.send(new ListBucketsCommand({}));
  assert.ok(list.Buckets?.some((x) => x.Name === b), `ListBuckets should include ${b}: ${JSON.stringify(list.Buckets)}`);
  const head = await s3.send(new HeadBucketCommand({ Bucket: b }));
  assert.equal(head.$metadata.httpStatusCode, 200);
  const loc = await s3.send(new GetBucketLocationCommand({ Bucket: b }));
  assert.equal(loc.LocationConstraint, node.region);

  // Like Garage and us-east-1, re-creating one's own bucket succeeds.
  await s3.send(new CreateBucketCommand({ Bucket: b }));
  await s3.send(new PutObjectCommand({ Bucket: b, Key: 'x', Body: 'x' }));
  await rejectsWith(s3.send(new DeleteBucketCommand({ Bucket: b })), 409, 'BucketNotEmpty');
  await s3.send(new DeleteObjectCommand({ Bucket: b, Key: 'x' }));
  // In an unversioned bucket, deleting the only object leaves the bucket empty (no visible marker).
  const vs = await s3.send(new ListObjectVersionsCommand({ Bucket: b }));
  assert.equal((vs.Versions ?? []).length + (vs.DeleteMarkers ?? []).length, 0);
  await s3.send(new DeleteBucketCommand({ Bucket: b }));
  await rejectsWith(s3.send(new HeadBucketCommand({ Bucket: b })), 404);
  await rejectsWith(s3.send(new GetObjectCommand({ Bucket: b, Key: 'x' })), 404, 'NoSuchBucket');
  const after = await s3.send(new ListBucketsCommand({}));
  assert.ok(!after.Buckets?.some((x) => x.Name === b), 'deleted bucket still listed');
});

test('objects: put, get, head, delete, user metadata round trip', async () => {
  const b = 'sdk-objects';
  await s3.send(new CreateBucketCommand({ Bucket: b }));
  const data = randomBytes(100_000);
  const put = await s3.send(
    new PutObjectCommand({
      Bucket: b,
      Key: 'dir/obj ünïcode+plus.bin',
      Body: data,
      ContentType: 'application/x-test',
      CacheControl: 'max-age=60',
      Metadata: { color: 'blue', 'multi-part-name': 'Value With Spaces' },
    }),
  );
  assert.equal(put.ETag, `"${createHash('md5').update(data).digest('hex')}"`);
  const head = await s3.send(new HeadObjectCommand({ Bucket: b, Key: 'dir/obj ünïcode+plus.bin' }));
  assert.equal(head.ContentLength, data.length);
  assert.equal(head.ContentType, 'application/x-test');
  assert.equal(head.CacheControl, 'max-age=60');
  assert.equal(head.ETag, put.ETag);
  assert.deepEqual(head.Metadata, { color: 'blue', 'multi-part-name': 'Value With Spaces' });
  assert.ok(head.LastModified instanceof Date);
  assert.equal(sha256(await body(b, 'dir/obj ünïcode+plus.bin')), sha256(data));

  // Empty and inline-sized objects.
  await s3.send(new PutObjectCommand({ Bucket: b, Key: 'empty', Body: '' }));
  assert.equal((await body(b, 'empty')).length, 0);
  assert.equal((await s3.send(new HeadObjectCommand({ Bucket: b, Key: 'empty' }))).ContentLength, 0);

  await s3.send(new DeleteObjectCommand({ Bucket: b, Key: 'dir/obj ünïcode+plus.bin' }));
  await rejectsWith(s3.send(new GetObjectCommand({ Bucket: b, Key: 'dir/obj ünïcode+plus.bin' })), 404, 'NoSuchKey');
  await rejectsWith(s3.send(new HeadObjectCommand({ Bucket: b, Key: 'dir/obj ünïcode+plus.bin' })), 404);
  // Deleting a missing key is a success (204).
  const del = await s3.send(new DeleteObjectCommand({ Bucket: b, Key: 'never-existed' }));
  assert.equal(del.$metadata.httpStatusCode, 204);
});

test('GetObject: Range (plain, open, suffix, 416) and response-content-type override', async () => {
  const b = 'sdk-range';
  // Response checksum validation is tested separately below; here only ranges are under test.
  const s3 = s3Client(node, { responseChecksumValidation: 'WHEN_REQUIRED' });
  const body = async (bucket: string, key: string, extra: Record<string, unknown> = {}) =>
    Buffer.from(await (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, ...extra }))).Body!.transformToByteArray());
  await s3.send(new CreateBucketCommand({ Bucket: b }));
  const small = Buffer.from('0123456789');
  await s3.send(new PutObjectCommand({ Bucket: b, Key: 'small', Body: small, ContentType: 'text/plain' }));
  const big = randomBytes(3 * 1024 * 1024 + 17); // several blocks
  await s3.send(new PutObjectCommand({ Bucket: b, Key: 'big', Body: big }));

  const r1 = await s3.send(new GetObjectCommand({ Bucket: b, Key: 'small', Range: 'bytes=2-5' }));
  assert.equal(r1.$metadata.httpStatusCode, 206);
  assert.equal(r1.ContentRange, 'bytes 2-5/10');
  assert.equal(r1.ContentLength, 4);
  assert.equal(await r1.Body!.transformToString(), '2345');
  assert.equal((await body(b, 'small', { Range: 'bytes=-5' })).toString(), '56789');
  assert.equal((await body(b, 'small', { Range: 'bytes=7-' })).toString(), '789');
  assert.equal((await body(b, 'small', { Range: 'bytes=8-100' })).toString(), '89');
  const err = await rejectsWith(s3.send(new GetObjectCommand({ Bucket: b, Key: 'small', Range: 'bytes=10-20' })), 416, 'InvalidRange');
  assert.ok(err);

  // Ranges across block boundaries of a multi-block object.
  const lo = 1024 * 1024 - 10;
  const hi = 2 * 1024 * 1024 + 10;
  const part = await body(b, 'big', { Range: `bytes=${lo}-${hi}` });
  assert.equal(sha256(part), sha256(big.subarray(lo, hi + 1)));
  const tail = await body(b, 'big', { Range: 'bytes=-5' });
  assert.deepEqual(tail, big.subarray(big.length - 5));

  const o = await s3.send(new GetObjectCommand({ Bucket: b, Key: 'small', ResponseContentType: 'application/json', ResponseCacheControl: 'no-store' }));
  assert.equal(o.ContentType, 'application/json');
  assert.equal(o.CacheControl, 'no-store');
  await o.Body!.transformToString();
  s3.destroy();
});

test('GetObject with checksum mode: full-object checksum on a full GET, none on a Range GET', async () => {
  const b = 'sdk-range-checksum';
  await s3.send(new CreateBucketCommand({ Bucket: b }));
  const data = Buffer.from('0123456789');
  // The SDK sends a CRC32 checksum with the PUT by default; the server stores it.
  await s3.send(new PutObjectCommand({ Bucket: b, Key: 'k', Body: data }));
  const full = await s3.send(new GetObjectCommand({ Bucket: b, Key: 'k', ChecksumMode: 'ENABLED' }));
  assert.equal(await full.Body!.transformToString(), '0123456789');
  assert.ok(full.ChecksumCRC32, 'a full GET with x-amz-checksum-mode: ENABLED returns the stored checksum');
  // S3 returns no full-object checksum for a range, so the SDK's validation must not trip on it.
  const part = await s3.send(new GetObjectCommand({ Bucket: b, Key: 'k', Range: 'bytes=2-5', ChecksumMode: 'ENABLED' }));
  assert.equal(await part.Body!.transformToString(), '2345');
});

test('GetObject conditionals: If-Match / If-None-Match / If-Modified-Since / If-Unmodified-Since', async () => {
  const b = 'sdk-cond';
  await s3.send(new CreateBucketCommand({ Bucket: b }));
  const put = await s3.send(new PutObjectCommand({ Bucket: b, Key: 'k', Body: 'conditional' }));
  const etag = put.ETag!;
  const head = await s3.send(new HeadObjectCommand({ Bucket: b, Key: 'k' }));
  const lm = head.LastModified!;

  assert.equal((await body(b, 'k', { IfMatch: etag })).toString(), 'conditional');
  await rejectsWith(s3.send(new GetObjectCommand({ Bucket: b, Key: 'k', IfMatch: '"0000"' })), 412, 'PreconditionFailed');
  await rejectsWith(s3.send(new GetObjectCommand({ Bucket: b, Key: 'k', IfNoneMatch: etag })), 304);
  assert.equal((await body(b, 'k', { IfNoneMatch: '"0000"' })).toString(), 'conditional');
  await rejectsWith(s3.send(new GetObjectCommand({ Bucket: b, Key: 'k', IfModifiedSince: new Date(lm.getTime() + 60_000) })), 304);
  assert.equal((await body(b, 'k', { IfModifiedSince: new Date(lm.getTime() - 60_000) })).toString(), 'conditional');
  await rejectsWith(s3.send(new GetObjectCommand({ Bucket: b, Key: 'k', IfUnmodifiedSince: new Date(lm.getTime() - 60_000) })), 412, 'PreconditionFailed');
  // If-Match wins over a failing If-Unmodified-Since (RFC 7232 §6, as S3 does).
  assert.equal((await body(b, 'k', { IfMatch: etag, IfUnmodifiedSince: new Date(lm.getTime() - 60_000) })).toString(), 'conditional');
  // HEAD follows the same rules.
  await rejectsWith(s3.send(new HeadObjectCommand({ Bucket: b, Key: 'k', IfNoneMatch: etag })), 304);
  await rejectsWith(s3.send(new HeadObjectCommand({ Bucket: b, Key: 'k', IfMatch: '"0000"' })), 412);
});

test('PutObject: Content-MD5 right and wrong (BadDigest), If-None-Match: * conditional create', async () => {
  const b = 'sdk-put';
  await s3.send(new CreateBucketCommand({ Bucket: b }));
  const data = Buffer.from('digest me');
  await s3.send(new PutObjectCommand({ Bucket: b, Key: 'md5', Body: data, ContentMD5: md5b64(data) }));
  assert.equal((await body(b, 'md5')).toString(), 'digest me');
  await rejectsWith(s3.send(new PutObjectCommand({ Bucket: b, Key: 'md5-bad', Body: data, ContentMD5: md5b64('something else') })), 400, 'BadDigest');
  await rejectsWith(s3.send(new HeadObjectCommand({ Bucket: b, Key: 'md5-bad' })), 404);
  // A wrong digest on a multi-block body must not leave a partial object either.
  const big = randomBytes(2 * 1024 * 1024 + 5);
  await rejectsWith(s3.send(new PutObjectCommand({ Bucket: b, Key: 'md5-bad-big', Body: big, ContentMD5: md5b64('x') })), 400, 'BadDigest');
  await rejectsWith(s3.send(new HeadObjectCommand({ Bucket: b, Key: 'md5-bad-big' })), 404);

  await s3.send(new PutObjectCommand({ Bucket: b, Key: 'once', Body: 'first', IfNoneMatch: '*' }));
  await rejectsWith(s3.send(new PutObjectCommand({ Bucket: b, Key: 'once', Body: 'second', IfNoneMatch: '*' })), 412, 'PreconditionFailed');
  assert.equal((await body(b, 'once')).toString(), 'first');
});

test('CopyObject: metadata directive COPY and REPLACE, x-amz-copy-source-if-match failing', async () => {
  const b = 'sdk-copy';
  await s3.send(new CreateBucketCommand({ Bucket: b }));
  const data = randomBytes(1_500_000);
  const src = await s3.send(new PutObjectCommand({ Bucket: b, Key: 'src', Body: data, ContentType: 'image/png', Metadata: { a: '1' } }));

  await s3.send(new CopyObjectCommand({ Bucket: b, Key: 'copy', CopySource: `${b}/src` }));
  const c1 = await s3.send(new HeadObjectCommand({ Bucket: b, Key: 'copy' }));
  assert.equal(c1.ContentType, 'image/png');
  assert.deepEqual(c1.Metadata, { a: '1' });
  assert.equal(c1.ETag, src.ETag);

  const r = await s3.send(
    new CopyObjectCommand({ Bucket: b, Key: 'replaced', CopySource: `${b}/src`, MetadataDirective: 'REPLACE', ContentType: 'text/plain', Metadata: { b: '2' } }),
  );
  assert.equal(r.CopyObjectResult?.ETag, src.ETag);
  const c2 = await s3.send(new HeadObjectCommand({ Bucket: b, Key: 'replaced' }));
  assert.equal(c2.ContentType, 'text/plain');
  assert.deepEqual(c2.Metadata, { b: '2' });
  assert.equal(sha256(await body(b, 'replaced')), sha256(data));

  await s3.send(new CopyObjectCommand({ Bucket: b, Key: 'cond-ok', CopySource: `${b}/src`, CopySourceIfMatch: src.ETag }));
  await rejectsWith(s3.send(new CopyObjectCommand({ Bucket: b, Key: 'cond', CopySource: `${b}/src`, CopySourceIfMatch: '"nope"' })), 412, 'PreconditionFailed');
  await rejectsWith(s3.send(new HeadObjectCommand({ Bucket: b, Key: 'cond' })), 404);
  await rejectsWith(s3.send(new CopyObjectCommand({ Bucket: b, Key: 'x', CopySource: `${b}/missing` })), 404, 'NoSuchKey');
});

test('DeleteObjects: quiet and verbose', async () => {
  const b = 'sdk-delete-objects';
  await s3.send(new CreateBucketCommand({ Bucket: b }));
  for (let i = 0; i < 6; i++) await s3.send(new PutObjectCommand({ Bucket: b, Key: `k${i}`, Body: `v${i}` }));

  const verbose = await s3.send(
    new DeleteObjectsCommand({ Bucket: b, Delete: { Objects: [{ Key: 'k0' }, { Key: 'k1' }, { Key: 'missing' }] } }),
  );
  assert.deepEqual(verbose.Deleted?.map((d) => d.Key).sort(), ['k0', 'k1', 'missing']);
  assert.equal(verbose.Errors?.length ?? 0, 0);

  const quiet = await s3.send(new DeleteObjectsCommand({ Bucket: b, Delete: { Quiet: true, Objects: [{ Key: 'k2' }, { Key: 'k3' }] } }));
  assert.equal(quiet.Deleted?.length ?? 0, 0, `quiet mode must not list deleted keys: ${JSON.stringify(quiet.Deleted)}`);
  assert.equal(quiet.Errors?.length ?? 0, 0);

  const left = await s3.send(new ListObjectsV2Command({ Bucket: b }));
  assert.deepEqual(left.Contents?.map((c) => c.Key), ['k4', 'k5']);
});

test('versioning: two versions, list versions, delete marker, GET by versionId, delete a version', async () => {
  const b = 'sdk-versioning';
  await s3.send(new CreateBucketCommand({ Bucket: b }));
  await s3.send(new PutBucketVersioningCommand({ Bucket: b, VersioningConfiguration: { Status: 'Enabled' } }));
  assert.equal((await s3.send(new GetBucketVersioningCommand({ Bucket: b }))).Status, 'Enabled');

  const v1 = await s3.send(new PutObjectCommand({ Bucket: b, Key: 'doc', Body: 'version one' }));
  const v2 = await s3.send(new PutObjectCommand({ Bucket: b, Key: 'doc', Body: 'version two' }));
  assert.ok(v1.VersionId && v2.VersionId && v1.VersionId !== v2.VersionId, `distinct version ids expected: ${v1.VersionId} ${v2.VersionId}`);
  assert.equal((await body(b, 'doc')).toString(), 'version two');

  const lv = await s3.send(new ListObjectVersionsCommand({ Bucket: b, Prefix: 'doc' }));
  assert.equal(lv.Versions?.length, 2);
  assert.deepEqual(lv.Versions?.map((v) => v.VersionId), [v2.VersionId, v1.VersionId], 'newest version first');
  assert.deepEqual(lv.Versions?.map((v) => v.IsLatest), [true, false]);

  const del = await s3.send(new DeleteObjectCommand({ Bucket: b, Key: 'doc' }));
  assert.equal(del.DeleteMarker, true);
  assert.ok(del.VersionId, 'a delete marker has a version id');
  await rejectsWith(s3.send(new GetObjectCommand({ Bucket: b, Key: 'doc' })), 404, 'NoSuchKey');
  assert.equal((await body(b, 'doc', { VersionId: v1.VersionId })).toString(), 'version one');
  assert.equal((await body(b, 'doc', { VersionId: v2.VersionId })).toString(), 'version two');

  const lv2 = await s3.send(new ListObjectVersionsCommand({ Bucket: b }));
  assert.equal(lv2.DeleteMarkers?.length, 1);
  assert.equal(lv2.DeleteMarkers?.[0]?.VersionId, del.VersionId);
  assert.equal(lv2.DeleteMarkers?.[0]?.IsLatest, true);
  assert.equal(lv2.Versions?.length, 2);
  // The current listing hides the key.
  assert.equal((await s3.send(new ListObjectsV2Command({ Bucket: b }))).KeyCount, 0);

  // Deleting a specific version removes only it.
  await s3.send(new DeleteObjectCommand({ Bucket: b, Key: 'doc', VersionId: v2.VersionId }));
  await rejectsWith(s3.send(new GetObjectCommand({ Bucket: b, Key: 'doc', VersionId: v2.VersionId })), 404);
  // Removing the delete marker makes v1 current again.
  await s3.send(new DeleteObjectCommand({ Bucket: b, Key: 'doc', VersionId: del.VersionId }));
  assert.equal((await body(b, 'doc')).toString(), 'version one');
  const lv3 = await s3.send(new ListObjectVersionsCommand({ Bucket: b }));
  assert.deepEqual(lv3.Versions?.map((v) => v.VersionId), [v1.VersionId]);
  assert.equal(lv3.DeleteMarkers?.length ?? 0, 0);
});

test('listing 10,050 keys: V2 paginated with prefix and delimiter, V1 with marker', { timeout: 180_000 }, async (t) => {
  const b = 'sdk-listing';
  await s3.send(new CreateBucketCommand({ Bucket: b }));
  const keys: string[] = [];
  for (let d = 0; d < 100; d++) for (let f = 0; f < 100; f++) keys.push(`d${String(d).padStart(2, '0')}/f${String(f).padStart(3, '0')}`);
  for (let i = 0; i < 50; i++) keys.push(`top-${String(i).padStart(2, '0')}`);
  const started = Date.now();
  await pool(keys, 32, async (k) => {
    await s3.send(new PutObjectCommand({ Bucket: b, Key: k, Body: k }));
  });
  t.diagnostic(`created ${keys.length} objects in ${Date.now() - started} ms`);
  const sorted = [...keys].sort();

  // Everything, no delimiter, default page size (1000).
  const all: string[] = [];
  let token: string | undefined;
  let pages = 0;
  do {
    const r = await s3.send(new ListObjectsV2Command({ Bucket: b, ContinuationToken: token }));
    assert.ok((r.KeyCount ?? 0) <= 1000);
    all.push(...(r.Contents ?? []).map((c) => c.Key!));
    token = r.IsTruncated ? r.NextContinuationToken : undefined;
    if (r.IsTruncated) assert.ok(token, 'IsTruncated without NextContinuationToken');
    assert.ok(++pages <= 20, 'too many pages');
  } while (token);
  assert.equal(all.length, keys.length);
  assert.equal(new Set(all).size, all.length, 'duplicate keys across pages');
  assert.deepEqual(all, sorted, 'keys must come in lexicographic order');

  // Delimiter, odd page size so common prefixes and keys straddle page boundaries.
  const prefixes: string[] = [];
  const top: string[] = [];
  token = undefined;
  pages = 0;
  do {
    const r: ListObjectsV2CommandOutput = await s3.send(new ListObjectsV2Command({ Bucket: b, Delimiter: '/', MaxKeys: 37, ContinuationToken: token }));
    const n = (r.Contents?.length ?? 0) + (r.CommonPrefixes?.length ?? 0);
    assert.ok(n <= 37, `page has ${n} entries > MaxKeys 37`);
    assert.equal(r.KeyCount, n, 'KeyCount counts keys and common prefixes');
    prefixes.push(...(r.CommonPrefixes ?? []).map((p) => p.Prefix!));
    top.push(...(r.Contents ?? []).map((c) => c.Key!));
    token = r.IsTruncated ? r.NextContinuationToken : undefined;
    assert.ok(++pages <= 10, 'too many pages');
  } while (token);
  assert.deepEqual(prefixes, Array.from({ length: 100 }, (_, d) => `d${String(d).padStart(2, '0')}/`));
  assert.deepEqual(top, Array.from({ length: 50 }, (_, i) => `top-${String(i).padStart(2, '0')}`));

  // Prefix, paginated.
  const inDir: string[] = [];
  token = undefined;
  do {
    const r: ListObjectsV2CommandOutput = await s3.send(new ListObjectsV2Command({ Bucket: b, Prefix: 'd42/', MaxKeys: 30, ContinuationToken: token }));
    inDir.push(...(r.Contents ?? []).map((c) => c.Key!));
    token = r.IsTruncated ? r.NextContinuationToken : undefined;
  } while (token && inDir.length < 1000);
  assert.deepEqual(inDir, sorted.filter((k) => k.startsWith('d42/')));

  // Prefix + delimiter + StartAfter (a start-after equal to a common prefix skips that prefix).
  const sa = await s3.send(new ListObjectsV2Command({ Bucket: b, Prefix: 'd', Delimiter: '/', StartAfter: 'd96/' }));
  assert.deepEqual(sa.CommonPrefixes?.map((p) => p.Prefix), ['d97/', 'd98/', 'd99/']);
  assert.equal(sa.Contents?.length ?? 0, 0);

  // V1 with Marker (NextMarker is only sent with a delimiter; otherwise the last key is the marker).
  const v1: string[] = [];
  let marker: string | undefined;
  pages = 0;
  for (;;) {
    const r = await s3.send(new ListObjectsCommand({ Bucket: b, Marker: marker, MaxKeys: 999 }));
    const ks = (r.Contents ?? []).map((c) => c.Key!);
    v1.push(...ks);
    if (!r.IsTruncated) break;
    marker = r.NextMarker ?? ks[ks.length - 1];
    assert.ok(++pages <= 20, 'too many pages');
  }
  assert.equal(v1.length, keys.length);
  assert.deepEqual(v1, sorted);
  const v1d = await s3.send(new ListObjectsCommand({ Bucket: b, Delimiter: '/', MaxKeys: 60 }));
  assert.equal(v1d.IsTruncated, true);
  assert.equal(v1d.CommonPrefixes?.length, 60);
  assert.equal(v1d.NextMarker, 'd59/');
  const v1d2 = await s3.send(new ListObjectsCommand({ Bucket: b, Delimiter: '/', Marker: v1d.NextMarker }));
  assert.equal(v1d2.CommonPrefixes?.[0]?.Prefix, 'd60/');
  assert.equal(v1d2.CommonPrefixes?.length, 40);
  assert.equal(v1d2.Contents?.length, 50);
});

test('multipart: 3 parts of different sizes, ListParts, ListMultipartUploads, complete, abort', { timeout: 60_000 }, async () => {
  const b = 'sdk-multipart';
  await s3.send(new CreateBucketCommand({ Bucket: b }));
  const parts = [randomBytes(5 * 1024 * 1024), randomBytes(6 * 1024 * 1024 + 123), randomBytes(1000)];
  const up = await s3.send(new CreateMultipartUploadCommand({ Bucket: b, Key: 'big/file', ContentType: 'application/x-mpu', Metadata: { m: 'p' } }));
  assert.ok(up.UploadId);
  const etags: string[] = [];
  for (let i = 0; i < parts.length; i++) {
    const r: UploadPartCommandOutput = await s3.send(new UploadPartCommand({ Bucket: b, Key: 'big/file', UploadId: up.UploadId, PartNumber: i + 1, Body: parts[i] }));
    assert.equal(r.ETag, `"${createHash('md5').update(parts[i]!).digest('hex')}"`);
    etags.push(r.ETag!);
  }
  const lp = await s3.send(new ListPartsCommand({ Bucket: b, Key: 'big/file', UploadId: up.UploadId }));
  assert.deepEqual(lp.Parts?.map((p) => [p.PartNumber, p.Size, p.ETag]), parts.map((p, i) => [i + 1, p.length, etags[i]]));
  const lmu = await s3.send(new ListMultipartUploadsCommand({ Bucket: b }));
  assert.deepEqual(lmu.Uploads?.map((u) => [u.Key, u.UploadId]), [['big/file', up.UploadId]]);
  // Not visible as an object while uploading.
  await rejectsWith(s3.send(new HeadObjectCommand({ Bucket: b, Key: 'big/file' })), 404);

  const done = await s3.send(
    new CompleteMultipartUploadCommand({
      Bucket: b,
      Key: 'big/file',
      UploadId: up.UploadId,
      MultipartUpload: { Parts: etags.map((ETag, i) => ({ ETag, PartNumber: i + 1 })) },
    }),
  );
  const md5s = Buffer.concat(parts.map((p) => createHash('md5').update(p).digest()));
  assert.equal(done.ETag, `"${createHash('md5').update(md5s).digest('hex')}-3"`);
  assert.match(done.ETag!, /-3"$/);
  const whole = Buffer.concat(parts);
  const head = await s3.send(new HeadObjectCommand({ Bucket: b, Key: 'big/file' }));
  assert.equal(head.ContentLength, whole.length);
  assert.equal(head.ContentType, 'application/x-mpu');
  assert.deepEqual(head.Metadata, { m: 'p' });
  assert.equal(sha256(await body(b, 'big/file')), sha256(whole));
  const mid = await body(b, 'big/file', { Range: `bytes=${5 * 1024 * 1024 - 3}-${5 * 1024 * 1024 + 2}` });
  assert.deepEqual(mid, whole.subarray(5 * 1024 * 1024 - 3, 5 * 1024 * 1024 + 3));
  assert.equal((await s3.send(new ListMultipartUploadsCommand({ Bucket: b }))).Uploads?.length ?? 0, 0);

  // Abort.
  const up2 = await s3.send(new CreateMultipartUploadCommand({ Bucket: b, Key: 'aborted' }));
  await s3.send(new UploadPartCommand({ Bucket: b, Key: 'aborted', UploadId: up2.UploadId, PartNumber: 1, Body: randomBytes(1024) }));
  await s3.send(new AbortMultipartUploadCommand({ Bucket: b, Key: 'aborted', UploadId: up2.UploadId }));
  await rejectsWith(s3.send(new ListPartsCommand({ Bucket: b, Key: 'aborted', UploadId: up2.UploadId })), 404, 'NoSuchUpload');
  assert.equal((await s3.send(new ListMultipartUploadsCommand({ Bucket: b }))).Uploads?.length ?? 0, 0);
  await rejectsWith(s3.send(new HeadObjectCommand({ Bucket: b, Key: 'aborted' })), 404);
});

test('authentication: anonymous request → 403 AccessDenied, wrong secret → 403 SignatureDoesNotMatch', async () => {
  const b = 'sdk-auth';
  await s3.send(new CreateBucketCommand({ Bucket: b }));
  await s3.send(new PutObjectCommand({ Bucket: b, Key: 'secret', Body: 'private' }));
  for (const path of [`/${b}/secret`, `/${b}`, '/']) {
    const r = await fetch(`${node.s3Url}${path}`, { signal: AbortSignal.timeout(10_000) });
    const text = await r.text();
    assert.equal(r.status, 403, `anonymous GET ${path}: ${text}`);
    assert.match(text, /<Code>AccessDenied<\/Code>/);
  }
  const anonPut = await fetch(`${node.s3Url}/${b}/new`, { method: 'PUT', body: 'x', signal: AbortSignal.timeout(10_000) });
  assert.equal(anonPut.status, 403);
  await anonPut.text();
  await rejectsWith(s3.send(new HeadObjectCommand({ Bucket: b, Key: 'new' })), 404);

  const bad = s3Client(node, { credentials: { accessKeyId: node.keyId, secretAccessKey: 'x'.repeat(40) } });
  await rejectsWith(bad.send(new GetObjectCommand({ Bucket: b, Key: 'secret' })), 403, 'SignatureDoesNotMatch');
  await rejectsWith(bad.send(new PutObjectCommand({ Bucket: b, Key: 'secret', Body: 'overwritten' })), 403, 'SignatureDoesNotMatch');
  const unknown = s3Client(node, { credentials: { accessKeyId: 'GK' + '0'.repeat(24), secretAccessKey: node.secret } });
  await rejectsWith(unknown.send(new ListBucketsCommand({})), 403, 'InvalidAccessKeyId');
  bad.destroy();
  unknown.destroy();
  assert.equal((await body(b, 'secret')).toString(), 'private');
});

test('unimplemented operations answer 501 NotImplemented in S3 XML', async () => {
  const b = 'sdk-notimpl';
  await s3.send(new CreateBucketCommand({ Bucket: b }));
  await s3.send(new PutObjectCommand({ Bucket: b, Key: 'k', Body: 'v' }));
  await rejectsWith(s3.send(new GetBucketLoggingCommand({ Bucket: b })), 501, 'NotImplemented');
  await rejectsWith(s3.send(new GetBucketAccelerateConfigurationCommand({ Bucket: b })), 501, 'NotImplemented');
  const r = await fetch(`${node.s3Url}/${b}?logging`, { signal: AbortSignal.timeout(10_000) });
  assert.equal(r.status, 501);
  assert.match(r.headers.get('content-type') ?? '', /xml/);
  assert.match(await r.text(), /^<\?xml[^>]*>\s*<Error>.*<Code>NotImplemented<\/Code>/s);
});

test('tagging, GetObjectAttributes and object lock through the SDK (its flexible checksums on the XML bodies)', async () => {
  const b = 'sdk-lock';
  await s3.send(new CreateBucketCommand({ Bucket: b, ObjectLockEnabledForBucket: true }));
  await s3.send(new PutObjectLockConfigurationCommand({ Bucket: b, ObjectLockConfiguration: { ObjectLockEnabled: 'Enabled', Rule: { DefaultRetention: { Mode: 'GOVERNANCE', Days: 1 } } } }));
  const put = await s3.send(new PutObjectCommand({ Bucket: b, Key: 'k', Body: 'abc', Tagging: 'a=1' }));
  await s3.send(new PutObjectTaggingCommand({ Bucket: b, Key: 'k', Tagging: { TagSet: [{ Key: 'b', Value: '2' }, { Key: 'a', Value: '1' }] } }));
  const tags = await s3.send(new GetObjectTaggingCommand({ Bucket: b, Key: 'k' }));
  assert.deepEqual(tags.TagSet, [{ Key: 'a', Value: '1' }, { Key: 'b', Value: '2' }]);
  const attrs = await s3.send(new GetObjectAttributesCommand({ Bucket: b, Key: 'k', ObjectAttributes: ['ETag', 'ObjectSize'] }));
  assert.equal(attrs.ObjectSize, 3);
  assert.equal(attrs.VersionId, put.VersionId);
  // The default retention locked the version: deleting it needs the governance bypass.
  const until = new Date(Date.now() + 3600_000);
  await s3.send(new PutObjectRetentionCommand({ Bucket: b, Key: 'k', Retention: { Mode: 'GOVERNANCE', RetainUntilDate: until }, BypassGovernanceRetention: true }));
  const r = await s3.send(new GetObjectRetentionCommand({ Bucket: b, Key: 'k' }));
  assert.equal(r.Retention?.RetainUntilDate?.getTime(), Math.floor(until.getTime()));
  await rejectsWith(s3.send(new DeleteObjectCommand({ Bucket: b, Key: 'k', VersionId: put.VersionId })), 403, 'AccessDenied');
  await s3.send(new DeleteObjectCommand({ Bucket: b, Key: 'k', VersionId: put.VersionId, BypassGovernanceRetention: true }));
});
