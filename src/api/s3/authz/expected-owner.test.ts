// x-amz-expected-bucket-owner: a request naming another owner than the bucket's is 403
// AccessDenied, whoever asks and whatever the ACL allows (s3-tests test_expected_bucket_owner).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { authorize } from './authorize.ts';
import { fakeCtx, testEnv } from '../ops/test-ctx.ts';

test('x-amz-expected-bucket-owner other than the bucket owner is AccessDenied; the right owner passes', async () => {
  const env = await testEnv();
  try {
    const b = await env.bucket('owned');
    const as = async (op: string, headers: Record<string, string>, anonymous = false) => {
      const { ctx } = fakeCtx(env, { bucket: b, bucketName: 'owned', key: op === 'PutObject' ? 'k' : undefined, headers });
      if (anonymous) {
        ctx.accessKey = undefined;
        ctx.perm = { read: false, write: false, owner: false };
      }
      return authorize(ctx, op).then(() => 'allowed', (e) => e.code);
    };
    assert.equal(await as('ListObjects', {}), 'allowed');
    assert.equal(await as('ListObjects', { 'x-amz-expected-bucket-owner': env.accessKey.id }), 'allowed');
    assert.equal(await as('ListObjects', { 'x-amz-expected-bucket-owner': `${env.accessKey.id}foo` }), 'AccessDenied');
    assert.equal(await as('PutObject', { 'x-amz-expected-bucket-owner': `${env.accessKey.id}foo` }), 'AccessDenied');
    assert.equal(await as('PutObject', { 'x-amz-expected-bucket-owner': `${env.accessKey.id}foo` }, true), 'AccessDenied');
  } finally {
    await env.close();
  }
});
