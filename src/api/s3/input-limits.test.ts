// The request-name checks: keys at exactly 1024 bytes pass, one more byte fails; a header value
// passes checkHeaderValue exactly when Node would send it (property test over arbitrary strings).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateHeaderValue } from 'node:http';
import fc from 'fast-check';
import { checkHeaderValue, checkObjectKey, checkRequestNames, KEY_BYTES_MAX } from './input-limits.ts';
import { S3Error } from './errors.ts';

const code = (f: () => void): string | undefined => {
  try {
    f();
    return undefined;
  } catch (e) {
    assert.ok(e instanceof S3Error, String(e));
    return e.code;
  }
};

test('object keys: 1024 bytes of UTF-8 pass, 1025 are KeyTooLongError', () => {
  assert.equal(code(() => checkObjectKey('a'.repeat(KEY_BYTES_MAX))), undefined);
  assert.equal(code(() => checkObjectKey('€'.repeat(341) + 'a')), undefined); // 1024 bytes
  assert.equal(code(() => checkObjectKey('a'.repeat(KEY_BYTES_MAX + 1))), 'KeyTooLongError');
  assert.equal(code(() => checkObjectKey('€'.repeat(342))), 'KeyTooLongError'); // 1026 bytes, 342 chars
});

test('request names: key-like list parameters give KeyTooLongError, the others InvalidArgument', () => {
  const q = (s: Record<string, string>) => new URLSearchParams(s);
  const long = 'x'.repeat(KEY_BYTES_MAX + 1);
  assert.equal(code(() => checkRequestNames({ bucketName: 'b', key: long }, q({}))), 'KeyTooLongError');
  for (const p of ['prefix', 'marker', 'start-after', 'key-marker']) assert.equal(code(() => checkRequestNames({ bucketName: 'b' }, q({ [p]: long }))), 'KeyTooLongError', p);
  for (const p of ['delimiter', 'upload-id-marker', 'version-id-marker', 'versionId', 'uploadId'])
    assert.equal(code(() => checkRequestNames({ bucketName: 'b' }, q({ [p]: long }))), 'InvalidArgument', p);
  assert.equal(code(() => checkRequestNames({ bucketName: 'b' }, q({ 'continuation-token': 'A'.repeat(2000) }))), 'InvalidArgument');
  assert.equal(code(() => checkRequestNames({ bucketName: 'b', key: 'k' }, q({ versionId: 'a\r\nb' }))), 'InvalidArgument');
  assert.equal(code(() => checkRequestNames({ bucketName: 'b', key: 'k' }, q({ prefix: 'a'.repeat(KEY_BYTES_MAX), versionId: 'null' }))), undefined);
  // Names that only go back in XML may hold any character (s3-tests *_delimiter_unreadable).
  assert.equal(code(() => checkRequestNames({ bucketName: 'b' }, q({ delimiter: '\n', 'version-id-marker': '\x01' }))), undefined);
});

test('checkHeaderValue accepts exactly what Node can send as a header value', () => {
  fc.assert(
    fc.property(fc.array(fc.oneof(fc.constantFrom('\r', '\n', '\0', '\t', '\x7f', 'é', 'ÿ', 'Ā', '€'), fc.string({ unit: 'binary', maxLength: 3 })), { maxLength: 8 }).map((a) => a.join('')), (s) => {
      let node = true;
      try {
        validateHeaderValue('x-test', s);
      } catch {
        node = false;
      }
      assert.equal(code(() => checkHeaderValue('response-content-type', s)) === undefined, node, JSON.stringify(s));
    }),
    { numRuns: 500 },
  );
});
