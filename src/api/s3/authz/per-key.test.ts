// DeleteObjects decides each entry as its own DeleteObject: s3:DeleteObjectVersion for an entry
// with a VersionId, s3:ExistingObjectTag from that entry's version (handler level, one store).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { children, childText } from '../xml.ts';
import { DeleteObjects, PutObject } from '../ops/object.ts';
import { fakeCtx, testEnv, type TestEnv } from '../ops/test-ctx.ts';
import type { Bucket } from '../../../model/bucket.ts';
import { liveVersion } from '../../../model/object.ts';
import { authorize } from './authorize.ts';

async function withPolicy(env: TestEnv, name: string, statements: unknown[]): Promise<Bucket> {
  const b = await env.bucket(name);
  const t = Date.now() + 1;
  const policy = JSON.stringify({ Version: '2012-10-17', Statement: statements });
  return env.store.buckets.insert({ ...b, versioning: { t, v: 'Enabled' }, policy: { t, v: { text: policy } } });
}

async function put(env: TestEnv, b: Bucket, name: string, key: string, headers: Record<string, string> = {}): Promise<string> {
  const { ctx, res } = fakeCtx(env, { method: 'PUT', bucket: b, bucketName: name, key, headers: { 'content-length': '1', ...headers }, body: 'x' });
  await PutObject(ctx);
  return String(res.headers['x-amz-version-id']);
}

async function deleteMany(env: TestEnv, b: Bucket, name: string, entries: { key: string; versionId?: string }[]) {
  const body = `<Delete>${entries.map((e) => `<Object><Key>${e.key}</Key>${e.versionId ? `<VersionId>${e.versionId}</VersionId>` : ''}</Object>`).join('')}</Delete>`;
  const { ctx, res } = fakeCtx(env, { method: 'POST', bucket: b, bucketName: name, query: { delete: '' }, body });
  await DeleteObjects(ctx);
  const doc = res.xml();
  return {
    deleted: children(doc, 'Deleted').map((d) => childText(d, 'Key')),
    errors: children(doc, 'Error').map((e) => `${childText(e, 'Key')}: ${childText(e, 'Code')}`),
  };
}

test('DeleteObjects: an entry with a VersionId is decided as s3:DeleteObjectVersion, one without as s3:DeleteObject', async () => {
  const env = await testEnv();
  try {
    const b = await withPolicy(env, 'pk-versions', [{ Effect: 'Deny', Principal: '*', Action: 's3:DeleteObjectVersion', Resource: 'arn:aws:s3:::pk-versions/archive/*' }]);
    const va = await put(env, b, 'pk-versions', 'archive/a');
    await put(env, b, 'pk-versions', 'archive/b');
    const vc = await put(env, b, 'pk-versions', 'scratch/c');
    const r = await deleteMany(env, b, 'pk-versions', [{ key: 'archive/a', versionId: va }, { key: 'archive/b' }, { key: 'scratch/c', versionId: vc }]);
    assert.deepEqual(r.errors, ['archive/a: AccessDenied']);
    assert.deepEqual(r.deleted.sort(), ['archive/b', 'scratch/c']);
    const a = await env.store.objects.get(b.id, 'archive/a');
    assert.ok(a?.versions.some((v) => v.state === 'complete' && !v.deleteMarker), 'archive/a kept');
  } finally {
    await env.close();
  }
});

test('DeleteObjects: s3:ExistingObjectTag is the entry\'s own version\'s tag', async () => {
  const env = await testEnv();
  try {
    const b = await withPolicy(env, 'pk-tags', [
      { Effect: 'Deny', Principal: '*', Action: 's3:DeleteObject', Resource: 'arn:aws:s3:::pk-tags/*', Condition: { StringEquals: { 's3:ExistingObjectTag/keep': 'yes' } } },
    ]);
    await put(env, b, 'pk-tags', 'kept', { 'x-amz-tagging': 'keep=yes' });
    await put(env, b, 'pk-tags', 'gone', { 'x-amz-tagging': 'keep=no' });
    const r = await deleteMany(env, b, 'pk-tags', [{ key: 'kept' }, { key: 'gone' }]);
    assert.deepEqual(r.errors, ['kept: AccessDenied']);
    assert.deepEqual(r.deleted, ['gone']);
  } finally {
    await env.close();
  }
});

/** As server.ts runs it: authorize() for the request, then the handler. `b` as the caller sees it. */
async function deleteAsServer(env: TestEnv, b: Bucket, name: string, keys: string[]) {
  const body = `<Delete>${keys.map((k) => `<Object><Key>${k}</Key></Object>`).join('')}</Delete>`;
  const none = { read: false, write: false, owner: false };
  const { ctx, res } = fakeCtx(env, { method: 'POST', bucket: b, bucketName: name, query: { delete: '' }, body, perm: none });
  await authorize(ctx, 'DeleteObjects');
  await DeleteObjects(ctx);
  assert.equal(res.status, 200);
  const doc = res.xml();
  return {
    deleted: children(doc, 'Deleted').map((d) => childText(d, 'Key')),
    errors: children(doc, 'Error').map((e) => `${childText(e, 'Key')}: ${childText(e, 'Code')}`),
  };
}

/** The bucket as a key that is not listed on it (no flags) and does not own it sees it. */
function foreign(b: Bucket, statements?: unknown[]): Bucket {
  const t = Date.now() + 1;
  const policy = statements && { t, v: { text: JSON.stringify({ Version: '2012-10-17', Statement: statements }) } };
  return { ...b, keys: {}, owner: { t, v: 'someone-else' }, ...(policy ? { policy } : {}) };
}

test('DeleteObjects: a policy allowing s3:DeleteObject on b/tmp/* only deletes tmp/x and refuses other/y as an entry, not the request', async () => {
  const env = await testEnv();
  try {
    const b = await env.bucket('pk-prefix');
    await put(env, b, 'pk-prefix', 'tmp/x');
    await put(env, b, 'pk-prefix', 'other/y');
    const seen = foreign(b, [{ Effect: 'Allow', Principal: { AWS: [env.accessKey.id] }, Action: 's3:DeleteObject', Resource: 'arn:aws:s3:::pk-prefix/tmp/*' }]);
    const r = await deleteAsServer(env, seen, 'pk-prefix', ['tmp/x', 'other/y']);
    assert.deepEqual(r.deleted, ['tmp/x']);
    assert.deepEqual(r.errors, ['other/y: AccessDenied']);
    assert.equal(liveVersion((await env.store.objects.get(b.id, 'tmp/x'))!), undefined, 'tmp/x deleted');
    assert.ok(liveVersion((await env.store.objects.get(b.id, 'other/y'))!), 'other/y kept');
  } finally {
    await env.close();
  }
});

test('DeleteObjects: a caller with no permission at all gets 200 with an AccessDenied entry per key (as AWS), and nothing is deleted', async () => {
  const env = await testEnv();
  try {
    const b = await env.bucket('pk-none');
    await put(env, b, 'pk-none', 'a');
    await put(env, b, 'pk-none', 'b');
    const r = await deleteAsServer(env, foreign(b), 'pk-none', ['a', 'b']);
    assert.deepEqual(r.deleted, []);
    assert.deepEqual(r.errors, ['a: AccessDenied', 'b: AccessDenied']);
    assert.ok(liveVersion((await env.store.objects.get(b.id, 'a'))!), 'a kept');
  } finally {
    await env.close();
  }
});

test('DeleteObjects: an anonymous caller whom nothing could allow is refused before its body is read; a public-write policy lets it delete', async () => {
  const env = await testEnv();
  try {
    const b = await env.bucket('pk-anon');
    await put(env, b, 'pk-anon', 'a');
    let read = false;
    async function* body(): AsyncGenerator<Buffer> {
      read = true;
      yield Buffer.from('<Delete><Object><Key>a</Key></Object></Delete>');
    }
    const anon = (seen: Bucket) => {
      const { ctx, res } = fakeCtx(env, { method: 'POST', bucket: seen, bucketName: 'pk-anon', query: { delete: '' }, body: body(), perm: { read: false, write: false, owner: false } });
      delete ctx.accessKey;
      return { ctx, res };
    };
    const refused = anon(foreign(b));
    await authorize(refused.ctx, 'DeleteObjects');
    await assert.rejects(DeleteObjects(refused.ctx), (e: unknown) => (e as { code?: string }).code === 'AccessDenied');
    assert.equal(read, false, 'the body was not read');
    const allowed = anon(foreign(b, [{ Effect: 'Allow', Principal: '*', Action: 's3:DeleteObject', Resource: 'arn:aws:s3:::pk-anon/*' }]));
    await authorize(allowed.ctx, 'DeleteObjects');
    await DeleteObjects(allowed.ctx);
    assert.deepEqual(children(allowed.res.xml(), 'Deleted').map((d) => childText(d, 'Key')), ['a']);
  } finally {
    await env.close();
  }
});
