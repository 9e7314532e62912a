// Listings name each object's owner as GetObjectAcl does: the key id and its name as DisplayName
// (s3-tests test_bucket_list_return_data{,_versioning}); ListMultipartUploads names the
// Initiator and Owner of each upload (test_list_multipart_upload_owner).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { child, children, childText } from '../xml.ts';
import { ListObjects, ListObjectsV2, ListObjectVersions } from './list.ts';
import { CreateMultipartUpload, ListMultipartUploads } from './multipart.ts';
import { PutObject } from './object.ts';
import { fakeCtx, testEnv } from './test-ctx.ts';

test('ListObjects, ListObjectsV2 fetch-owner, ListObjectVersions and ListMultipartUploads: owner DisplayName is the key name', async () => {
  const env = await testEnv();
  try {
    const b = await env.bucket('own');
    const put = fakeCtx(env, { method: 'PUT', bucket: b, bucketName: 'own', key: 'k', headers: { 'content-length': '1' }, body: 'x' });
    await PutObject(put.ctx);
    await CreateMultipartUpload(fakeCtx(env, { method: 'POST', bucket: b, bucketName: 'own', key: 'up', query: { uploads: '' } }).ctx);
    const owners = async (h: typeof ListObjects, query: Record<string, string>, item: string, who = 'Owner') => {
      const { ctx, res } = fakeCtx(env, { bucket: b, bucketName: 'own', query });
      await h(ctx);
      return children(res.xml(), item).map((c) => {
        const o = child(c, who);
        return [childText(o!, 'ID'), childText(o!, 'DisplayName')];
      });
    };
    const expected = [[env.accessKey.id, 'test']];
    assert.deepEqual(await owners(ListObjects, {}, 'Contents'), expected);
    assert.deepEqual(await owners(ListObjectsV2, { 'list-type': '2', 'fetch-owner': 'true' }, 'Contents'), expected);
    assert.deepEqual(await owners(ListObjectVersions, { versions: '' }, 'Version'), expected);
    assert.deepEqual(await owners(ListMultipartUploads, { uploads: '' }, 'Upload'), expected);
    assert.deepEqual(await owners(ListMultipartUploads, { uploads: '' }, 'Upload', 'Initiator'), expected);
  } finally {
    await env.close();
  }
});
