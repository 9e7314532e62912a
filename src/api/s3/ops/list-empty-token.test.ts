// ListObjectsV2 with an empty continuation-token lists from the start and echoes the empty token
// (s3-tests test_bucket_listv2_continuationtoken_empty), as S3 does; a malformed one stays a 400.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { child, children, childText } from '../xml.ts';
import { ListObjectsV2 } from './list.ts';
import { PutObject } from './object.ts';
import { fakeCtx, testEnv } from './test-ctx.ts';

test("ListObjectsV2: continuation-token='' is the start of the listing, echoed back", async () => {
  const env = await testEnv();
  try {
    const b = await env.bucket('tok');
    for (const key of ['bar', 'baz', 'foo', 'quxx']) {
      const { ctx } = fakeCtx(env, { method: 'PUT', bucket: b, bucketName: 'tok', key, headers: { 'content-length': '1' }, body: 'x' });
      await PutObject(ctx);
    }
    const { ctx, res } = fakeCtx(env, { bucket: b, bucketName: 'tok', query: { 'list-type': '2', 'continuation-token': '' } });
    await ListObjectsV2(ctx);
    const x = res.xml();
    assert.equal(child(x, 'ContinuationToken')?.text, '');
    assert.equal(childText(x, 'IsTruncated'), 'false');
    assert.deepEqual(children(x, 'Contents').map((c) => childText(c, 'Key')), ['bar', 'baz', 'foo', 'quxx']);
    // With start-after too, start-after applies (there is no position to resume from).
    const s = fakeCtx(env, { bucket: b, bucketName: 'tok', query: { 'list-type': '2', 'continuation-token': '', 'start-after': 'baz' } });
    await ListObjectsV2(s.ctx);
    assert.deepEqual(children(s.res.xml(), 'Contents').map((c) => childText(c, 'Key')), ['foo', 'quxx']);
    const bad = fakeCtx(env, { bucket: b, bucketName: 'tok', query: { 'list-type': '2', 'continuation-token': '!!!' } });
    await assert.rejects(ListObjectsV2(bad.ctx), { code: 'InvalidArgument' });
  } finally {
    await env.close();
  }
});
