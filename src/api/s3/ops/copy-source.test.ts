// Copy-source parsing, copy preconditions and copy ranges, without a store.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ObjectVersion } from '../../../model/object.ts';
import { S3Error } from '../errors.ts';
import { checkCopyConditions, parseCopyRange, parseCopySource } from './copy-source.ts';

function code(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof S3Error, String(e));
    return e.code;
  }
  return 'ok';
}

test('parseCopySource splits bucket, key and versionId, decoding after the split', () => {
  assert.deepEqual(parseCopySource('/bkt/a/b.txt'), { bucketName: 'bkt', key: 'a/b.txt' });
  assert.deepEqual(parseCopySource('bkt/a%20b%3Fc.txt'), { bucketName: 'bkt', key: 'a b?c.txt' });
  assert.deepEqual(parseCopySource('/bkt/%C3%A9t%C3%A9?versionId=abc'), { bucketName: 'bkt', key: 'été', versionId: 'abc' });
  assert.deepEqual(parseCopySource('/bkt/k?versionId=null'), { bucketName: 'bkt', key: 'k', versionId: 'null' });
  for (const bad of ['/bkt', 'bkt/', '/bkt/', '//k', '/bkt/%E0%A4%A', '/bkt/k?versionId=', '/bkt/k?other=1']) assert.equal(code(() => parseCopySource(bad)), 'InvalidArgument', bad);
  assert.equal(code(() => parseCopySource('/bkt/' + 'k'.repeat(1025))), 'KeyTooLongError');
});

const v: ObjectVersion = {
  uuid: 'u',
  ts: Date.parse('2024-05-01T12:00:00.750Z'),
  state: 'complete',
  nullVersion: true,
  deleteMarker: false,
  multipart: false,
  meta: { size: 10, etag: 'abc', headers: [] },
};

test('copy conditions follow S3 precedence', () => {
  const before = 'Wed, 01 May 2024 11:00:00 GMT';
  const same = 'Wed, 01 May 2024 12:00:00 GMT';
  const after = 'Wed, 01 May 2024 13:00:00 GMT';
  const check = (h: Record<string, string>) => code(() => checkCopyConditions(h, v));
  assert.equal(check({}), 'ok');
  assert.equal(check({ 'x-amz-copy-source-if-match': '"abc"' }), 'ok');
  assert.equal(check({ 'x-amz-copy-source-if-match': '"x", "abc"' }), 'ok');
  assert.equal(check({ 'x-amz-copy-source-if-match': '"x"' }), 'PreconditionFailed');
  assert.equal(check({ 'x-amz-copy-source-if-none-match': '"abc"' }), 'PreconditionFailed');
  assert.equal(check({ 'x-amz-copy-source-if-none-match': '"x"' }), 'ok');
  assert.equal(check({ 'x-amz-copy-source-if-modified-since': before }), 'ok');
  // Second precision: modified at 12:00:00.750 is not modified since 12:00:00.
  assert.equal(check({ 'x-amz-copy-source-if-modified-since': same }), 'PreconditionFailed');
  assert.equal(check({ 'x-amz-copy-source-if-unmodified-since': same }), 'ok');
  assert.equal(check({ 'x-amz-copy-source-if-unmodified-since': before }), 'PreconditionFailed');
  assert.equal(check({ 'x-amz-copy-source-if-unmodified-since': after }), 'ok');
  // If-Match true wins over a failing If-Unmodified-Since; If-None-Match true over If-Modified-Since false.
  assert.equal(check({ 'x-amz-copy-source-if-match': 'abc', 'x-amz-copy-source-if-unmodified-since': before }), 'ok');
  assert.equal(check({ 'x-amz-copy-source-if-none-match': 'x', 'x-amz-copy-source-if-modified-since': after }), 'ok');
  assert.equal(check({ 'x-amz-copy-source-if-none-match': 'abc', 'x-amz-copy-source-if-modified-since': before }), 'PreconditionFailed');
  // Unparsable dates are ignored.
  assert.equal(check({ 'x-amz-copy-source-if-modified-since': 'yesterday' }), 'ok');
});

test('copy ranges are inclusive and must lie inside the object', () => {
  assert.deepEqual(parseCopyRange(undefined, 10), { start: 0, end: 10 });
  assert.deepEqual(parseCopyRange('bytes=0-9', 10), { start: 0, end: 10 });
  assert.deepEqual(parseCopyRange('bytes=3-3', 10), { start: 3, end: 4 });
  assert.equal(code(() => parseCopyRange('bytes=0-10', 10)), 'InvalidRange');
  assert.equal(code(() => parseCopyRange('bytes=0-0', 0)), 'InvalidRange');
  for (const bad of ['bytes=5-', 'bytes=-5', 'bytes=5-3', 'items=0-1', 'bytes=0-1,3-4', '0-1']) assert.equal(code(() => parseCopyRange(bad, 10)), 'InvalidArgument', bad);
});
