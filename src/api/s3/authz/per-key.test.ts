// DeleteObjects decides each entry as its own DeleteObject: s3:DeleteObjectVersion for an entry
// with a VersionId, s3:ExistingObjectTag from that entry's version (handler level, one store).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { children, childText } from '../xml.ts';
import { DeleteObjects, PutObject } from '../ops/object.ts';
import { fakeCtx, testEnv, type TestEnv } from '../ops/test-ctx.ts';
import type { Bucket } from '../../../model/bucket.ts';

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
