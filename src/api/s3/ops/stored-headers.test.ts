// storedHeaders: Content-Encoding is kept as the client sent it, minus the aws-chunked framing token
// (s3-tests test_object_content_encoding_aws_chunked: 'deflate, gzip' must come back unchanged).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { storedHeaders } from './common.ts';

const enc = (v: string) => storedHeaders({ 'content-encoding': v }).find(([k]) => k === 'content-encoding')?.[1];

test('storedHeaders: Content-Encoding verbatim unless it carries aws-chunked, which is dropped', () => {
  assert.equal(enc('gzip'), 'gzip');
  assert.equal(enc('deflate, gzip'), 'deflate, gzip');
  assert.equal(enc('deflate,gzip'), 'deflate,gzip');
  assert.equal(enc('gzip, aws-chunked'), 'gzip');
  assert.equal(enc('aws-chunked, gzip'), 'gzip');
  assert.equal(enc('aws-chunked,deflate, gzip'), 'deflate, gzip');
  assert.equal(enc('AWS-Chunked, gzip'), 'gzip');
  assert.equal(enc('aws-chunked'), undefined);
  assert.equal(enc('aws-chunked, aws-chunked'), undefined);
});
