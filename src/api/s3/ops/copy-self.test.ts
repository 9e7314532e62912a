// CopyObject onto itself without changing anything is refused with 400 InvalidRequest, as S3 does
// (s3-tests test_object_copy_to_itself); with REPLACE metadata or a storage class it is allowed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CopyObject, PutObject } from './object.ts';
import { fakeCtx, testEnv } from './test-ctx.ts';

test('CopyObject: same bucket, key and version with the COPY directive is InvalidRequest; REPLACE copies', async () => {
  const env = await testEnv();
  try {
    const b = await env.bucket('self');
    const put = fakeCtx(env, { method: 'PUT', bucket: b, bucketName: 'self', key: 'foo123bar', headers: { 'content-length': '3' }, body: 'foo' });
    await PutObject(put.ctx);
    const same = fakeCtx(env, { method: 'PUT', bucket: b, bucketName: 'self', key: 'foo123bar', headers: { 'x-amz-copy-source': '/self/foo123bar' } });
    await assert.rejects(CopyObject(same.ctx), { code: 'InvalidRequest' });
    const replace = fakeCtx(env, {
      method: 'PUT', bucket: b, bucketName: 'self', key: 'foo123bar',
      headers: { 'x-amz-copy-source': '/self/foo123bar', 'x-amz-metadata-directive': 'REPLACE', 'content-type': 'text/plain' },
    });
    await CopyObject(replace.ctx);
    assert.equal(replace.res.status, 200);
    // A storage class change is a change (tools re-class objects in place this way).
    const sc = fakeCtx(env, { method: 'PUT', bucket: b, bucketName: 'self', key: 'foo123bar', headers: { 'x-amz-copy-source': '/self/foo123bar', 'x-amz-storage-class': 'STANDARD' } });
    await CopyObject(sc.ctx);
    assert.equal(sc.res.status, 200);
  } finally {
    await env.close();
  }
});
