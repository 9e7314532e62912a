// ListObjects (V1) with encoding-type=url echoes Prefix as sent: clients decode only Delimiter,
// Marker, NextMarker and the names inside Contents/CommonPrefixes of a V1 answer (botocore, as RGW
// and S3 answer), so an encoded Prefix came back as '%0A' (s3-tests test_bucket_list_prefix_unreadable).
// ListObjectsV2 encodes it (clients decode it there).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { childText } from '../xml.ts';
import { ListObjects, ListObjectsV2 } from './list.ts';
import { fakeCtx, testEnv } from './test-ctx.ts';

test('ListObjects V1 encoding-type=url: Prefix verbatim, Delimiter encoded; V2 encodes Prefix', async () => {
  const env = await testEnv();
  try {
    const b = await env.bucket('pre');
    const v1 = fakeCtx(env, { bucket: b, bucketName: 'pre', query: { prefix: '\n a+', delimiter: ' ', 'encoding-type': 'url' } });
    await ListObjects(v1.ctx);
    const x = v1.res.xml();
    assert.ok(v1.res.text().includes('<Prefix>\n a+</Prefix>'), v1.res.text());
    assert.equal(childText(x, 'Delimiter'), '%20');
    const v2 = fakeCtx(env, { bucket: b, bucketName: 'pre', query: { 'list-type': '2', prefix: '\n', 'encoding-type': 'url' } });
    await ListObjectsV2(v2.ctx);
    assert.equal(childText(v2.res.xml(), 'Prefix'), '%0A');
  } finally {
    await env.close();
  }
});
