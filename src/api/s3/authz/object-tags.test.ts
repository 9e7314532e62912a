// Bucket policies conditioned on tags (s3-tests test_bucket_policy_*_existing_tag,
// test_bucket_policy_put_obj_request_obj_tag): s3:ExistingObjectTag/<key> is the addressed
// version's tag, s3:RequestObjectTag/<key> the request's x-amz-tagging.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { authorize } from './authorize.ts';
import { fakeCtx, testEnv } from '../ops/test-ctx.ts';
import type { AccessKey } from '../../../model/key.ts';

const policy = (action: string, condition: Record<string, Record<string, string>>) =>
  JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: '*' }, Action: action, Resource: 'arn:aws:s3:::tagged/*', Condition: condition }] });

test('s3:ExistingObjectTag and s3:RequestObjectTag conditions see the version\'s and the request\'s tags', async () => {
  const env = await testEnv();
  try {
    let b = await env.bucket('tagged');
    const now = Date.now();
    const alt: AccessKey = { ...env.accessKey, id: 'GK000000000000000000000002', name: { t: now, v: 'alt' } };
    await env.store.keys.insert(alt);
    const t = now + 1;
    const version = (key: string, tags: [string, string][]) => ({
      uuid: env.store.newUuid(), ts: t, state: 'complete' as const, nullVersion: true, deleteMarker: false, multipart: false,
      meta: { size: 1, etag: 'e', headers: [] as [string, string][] }, inline: Buffer.from('x'), tags: { t, v: tags },
    });
    await env.store.objects.insert({ bucket: b.id, key: 'publictag', versions: [version('publictag', [['security', 'public'], ['foo', 'bar']])] });
    await env.store.objects.insert({ bucket: b.id, key: 'privatetag', versions: [version('privatetag', [['security', 'private']])] });
    const as = async (op: string, key: string, headers: Record<string, string> = {}) => {
      const { ctx } = fakeCtx(env, { bucket: b, bucketName: 'tagged', key, headers, perm: { read: false, write: false, owner: false } });
      ctx.accessKey = alt;
      return authorize(ctx, op).then(() => 'allowed', (e) => e.code);
    };
    b = await env.store.buckets.insert({ ...b, policy: { t, v: { text: policy('s3:GetObject', { StringEquals: { 's3:ExistingObjectTag/security': 'public' } }) } } });
    assert.equal(await as('GetObject', 'publictag'), 'allowed');
    assert.equal(await as('GetObject', 'privatetag'), 'AccessDenied');
    assert.equal(await as('GetObjectTagging', 'publictag'), 'AccessDenied');
    b = await env.store.buckets.insert({ ...b, policy: { t: t + 1, v: { text: policy('s3:PutObject', { StringEquals: { 's3:RequestObjectTag/security': 'public' } }) } } });
    assert.equal(await as('PutObject', 'new', { 'x-amz-tagging': 'security=public' }), 'allowed');
    assert.equal(await as('PutObject', 'new', { 'x-amz-tagging': 'security=private' }), 'AccessDenied');
    assert.equal(await as('PutObject', 'new'), 'AccessDenied');
  } finally {
    await env.close();
  }
});
