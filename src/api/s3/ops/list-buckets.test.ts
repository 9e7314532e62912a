// ListBuckets pages as S3 does: max-buckets (1..10000) and an opaque continuation-token; the last
// page has no ContinuationToken; prefix filters names (s3-tests test_list_buckets_paginated).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { S3Error } from '../errors.ts';
import { children, childText } from '../xml.ts';
import { ListBuckets } from './bucket.ts';
import { fakeCtx, testEnv, type TestEnv } from './test-ctx.ts';

async function list(env: TestEnv, query: Record<string, string>) {
  const { ctx, res } = fakeCtx(env, { query });
  await ListBuckets(ctx);
  assert.equal(res.status, 200);
  const x = res.xml();
  return { names: children(children(x, 'Buckets')[0]!, 'Bucket').map((b) => childText(b, 'Name')), token: childText(x, 'ContinuationToken'), prefix: childText(x, 'Prefix') };
}

test('ListBuckets: MaxBuckets and ContinuationToken page through the buckets; prefix filters', async () => {
  const env = await testEnv();
  try {
    assert.deepEqual(await list(env, { 'max-buckets': '1' }), { names: [], token: undefined, prefix: undefined });
    await env.bucket('bucket-a');
    assert.deepEqual((await list(env, { 'max-buckets': '1' })).names, ['bucket-a']);
    assert.equal((await list(env, { 'max-buckets': '1' })).token, undefined, 'no token on the last page');
    await env.bucket('bucket-b');
    await env.bucket('other');
    const p1 = await list(env, { 'max-buckets': '1' });
    assert.deepEqual(p1.names, ['bucket-a']);
    assert.ok(p1.token);
    const p2 = await list(env, { 'max-buckets': '1', 'continuation-token': p1.token! });
    assert.deepEqual(p2.names, ['bucket-b']);
    const p3 = await list(env, { 'max-buckets': '1', 'continuation-token': p2.token! });
    assert.deepEqual(p3.names, ['other']);
    assert.equal(p3.token, undefined);
    assert.deepEqual((await list(env, {})).names, ['bucket-a', 'bucket-b', 'other'], 'no max-buckets: all of them');
    const pre = await list(env, { prefix: 'bucket-', 'max-buckets': '1' });
    assert.deepEqual([pre.names, pre.prefix], [['bucket-a'], 'bucket-']);
    assert.deepEqual((await list(env, { prefix: 'bucket-', 'continuation-token': pre.token! })).names, ['bucket-b']);
    for (const bad of ['0', '10001', 'x', '-1', ''])
      await assert.rejects(list(env, { 'max-buckets': bad }), (e) => e instanceof S3Error && e.code === 'InvalidArgument', `max-buckets=${bad}`);
    await assert.rejects(list(env, { 'continuation-token': '%%%' }), (e) => e instanceof S3Error && e.code === 'InvalidArgument');
  } finally {
    await env.close();
  }
});
