// Pure HTTP helpers: ranges, conditional requests, entity tags, Accept-Encoding.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { acceptsEncoding, etagMatches, evaluateConditions, parseRange } from './http.ts';

test('parseRange: single ranges, suffixes, open ends, clamping, ignored and unsatisfiable forms', () => {
  assert.deepEqual(parseRange('bytes=0-9', 100), { start: 0, end: 10 });
  assert.deepEqual(parseRange('bytes=90-', 100), { start: 90, end: 100 });
  assert.deepEqual(parseRange('bytes=-10', 100), { start: 90, end: 100 });
  assert.deepEqual(parseRange('bytes=-1000', 100), { start: 0, end: 100 });
  assert.deepEqual(parseRange('bytes=50-1000', 100), { start: 50, end: 100 });
  assert.equal(parseRange(undefined, 100), undefined);
  assert.equal(parseRange('bytes=0-1,4-5', 100), undefined);
  assert.equal(parseRange('items=0-1', 100), undefined);
  assert.equal(parseRange('bytes=9-3', 100), undefined);
  assert.equal(parseRange('bytes=-', 100), undefined);
  assert.equal(parseRange('bytes=100-', 100), 'unsatisfiable');
  assert.equal(parseRange('bytes=-0', 100), 'unsatisfiable');
  assert.equal(parseRange('bytes=0-', 0), 'unsatisfiable');
});

test('etagMatches: lists, quotes, weak prefixes, star', () => {
  assert.ok(etagMatches('"abc"', 'abc'));
  assert.ok(etagMatches('"x", W/"abc"', 'abc'));
  assert.ok(etagMatches('*', 'abc'));
  assert.ok(!etagMatches('"abd"', 'abc'));
});

test('evaluateConditions follows RFC 7232 precedence', () => {
  const lm = Date.parse('2024-01-01T00:00:00.500Z');
  const at = (ms: number) => new Date(ms).toUTCString();
  assert.deepEqual(evaluateConditions({}, 'e', lm), { status: 'ok' });
  assert.deepEqual(evaluateConditions({ 'if-none-match': '"e"' }, 'e', lm), { status: 'not-modified' });
  assert.deepEqual(evaluateConditions({ 'if-modified-since': at(lm) }, 'e', lm), { status: 'not-modified' }, 'second precision');
  assert.deepEqual(evaluateConditions({ 'if-modified-since': at(lm - 1000) }, 'e', lm), { status: 'ok' });
  assert.deepEqual(evaluateConditions({ 'if-none-match': '"x"', 'if-modified-since': at(lm) }, 'e', lm), { status: 'ok' });
  assert.deepEqual(evaluateConditions({ 'if-match': '"x"' }, 'e', lm), { status: 'precondition-failed', condition: 'If-Match' });
  assert.deepEqual(evaluateConditions({ 'if-unmodified-since': at(lm - 1000) }, 'e', lm), { status: 'precondition-failed', condition: 'If-Unmodified-Since' });
  assert.deepEqual(evaluateConditions({ 'if-match': '"e"', 'if-unmodified-since': at(lm - 1000) }, 'e', lm), { status: 'ok' }, 'If-Match overrides');
  assert.deepEqual(evaluateConditions({ 'x-amz-copy-source-if-match': '"x"' }, 'e', lm, 'x-amz-copy-source-'), { status: 'precondition-failed', condition: 'If-Match' });
  assert.deepEqual(evaluateConditions({ 'if-modified-since': 'garbage' }, 'e', lm), { status: 'ok' });
});

test('acceptsEncoding: explicit entries, q=0, star, x-gzip', () => {
  assert.ok(acceptsEncoding('gzip, deflate, br', 'br'));
  assert.ok(acceptsEncoding('gzip;q=0.8', 'gzip'));
  assert.ok(!acceptsEncoding('br;q=0', 'br'));
  assert.ok(!acceptsEncoding('br;q=0.0, *', 'br'), 'an explicit refusal beats *');
  assert.ok(acceptsEncoding('*', 'br'));
  assert.ok(!acceptsEncoding('*;q=0', 'gzip'));
  assert.ok(acceptsEncoding('x-gzip', 'gzip'));
  assert.ok(!acceptsEncoding('identity', 'gzip'));
  assert.ok(!acceptsEncoding(undefined, 'gzip'));
  assert.ok(!acceptsEncoding('', 'gzip'));
  assert.ok(acceptsEncoding('GZIP', 'gzip'));
});
