import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { target, operation, PERMISSION } from './router.ts';

const req = (method: string, headers: Record<string, string> = {}) => ({ method, headers }) as unknown as IncomingMessage;
const op = (method: string, path: string, query = '', headers: Record<string, string> = {}, host = 'localhost:3900') =>
  operation(req(method, headers), target(host, path, '.s3.example.org'), new URLSearchParams(query));

test('path-style and virtual-host style targets', () => {
  assert.deepEqual(target('localhost', '/', undefined), {});
  assert.deepEqual(target('localhost', '/b', undefined), { bucketName: 'b' });
  assert.deepEqual(target('localhost', '/b/', undefined), { bucketName: 'b' });
  assert.deepEqual(target('localhost', '/b/a%20b/c%2Fd', undefined), { bucketName: 'b', key: 'a b/c/d' });
  assert.deepEqual(target('Photos.S3.example.org:3900', '/x//y', '.s3.example.org'), { bucketName: 'photos', key: 'x//y' });
  assert.deepEqual(target('photos.s3.example.org', '/', 's3.example.org'), { bucketName: 'photos' });
  assert.throws(() => target('h', '/b/%E0%A4%A', undefined), /parse/);
});

test('operations from method and subresources', () => {
  assert.equal(op('GET', '/'), 'ListBuckets');
  assert.equal(op('GET', '/b', 'list-type=2&prefix=a'), 'ListObjectsV2');
  assert.equal(op('GET', '/b', 'prefix=a'), 'ListObjects');
  assert.equal(op('GET', '/b', 'versions'), 'ListObjectVersions');
  assert.equal(op('GET', '/b', 'acl'), 'GetBucketAcl');
  assert.equal(op('PUT', '/b/k', 'acl'), 'PutObjectAcl');
  assert.equal(op('GET', '/b', 'policyStatus'), 'GetBucketPolicyStatus');
  assert.equal(op('DELETE', '/b', 'publicAccessBlock'), 'DeletePublicAccessBlock');
  assert.equal(op('GET', '/b', 'encryption'), 'NotImplemented');
  assert.equal(op('PUT', '/b'), 'CreateBucket');
  assert.equal(op('PUT', '/b', 'versioning'), 'PutBucketVersioning');
  assert.equal(op('POST', '/b', 'delete'), 'DeleteObjects');
  assert.equal(op('POST', '/b', '', { 'content-type': 'multipart/form-data; boundary=x' }), 'PostObject');
  assert.equal(op('PUT', '/b/k'), 'PutObject');
  assert.equal(op('PUT', '/b/k', '', { 'x-amz-copy-source': '/b/j' }), 'CopyObject');
  assert.equal(op('PUT', '/b/k', 'partNumber=1&uploadId=u'), 'UploadPart');
  assert.equal(op('PUT', '/b/k', 'partNumber=1&uploadId=u', { 'x-amz-copy-source': '/b/j' }), 'UploadPartCopy');
  assert.equal(op('POST', '/b/k', 'uploads'), 'CreateMultipartUpload');
  assert.equal(op('POST', '/b/k', 'uploadId=u'), 'CompleteMultipartUpload');
  assert.equal(op('DELETE', '/b/k', 'uploadId=u'), 'AbortMultipartUpload');
  assert.equal(op('GET', '/b/k', 'uploadId=u'), 'ListParts');
  assert.equal(op('GET', '/k', '', {}, 'b.s3.example.org'), 'GetObject');
  assert.throws(() => op('PATCH', '/b/k'), /not allowed/);
  for (const o of ['ListBuckets', 'GetObject', 'PutObject', 'DeleteBucket']) assert.ok(o in PERMISSION);
});

test('tagging, attributes and object lock subresources name their operations (they were 501)', () => {
  assert.equal(op('GET', '/b/k', 'tagging'), 'GetObjectTagging');
  assert.equal(op('PUT', '/b/k', 'tagging&versionId=v'), 'PutObjectTagging');
  assert.equal(op('DELETE', '/b/k', 'tagging'), 'DeleteObjectTagging');
  assert.equal(op('GET', '/b', 'tagging'), 'GetBucketTagging');
  assert.equal(op('PUT', '/b', 'tagging'), 'PutBucketTagging');
  assert.equal(op('DELETE', '/b', 'tagging'), 'DeleteBucketTagging');
  assert.equal(op('GET', '/b/k', 'attributes'), 'GetObjectAttributes');
  assert.equal(op('GET', '/b', 'object-lock'), 'GetObjectLockConfiguration');
  assert.equal(op('PUT', '/b', 'object-lock'), 'PutObjectLockConfiguration');
  assert.equal(op('GET', '/b/k', 'retention'), 'GetObjectRetention');
  assert.equal(op('PUT', '/b/k', 'retention'), 'PutObjectRetention');
  assert.equal(op('GET', '/b/k', 'legal-hold'), 'GetObjectLegalHold');
  assert.equal(op('PUT', '/b/k', 'legal-hold'), 'PutObjectLegalHold');
  assert.equal(op('GET', '/b/k', 'torrent'), 'NotImplemented');
  for (const o of ['GetObjectTagging', 'PutObjectRetention', 'GetObjectAttributes', 'PutObjectLockConfiguration']) assert.ok(o in PERMISSION);
});

test('lifecycle subresources name their operations (they were 501)', () => {
  assert.equal(op('GET', '/b', 'lifecycle'), 'GetBucketLifecycleConfiguration');
  assert.equal(op('PUT', '/b', 'lifecycle'), 'PutBucketLifecycleConfiguration');
  assert.equal(op('DELETE', '/b', 'lifecycle'), 'DeleteBucketLifecycle');
  for (const o of ['GetBucketLifecycleConfiguration', 'PutBucketLifecycleConfiguration', 'DeleteBucketLifecycle']) assert.equal(PERMISSION[o], 'owner');
});
