// GET/HEAD of a deleted key: on a bucket that was never versioned the delete left no marker a
// client can see, so the 404 says x-amz-delete-marker: false (and no version id), as RGW; on a
// versioned or suspended bucket it names the marker (s3-tests test_delete_marker_nonversioned).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { S3Error } from '../errors.ts';
import { DeleteObject, HeadObject, PutObject } from './object.ts';
import { fakeCtx, testEnv } from './test-ctx.ts';

test('HeadObject after DeleteObject: x-amz-delete-marker false on a never-versioned bucket, true otherwise', async () => {
  const env = await testEnv();
  try {
    for (const state of [null, 'Enabled', 'Suspended'] as const) {
      let b = await env.bucket(`dm-${state}`);
      b = await env.store.buckets.insert({ ...b, versioning: { t: Date.now() + 1, v: state } });
      const r = { bucket: b, bucketName: b.id, key: 'frodo.txt' };
      await PutObject(fakeCtx(env, { ...r, method: 'PUT', headers: { 'content-length': '1' }, body: 'x' }).ctx);
      await DeleteObject(fakeCtx(env, { ...r, method: 'DELETE' }).ctx);
      const e = await HeadObject(fakeCtx(env, { ...r, method: 'HEAD' }).ctx).then(() => undefined, (x: unknown) => x);
      assert.ok(e instanceof S3Error && e.code === 'NoSuchKey', String(e));
      assert.equal(e.headers['x-amz-delete-marker'], state === null ? 'false' : 'true', `bucket versioning ${state}`);
      if (state === null) assert.equal(e.headers['x-amz-version-id'], undefined);
    }
  } finally {
    await env.close();
  }
});
