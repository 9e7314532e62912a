// GetObjectAttributes (s3-tests test_get_*object_attributes): the requested attributes only, parts
// of multipart objects paged by x-amz-max-parts / x-amz-part-number-marker, versions by versionId.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Handler } from '../context.ts';
import { child, children, childText } from '../xml.ts';
import { PutObject } from './object.ts';
import { GetObjectAttributes, parseAttributes, partSizes } from './attributes.ts';
import { CompleteMultipartUpload, CreateMultipartUpload, MIN_PART_SIZE, UploadPart } from './multipart.ts';
import { fakeCtx, pseudoRandom, testEnv, type FakeRequest, type TestEnv } from './test-ctx.ts';

async function call(env: TestEnv, h: Handler, r: FakeRequest) {
  const { ctx, res } = fakeCtx(env, r);
  await h(ctx);
  return res;
}

const ALL = 'ETag,Checksum,ObjectParts,StorageClass,ObjectSize';

test('parseAttributes and partSizes', () => {
  assert.deepEqual([...parseAttributes('ETag, objectsize')], ['ETag', 'ObjectSize']);
  assert.throws(() => parseAttributes(undefined), /missing or empty/);
  assert.throws(() => parseAttributes('ETag,Body'), /Invalid attribute/);
  const h = Buffer.alloc(4);
  assert.deepEqual(partSizes([{ part: 1, offset: 0, hash: h, size: 3 }, { part: 1, offset: 3, hash: h, size: 4 }, { part: 3, offset: 0, hash: h, size: 1 }]), [[1, 7], [3, 1]]);
});

test('GetObjectAttributes of a plain object: ETag without quotes, size, storage class, checksum, no parts', async () => {
  const env = await testEnv();
  try {
    const b = await env.bucket('attrs');
    const sha = 'ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=';
    const put = await call(env, PutObject, { method: 'PUT', bucket: b, bucketName: 'attrs', key: 'k', headers: { 'content-length': '3', 'x-amz-checksum-sha256': sha }, body: 'abc' });
    const res = await call(env, GetObjectAttributes, { bucket: b, bucketName: 'attrs', key: 'k', query: { attributes: '' }, headers: { 'x-amz-object-attributes': ALL } });
    const doc = res.xml();
    assert.equal(doc.name, 'GetObjectAttributesResponse');
    assert.equal(childText(doc, 'ETag'), put.header('etag')!.replaceAll('"', ''));
    assert.equal(childText(doc, 'ObjectSize'), '3');
    assert.equal(childText(doc, 'StorageClass'), 'STANDARD');
    assert.equal(childText(child(doc, 'Checksum')!, 'ChecksumSHA256'), sha);
    assert.equal(child(doc, 'ObjectParts'), undefined);
    assert.equal(res.header('x-amz-version-id'), undefined);
    const only = (await call(env, GetObjectAttributes, { bucket: b, bucketName: 'attrs', key: 'k', query: { attributes: '' }, headers: { 'x-amz-object-attributes': 'ObjectSize' } })).xml();
    assert.deepEqual(only.children.map((c) => c.name), ['ObjectSize']);
    await assert.rejects(call(env, GetObjectAttributes, { bucket: b, bucketName: 'attrs', key: 'nope', query: { attributes: '' }, headers: { 'x-amz-object-attributes': ALL } }), { code: 'NoSuchKey' });
  } finally {
    await env.close();
  }
});

test('GetObjectAttributes of a multipart object: parts count and sizes, paged', async () => {
  const env = await testEnv();
  try {
    const b = await env.bucket('attrs');
    const up = await call(env, CreateMultipartUpload, { method: 'POST', bucket: b, bucketName: 'attrs', key: 'm', query: { uploads: '' } });
    const uploadId = childText(up.xml(), 'UploadId')!;
    const sizes = [MIN_PART_SIZE, MIN_PART_SIZE, 10];
    const parts: string[] = [];
    for (const [i, size] of sizes.entries()) {
      const r = await call(env, UploadPart, { method: 'PUT', bucket: b, bucketName: 'attrs', key: 'm', query: { uploadId, partNumber: String(i + 1) }, headers: { 'content-length': String(size) }, body: pseudoRandom(size, i + 1) });
      parts.push(`<Part><PartNumber>${i + 1}</PartNumber><ETag>${r.header('etag')}</ETag></Part>`);
    }
    await call(env, CompleteMultipartUpload, { method: 'POST', bucket: b, bucketName: 'attrs', key: 'm', query: { uploadId }, body: `<CompleteMultipartUpload>${parts.join('')}</CompleteMultipartUpload>` });
    const get = async (h: Record<string, string>) =>
      child((await call(env, GetObjectAttributes, { bucket: b, bucketName: 'attrs', key: 'm', query: { attributes: '' }, headers: { 'x-amz-object-attributes': ALL, ...h } })).xml(), 'ObjectParts')!;
    const all = await get({});
    assert.equal(childText(all, 'PartsCount'), '3');
    assert.equal(childText(all, 'IsTruncated'), 'false');
    assert.deepEqual(children(all, 'Part').map((p) => [childText(p, 'PartNumber'), childText(p, 'Size')]), sizes.map((s, i) => [String(i + 1), String(s)]));
    const page = await get({ 'x-amz-max-parts': '1', 'x-amz-part-number-marker': '1' });
    assert.deepEqual([childText(page, 'MaxParts'), childText(page, 'PartNumberMarker'), childText(page, 'NextPartNumberMarker'), childText(page, 'IsTruncated')], ['1', '1', '2', 'true']);
    assert.deepEqual(children(page, 'Part').map((p) => childText(p, 'PartNumber')), ['2']);
    await assert.rejects(get({ 'x-amz-max-parts': '-1' }), { code: 'InvalidArgument' });
  } finally {
    await env.close();
  }
});

test('GetObjectAttributes by versionId reads the older version', async () => {
  const env = await testEnv();
  try {
    let b = await env.bucket('attrs');
    b = await env.store.buckets.insert({ ...b, versioning: { t: Date.now() + 1, v: 'Enabled' } });
    const v1 = (await call(env, PutObject, { method: 'PUT', bucket: b, bucketName: 'attrs', key: 'k', headers: { 'content-length': '3' }, body: 'foo' })).header('x-amz-version-id')!;
    await call(env, PutObject, { method: 'PUT', bucket: b, bucketName: 'attrs', key: 'k', headers: { 'content-length': '5' }, body: 'fooba' });
    const res = await call(env, GetObjectAttributes, { bucket: b, bucketName: 'attrs', key: 'k', query: { attributes: '', versionId: v1 }, headers: { 'x-amz-object-attributes': ALL } });
    assert.equal(res.header('x-amz-version-id'), v1);
    assert.equal(childText(res.xml(), 'ObjectSize'), '3');
  } finally {
    await env.close();
  }
});
