// Content-Type guessing for website files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { contentTypeFor, guessType } from './mime.ts';

test('guessType by extension, case-insensitive, only in the last path segment', () => {
  assert.equal(guessType('a/b/index.HTML'), 'text/html; charset=utf-8');
  assert.equal(guessType('x.tar.gz'), 'application/gzip');
  assert.equal(guessType('font.woff2'), 'font/woff2');
  assert.equal(guessType('dir.js/README'), undefined);
  assert.equal(guessType('noext'), undefined);
});

test('contentTypeFor keeps a specific stored type and replaces a generic one', () => {
  assert.equal(contentTypeFor('a.css', 'text/x-custom'), 'text/x-custom');
  assert.equal(contentTypeFor('a.css', 'binary/octet-stream'), 'text/css; charset=utf-8');
  assert.equal(contentTypeFor('a.css', 'Application/Octet-Stream'), 'text/css; charset=utf-8');
  assert.equal(contentTypeFor('a.css', undefined), 'text/css; charset=utf-8');
  assert.equal(contentTypeFor('blob', undefined), 'application/octet-stream');
});
