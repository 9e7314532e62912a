// Object and bucket tagging (s3-tests test_put_*_tags, test_set_bucket_tagging): round trips per
// version, AWS's limits as 400 InvalidTag with nothing stored, x-amz-tagging on PUT/copy and
// x-amz-tagging-count on HEAD.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Handler } from '../context.ts';
import { child, children } from '../xml.ts';
import { escapeXml } from '../xml.ts';
import { CopyObject, HeadObject, PutObject } from './object.ts';
import { DeleteBucketTagging, DeleteObjectTagging, GetBucketTagging, GetObjectTagging, PutBucketTagging, PutObjectTagging, parseTaggingHeader } from './tagging.ts';
import { fakeCtx, testEnv, type FakeRequest, type TestEnv } from './test-ctx.ts';
import type { Bucket } from '../../../model/bucket.ts';

async function call(env: TestEnv, h: Handler, r: FakeRequest) {
  const { ctx, res } = fakeCtx(env, r);
  await h(ctx);
  return res;
}

function rejectsCode(p: Promise<unknown>, code: string, status: number) {
  return assert.rejects(p, (e: any) => {
    assert.equal(e.code, code, e.message);
    assert.equal(e.status, status);
    return true;
  });
}

const xmlOf = (tags: [string, string][]) =>
  `<Tagging><TagSet>${tags.map(([k, v]) => `<Tag><Key>${escapeXml(k)}</Key><Value>${escapeXml(v)}</Value></Tag>`).join('')}</TagSet></Tagging>`;

async function tagsOf(env: TestEnv, b: Bucket, key: string, query: Record<string, string> = {}): Promise<[string, string][]> {
  const res = await call(env, GetObjectTagging, { bucket: b, bucketName: 't', key, query: { tagging: '', ...query } });
  return children(child(res.xml(), 'TagSet')!, 'Tag').map((t) => [child(t, 'Key')!.text, child(t, 'Value')!.text]);
}

async function put(env: TestEnv, b: Bucket, key: string, headers: Record<string, string> = {}) {
  return call(env, PutObject, { method: 'PUT', bucket: b, bucketName: 't', key, headers: { 'content-length': '3', ...headers }, body: 'abc' });
}

test('PutObjectTagging / GetObjectTagging / DeleteObjectTagging round trip; HEAD counts the tags', async () => {
  const env = await testEnv();
  try {
    const b = await env.bucket('t');
    await put(env, b, 'k');
    assert.deepEqual(await tagsOf(env, b, 'k'), []);
    const res = await call(env, PutObjectTagging, { method: 'PUT', bucket: b, bucketName: 't', key: 'k', query: { tagging: '' }, body: xmlOf([['b', '2'], ['a', ''], ['c', '<&>']]) });
    assert.equal(res.status, 200);
    assert.deepEqual(await tagsOf(env, b, 'k'), [['a', ''], ['b', '2'], ['c', '<&>']]);
    const head = await call(env, HeadObject, { method: 'HEAD', bucket: b, bucketName: 't', key: 'k' });
    assert.equal(head.header('x-amz-tagging-count'), '3');
    const del = await call(env, DeleteObjectTagging, { method: 'DELETE', bucket: b, bucketName: 't', key: 'k', query: { tagging: '' } });
    assert.equal(del.status, 204);
    assert.deepEqual(await tagsOf(env, b, 'k'), []);
    const head2 = await call(env, HeadObject, { method: 'HEAD', bucket: b, bucketName: 't', key: 'k' });
    assert.equal(head2.header('x-amz-tagging-count'), undefined);
  } finally {
    await env.close();
  }
});

test('tag limits: 10 tags, keys of 128 and values of 256 characters pass; one more is 400 InvalidTag and stores nothing', async () => {
  const env = await testEnv();
  try {
    const b = await env.bucket('t');
    await put(env, b, 'k');
    const ok = Array.from({ length: 10 }, (_, i): [string, string] => [`${i}`.padEnd(128, 'k'), 'v'.repeat(256)]);
    await call(env, PutObjectTagging, { method: 'PUT', bucket: b, bucketName: 't', key: 'k', query: { tagging: '' }, body: xmlOf(ok) });
    assert.equal((await tagsOf(env, b, 'k')).length, 10);
    await call(env, DeleteObjectTagging, { method: 'DELETE', bucket: b, bucketName: 't', key: 'k', query: { tagging: '' } });
    const bad: [string, [string, string][]][] = [
      ['11 tags', Array.from({ length: 11 }, (_, i): [string, string] => [`${i}`, `${i}`])],
      ['129-char key', [['k'.repeat(129), 'v']]],
      ['257-char value', [['k', 'v'.repeat(257)]]],
      ['duplicate key', [['k', '1'], ['k', '2']]],
      ['empty key', [['', 'v']]],
      ['aws: prefix', [['aws:cloudformation', 'v']]],
    ];
    for (const [why, tags] of bad) {
      await rejectsCode(call(env, PutObjectTagging, { method: 'PUT', bucket: b, bucketName: 't', key: 'k', query: { tagging: '' }, body: xmlOf(tags) }), 'InvalidTag', 400);
      assert.deepEqual(await tagsOf(env, b, 'k'), [], why);
    }
    // A 128-character key of astral characters is 256 UTF-16 units: too long, as on AWS.
    await rejectsCode(call(env, PutObjectTagging, { method: 'PUT', bucket: b, bucketName: 't', key: 'k', query: { tagging: '' }, body: xmlOf([['😀'.repeat(65), 'v']]) }), 'InvalidTag', 400);
    await rejectsCode(call(env, PutObjectTagging, { method: 'PUT', bucket: b, bucketName: 't', key: 'k', query: { tagging: '' }, body: '<Tagging/>' }), 'MalformedXML', 400);
    await rejectsCode(call(env, PutObjectTagging, { method: 'PUT', bucket: b, bucketName: 't', key: 'nope', query: { tagging: '' }, body: xmlOf([]) }), 'NoSuchKey', 404);
  } finally {
    await env.close();
  }
});

test('x-amz-tagging on PutObject; CopyObject keeps the source tags (COPY) or takes the header (REPLACE)', async () => {
  const env = await testEnv();
  try {
    const b = await env.bucket('t');
    assert.deepEqual(parseTaggingHeader('foo=bar&bar'), [['bar', ''], ['foo', 'bar']]);
    assert.deepEqual(parseTaggingHeader('a%20b=c+d'), [['a b', 'c d']]);
    await put(env, b, 'src', { 'x-amz-tagging': 'foo=bar&bar' });
    assert.deepEqual(await tagsOf(env, b, 'src'), [['bar', ''], ['foo', 'bar']]);
    await rejectsCode(put(env, b, 'x', { 'x-amz-tagging': Array.from({ length: 11 }, (_, i) => `k${i}=v`).join('&') }), 'InvalidTag', 400);
    assert.equal(await env.store.objects.get(b.id, 'x'), undefined);
    await call(env, CopyObject, { method: 'PUT', bucket: b, bucketName: 't', key: 'c1', headers: { 'x-amz-copy-source': '/t/src' } });
    assert.deepEqual(await tagsOf(env, b, 'c1'), [['bar', ''], ['foo', 'bar']]);
    await call(env, CopyObject, { method: 'PUT', bucket: b, bucketName: 't', key: 'c2', headers: { 'x-amz-copy-source': '/t/src', 'x-amz-tagging-directive': 'REPLACE', 'x-amz-tagging': 'z=1' } });
    assert.deepEqual(await tagsOf(env, b, 'c2'), [['z', '1']]);
    await rejectsCode(call(env, CopyObject, { method: 'PUT', bucket: b, bucketName: 't', key: 'c3', headers: { 'x-amz-copy-source': '/t/src', 'x-amz-tagging-directive': 'MERGE' } }), 'InvalidArgument', 400);
  } finally {
    await env.close();
  }
});

test('tags belong to a version: ?versionId= addresses an older one', async () => {
  const env = await testEnv();
  try {
    let b = await env.bucket('t');
    b = await env.store.buckets.insert({ ...b, versioning: { t: Date.now() + 1, v: 'Enabled' } });
    const v1 = (await put(env, b, 'k', { 'x-amz-tagging': 'gen=1' })).header('x-amz-version-id')!;
    await put(env, b, 'k', { 'x-amz-tagging': 'gen=2' });
    await call(env, PutObjectTagging, { method: 'PUT', bucket: b, bucketName: 't', key: 'k', query: { tagging: '', versionId: v1 }, body: xmlOf([['gen', 'one']]) });
    assert.deepEqual(await tagsOf(env, b, 'k', { versionId: v1 }), [['gen', 'one']]);
    assert.deepEqual(await tagsOf(env, b, 'k'), [['gen', '2']]);
    const res = await call(env, GetObjectTagging, { bucket: b, bucketName: 't', key: 'k', query: { tagging: '', versionId: v1 } });
    assert.equal(res.header('x-amz-version-id'), v1);
  } finally {
    await env.close();
  }
});

test('bucket tagging: NoSuchTagSet until put, 50 tags at most, delete is 204', async () => {
  const env = await testEnv();
  try {
    const b = await env.bucket('t');
    const get = async () => call(env, GetBucketTagging, { bucket: (await env.store.bucketByName('t'))!, bucketName: 't', query: { tagging: '' } });
    await rejectsCode(get(), 'NoSuchTagSet', 404);
    const put = await call(env, PutBucketTagging, { method: 'PUT', bucket: b, bucketName: 't', query: { tagging: '' }, body: xmlOf([['Hello', 'World']]) });
    assert.equal(put.status, 204);
    assert.equal(child(child(child((await get()).xml(), 'TagSet')!, 'Tag')!, 'Value')!.text, 'World');
    const many = Array.from({ length: 51 }, (_, i): [string, string] => [`k${i}`, 'v']);
    await rejectsCode(call(env, PutBucketTagging, { method: 'PUT', bucket: b, bucketName: 't', query: { tagging: '' }, body: xmlOf(many) }), 'InvalidTag', 400);
    await call(env, PutBucketTagging, { method: 'PUT', bucket: b, bucketName: 't', query: { tagging: '' }, body: xmlOf(many.slice(0, 50)) });
    const del = await call(env, DeleteBucketTagging, { method: 'DELETE', bucket: (await env.store.bucketByName('t'))!, bucketName: 't', query: { tagging: '' } });
    assert.equal(del.status, 204);
    await rejectsCode(get(), 'NoSuchTagSet', 404);
  } finally {
    await env.close();
  }
});
