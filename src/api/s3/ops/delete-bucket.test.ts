// DeleteBucket with unfinished multipart uploads: as on AWS they do not keep the bucket alive, and
// they are aborted with it (parts released); a complete object still makes it BucketNotEmpty.
// (s3-tests test_multipart_upload_empty left such a bucket, and the suite's cleanup failed for
// every later test.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Handler } from '../context.ts';
import { S3Error } from '../errors.ts';
import { childText } from '../xml.ts';
import { DeleteBucket } from './bucket.ts';
import { CreateMultipartUpload, UploadPart } from './multipart.ts';
import { PutObject } from './object.ts';
import { fakeCtx, testEnv, type FakeRequest, type TestEnv } from './test-ctx.ts';

async function call(env: TestEnv, h: Handler, r: FakeRequest) {
  const { ctx, res } = fakeCtx(env, r);
  await h(ctx);
  return res;
}

test('DeleteBucket: unfinished uploads do not block it and are aborted with it; objects still do', async () => {
  const env = await testEnv();
  try {
    const b = await env.bucket('mpu');
    const up = await call(env, CreateMultipartUpload, { method: 'POST', bucket: b, bucketName: 'mpu', key: 'big', query: { uploads: '' } });
    const uploadId = childText(up.xml(), 'UploadId')!;
    const part = await call(env, UploadPart, {
      method: 'PUT', bucket: b, bucketName: 'mpu', key: 'big', query: { uploadId, partNumber: '1' },
      headers: { 'content-length': '5000' }, body: Buffer.alloc(5000, 7),
    });
    assert.equal(part.status, 200);
    // A second, empty upload (nothing uploaded), as test_multipart_upload_empty leaves.
    await call(env, CreateMultipartUpload, { method: 'POST', bucket: b, bucketName: 'mpu', key: 'empty', query: { uploads: '' } });
    assert.ok((await env.store.usage(b.id)).bytes >= 5000);

    const del = await call(env, DeleteBucket, { method: 'DELETE', bucket: b, bucketName: 'mpu' });
    assert.equal(del.status, 204);
    assert.equal(await env.store.bucketByName('mpu'), undefined);
    // The uploads went with it: versions aborted, upload entry deleted, parts out of the usage.
    for (const key of ['big', 'empty']) {
      const o = await env.store.objects.get(b.id, key);
      assert.ok(o!.versions.every((v) => v.state === 'aborted'), `${key}: ${JSON.stringify(o!.versions.map((v) => v.state))}`);
    }
    assert.equal((await env.store.mpus.get(uploadId, ''))?.deleted, true);
    assert.equal((await env.store.usage(b.id)).bytes, 0);

    // A complete object (next to an upload) still refuses the deletion, and the upload stays open.
    const c = await env.bucket('full');
    await call(env, PutObject, { method: 'PUT', bucket: c, bucketName: 'full', key: 'x', headers: { 'content-length': '1' }, body: 'x' });
    const up2 = await call(env, CreateMultipartUpload, { method: 'POST', bucket: c, bucketName: 'full', key: 'y', query: { uploads: '' } });
    await assert.rejects(call(env, DeleteBucket, { method: 'DELETE', bucket: c, bucketName: 'full' }), (e: unknown) => e instanceof Error && (e as S3Error).code === 'BucketNotEmpty');
    const y = await env.store.objects.get(c.id, 'y');
    assert.equal(y!.versions.find((v) => v.uuid === childText(up2.xml(), 'UploadId'))?.state, 'uploading');
  } finally {
    await env.close();
  }
});
