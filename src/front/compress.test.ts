// Which responses the front compresses, and how.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { chooseCoding, compressor, isCompressible, varyAcceptEncoding } from './compress.ts';

test('compressible types', () => {
  for (const t of ['text/html; charset=utf-8', 'text/css', 'application/json', 'application/javascript', 'image/svg+xml', 'application/xml', 'application/activity+json', 'text/plain'])
    assert.ok(isCompressible(t), t);
  for (const t of [undefined, 'image/png', 'application/octet-stream', 'video/mp4', 'text/event-stream', 'application/zip', 'application/jsonl-not'])
    assert.ok(!isCompressible(t), String(t));
});

test('coding choice follows Accept-Encoding and the response', () => {
  const html = { 'content-type': 'text/html' };
  assert.equal(chooseCoding('GET', { 'accept-encoding': 'gzip, deflate, br' }, 200, html), 'br');
  assert.equal(chooseCoding('GET', { 'accept-encoding': 'gzip' }, 200, html), 'gzip');
  assert.equal(chooseCoding('GET', { 'accept-encoding': 'br;q=0, gzip' }, 200, html), 'gzip');
  assert.equal(chooseCoding('GET', {}, 200, html), undefined);
  assert.equal(chooseCoding('HEAD', { 'accept-encoding': 'br' }, 200, html), undefined);
  assert.equal(chooseCoding('GET', { 'accept-encoding': 'br' }, 206, html), undefined);
  assert.equal(chooseCoding('GET', { 'accept-encoding': 'br' }, 304, html), undefined);
  assert.equal(chooseCoding('GET', { 'accept-encoding': 'br' }, 200, { ...html, 'content-encoding': 'gzip' }), undefined);
  assert.equal(chooseCoding('GET', { 'accept-encoding': 'br' }, 200, { ...html, 'content-length': '20' }), undefined);
  assert.equal(chooseCoding('GET', { 'accept-encoding': 'br' }, 200, { ...html, 'cache-control': 'public, no-transform' }), undefined);
  assert.equal(chooseCoding('GET', { 'accept-encoding': 'br' }, 200, { 'content-type': 'image/png' }), undefined);
  assert.equal(chooseCoding('GET', { 'accept-encoding': 'br' }, 404, html), 'br');
});

test('compressors round-trip', async () => {
  const text = 'hello front '.repeat(1000);
  for (const [c, dec] of [['br', brotliDecompressSync], ['gzip', gunzipSync]] as const) {
    const z = compressor(c);
    const out: Buffer[] = [];
    z.on('data', (b: Buffer) => out.push(b));
    const done = new Promise((r) => z.on('end', r));
    z.end(text);
    await done;
    const all = Buffer.concat(out);
    assert.ok(all.length < text.length / 10, `${c} compresses`);
    assert.equal(dec(all).toString(), text);
  }
});

test('Vary gets Accept-Encoding once', () => {
  assert.equal(varyAcceptEncoding(undefined), 'Accept-Encoding');
  assert.equal(varyAcceptEncoding('Origin'), 'Origin, Accept-Encoding');
  assert.equal(varyAcceptEncoding('accept-encoding'), 'accept-encoding');
  assert.equal(varyAcceptEncoding('*'), '*');
});
