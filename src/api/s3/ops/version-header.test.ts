// PutObject and CompleteMultipartUpload answer x-amz-version-id only when they made a real version
// (versioning Enabled); a "null" version on an unversioned or suspended bucket gets none, as S3
// (s3-tests test_versioning_bucket_{atomic,multipart}_upload_return_version_id).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { childText } from '../xml.ts';
import { CompleteMultipartUpload, CreateMultipartUpload, UploadPart } from './multipart.ts';
import { PutObject } from './object.ts';
import { fakeCtx, testEnv } from './test-ctx.ts';
import type { Bucket } from '../../../model/bucket.ts';

test('x-amz-version-id on PUT and Complete: only for a versioning-Enabled bucket', async () => {
  const env = await testEnv();
  try {
    const run = async (h: (c: ReturnType<typeof fakeCtx>['ctx']) => Promise<void>, b: Bucket, r: Parameters<typeof fakeCtx>[1]) => {
      const { ctx, res } = fakeCtx(env, { bucket: b, bucketName: 'v', key: 'k', ...r });
      await h(ctx);
      return res;
    };
    for (const state of [null, 'Enabled', 'Suspended'] as const) {
      let b = await env.bucket(`v-${state}`);
      b = await env.store.buckets.insert({ ...b, versioning: { t: Date.now() + 1, v: state } });
      const put = await run(PutObject, b, { method: 'PUT', headers: { 'content-length': '1' }, body: 'x' });
      const up = childText((await run(CreateMultipartUpload, b, { method: 'POST', query: { uploads: '' } })).xml(), 'UploadId')!;
      await run(UploadPart, b, { method: 'PUT', query: { uploadId: up, partNumber: '1' }, headers: { 'content-length': '1' }, body: 'x' });
      const etag = createHash('md5').update('x').digest('hex');
      const done = await run(CompleteMultipartUpload, b, { method: 'POST', query: { uploadId: up }, body: `<CompleteMultipartUpload><Part><ETag>${etag}</ETag><PartNumber>1</PartNumber></Part></CompleteMultipartUpload>` });
      for (const [what, res] of [['PutObject', put], ['CompleteMultipartUpload', done]] as const) {
        const id = res.header('x-amz-version-id');
        if (state === 'Enabled') assert.match(id ?? '', /^[0-9a-f]{32}$/, `${what} on an Enabled bucket`);
        else assert.equal(id, undefined, `${what} on a ${state ?? 'never versioned'} bucket`);
      }
    }
  } finally {
    await env.close();
  }
});
