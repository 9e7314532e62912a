// The proxy's request checks without sockets: framing (what may carry a body upstream, what is
// refused), the headers sent upstream (Connection cannot strip framing or Host), upgrade kinds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { isWebSocketUpgrade, requestFraming, upstreamHeaders } from './proxy.ts';

/** A parsed request as node:http hands it over (lower-case headers, repeated ones in rawHeaders). */
function req(raw: [string, string][]): IncomingMessage {
  const headers: Record<string, string> = {};
  for (const [k, v] of raw) {
    const l = k.toLowerCase();
    headers[l] = l in headers && l !== 'host' && l !== 'content-length' ? `${headers[l]}, ${v}` : (headers[l] ?? v);
  }
  return { headers, rawHeaders: raw.flat(), method: 'GET', socket: { remoteAddress: '::ffff:192.0.2.7' } } as unknown as IncomingMessage;
}

test('framing: one explicit length or exactly chunked; everything else is refused', () => {
  assert.deepEqual(requestFraming(req([['Host', 'a.test']])), { kind: 'none' });
  assert.deepEqual(requestFraming(req([['Host', 'a.test'], ['Content-Length', '12']])), { kind: 'length', length: 12 });
  assert.deepEqual(requestFraming(req([['Host', 'a.test'], ['Content-Length', '0']])), { kind: 'length', length: 0 });
  assert.deepEqual(requestFraming(req([['Host', 'a.test'], ['Transfer-Encoding', 'Chunked']])), { kind: 'chunked' });
  for (const bad of [
    [['Host', 'a.test'], ['Host', 'b.test']],
    [['Content-Length', '1'], ['Transfer-Encoding', 'chunked']],
    [['Transfer-Encoding', 'gzip, chunked']],
    [['Transfer-Encoding', 'chunked'], ['Transfer-Encoding', 'chunked']],
    [['Transfer-Encoding', 'identity']],
    [['Content-Length', '1'], ['Content-Length', '1']],
    [['Content-Length', '-1']],
    [['Content-Length', '1e3']],
    [['Content-Length', '9'.repeat(16)]],
  ] as [string, string][][])
    assert.ok('error' in requestFraming(req(bad)), JSON.stringify(bad));
});

test('upstream headers: framing and Host set by the front, whatever Connection names', () => {
  const r = req([
    ['Host', 'app.test'],
    ['Connection', 'keep-alive, content-length, transfer-encoding, host, x-secret, x-forwarded-for'],
    ['Content-Length', '5'],
    ['X-Secret', 'hop'],
    ['X-Forwarded-For', '6.6.6.6'],
    ['Expect', '100-continue'],
    ['Cookie', 'c=1'],
  ]);
  const h = upstreamHeaders(r, 'https', { kind: 'length', length: 5 });
  assert.equal(h.host, 'app.test');
  assert.equal(h['content-length'], '5');
  assert.equal(h['transfer-encoding'], undefined);
  assert.equal(h['x-secret'], undefined);
  assert.equal(h.connection, undefined);
  assert.equal(h.expect, undefined, 'the front already answered 100-continue');
  assert.equal(h['x-forwarded-for'], '192.0.2.7');
  assert.equal(h['x-forwarded-proto'], 'https');
  assert.equal(h.cookie, 'c=1');
  // A chunked GET is forwarded chunked, never as a bare byte stream.
  const c = upstreamHeaders(req([['Host', 'app.test'], ['Transfer-Encoding', 'chunked'], ['Connection', 'close, transfer-encoding']]), 'http', { kind: 'chunked' });
  assert.equal(c['transfer-encoding'], 'chunked');
  assert.equal(c['content-length'], undefined);
  // The client's own framing headers never pass through: only what `framing` says.
  assert.equal(upstreamHeaders(req([['Host', 'a.test'], ['Content-Length', '5']]), 'http', { kind: 'none' })['content-length'], undefined);
});

test('only websocket upgrades are tunnelled', () => {
  assert.ok(isWebSocketUpgrade(req([['Connection', 'keep-alive, Upgrade'], ['Upgrade', 'WebSocket']])));
  assert.ok(!isWebSocketUpgrade(req([['Connection', 'Upgrade, HTTP2-Settings'], ['Upgrade', 'h2c']])));
  assert.ok(!isWebSocketUpgrade(req([['Connection', 'Upgrade'], ['Upgrade', 'websocket, h2c']])));
  assert.ok(!isWebSocketUpgrade(req([['Upgrade', 'websocket']])), 'Connection must name it');
});
