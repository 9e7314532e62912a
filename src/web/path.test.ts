// Request target → key decoding: what is refused and what a key becomes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodePath, encodeKey } from './path.ts';

test('decodePath: decodes once, splits the query, accepts absolute-form', () => {
  assert.deepEqual(decodePath('/a/b%20c.html?x=1'), { ok: true, key: 'a/b c.html', rawPath: '/a/b%20c.html', query: 'x=1' });
  assert.deepEqual(decodePath('/'), { ok: true, key: '', rawPath: '/', query: '' });
  assert.deepEqual(decodePath('/%2525'), { ok: true, key: '%25', rawPath: '/%2525', query: '' });
  assert.deepEqual(decodePath('http://h.example/x?y'), { ok: true, key: 'x', rawPath: '/x', query: 'y' });
  assert.deepEqual(decodePath('http://h.example'), { ok: true, key: '', rawPath: '/', query: '' });
  assert.equal(decodePath('/a..b/...').ok, true);
  assert.equal(decodePath('/a//b').ok, true);
});

test('decodePath refuses NUL, bad escapes, encoded slashes, dot segments, overlong keys', () => {
  for (const bad of ['/..', '/a/../b', '/%2e%2E/x', '/%2E', '/a/./b', '/x%00', '/%2f', '/a%2Fb', '/%', '/%g0', '/%c3%28', '*', '', '/a\\b', '/%5c', '/' + 'a'.repeat(1025)]) {
    const r = decodePath(bad);
    assert.equal(r.ok, false, bad);
  }
  assert.equal(decodePath('/' + 'a'.repeat(1024)).ok, true);
});

test('encodeKey keeps slashes and escapes the rest', () => {
  assert.equal(encodeKey('a b/é?#'), 'a%20b/%C3%A9%3F%23');
});
