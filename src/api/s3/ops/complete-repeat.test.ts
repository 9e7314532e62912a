// A CompleteMultipartUpload repeated after it succeeded answers the same result (S3 does; s3-tests
// test_multipart_upload_small completes twice), when it names the same parts: the multipart ETag
// recomputed from the request must match the completed version's. Anything else is NoSuchUpload.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { S3Error } from '../errors.ts';
import { childText } from '../xml.ts';
import { CompleteMultipartUpload, CreateMultipartUpload, UploadPart } from './multipart.ts';
import { fakeCtx, testEnv, type FakeRequest, type TestEnv } from './test-ctx.ts';
import type { Handler } from '../context.ts';

async function call(env: TestEnv, h: Handler, r: FakeRequest) {
  const { ctx, res } = fakeCtx(env, r);
  await h(ctx);
  return res;
}

const md5 = (b: Buffer | string) => createHash('md5').update(b).digest('hex');
const body = (etag: string) => `<CompleteMultipartUpload><Part><ETag>"${etag}"</ETag><PartNumber>1</PartNumber></Part></CompleteMultipartUpload>`;
const isNoSuchUpload = (e: unknown) => e instanceof S3Error && e.code === 'NoSuchUpload';

test('CompleteMultipartUpload repeated with the same parts answers the same ETag (and version id); other parts are NoSuchUpload', async () => {
  const env = await testEnv();
  try {
    const b = await env.bucket('bkt');
    b.versioning = { t: Date.now(), v: 'Enabled' };
    await env.store.buckets.insert(b);
    const key = 'mymultipart';
    const base = { bucket: b, bucketName: 'bkt', key };
    const created = await call(env, CreateMultipartUpload, { ...base, method: 'POST', query: { uploads: '' } });
    const uploadId = childText(created.xml(), 'UploadId')!;
    await call(env, UploadPart, { ...base, method: 'PUT', query: { uploadId, partNumber: '1' }, headers: { 'content-length': '1' }, body: 'x' });
    const first = await call(env, CompleteMultipartUpload, { ...base, method: 'POST', query: { uploadId }, body: body(md5('x')) });
    assert.equal(first.status, 200);
    const again = await call(env, CompleteMultipartUpload, { ...base, method: 'POST', query: { uploadId }, body: body(md5('x')) });
    assert.equal(again.status, 200);
    assert.equal(childText(again.xml(), 'ETag'), childText(first.xml(), 'ETag'));
    assert.equal(again.header('x-amz-version-id'), first.header('x-amz-version-id'));
    assert.equal((await env.store.objects.get(b.id, key))!.versions.length, 1, 'nothing new written');

    await assert.rejects(call(env, CompleteMultipartUpload, { ...base, method: 'POST', query: { uploadId }, body: body(md5('y')) }), isNoSuchUpload);
    await assert.rejects(call(env, CompleteMultipartUpload, { ...base, key: 'other', method: 'POST', query: { uploadId }, body: body(md5('x')) }), isNoSuchUpload);
    // Once the completed version is gone (here: deleted), the upload id names nothing.
    await env.store.objects.insert({ bucket: b.id, key, versions: [{ ...(await env.store.objects.get(b.id, key))!.versions[0]!, state: 'aborted' }] });
    await assert.rejects(call(env, CompleteMultipartUpload, { ...base, method: 'POST', query: { uploadId }, body: body(md5('x')) }), isNoSuchUpload);
  } finally {
    await env.close();
  }
});
