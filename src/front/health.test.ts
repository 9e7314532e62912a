// Upstream health: an upstream that accepts connections but never answers is down after the
// check's timeout, and one the proxy has saturated is down while it stays so.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Socket, type AddressInfo } from 'node:net';
import { createServer as createHttpServer } from 'node:http';
import { UpstreamHealth } from './health.ts';

test('a hung upstream (TCP accepted, no answer) is marked down by the check timeout', async () => {
  const held = new Set<Socket>();
  const hung = createServer((s) => {
    held.add(s);
    s.on('error', () => {});
  });
  await new Promise<void>((r) => hung.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(hung.address() as AddressInfo).port}`;
  const h = new UpstreamHealth({ intervalMs: 60_000, timeoutMs: 300 });
  h.setTargets([url]);
  const t0 = Date.now();
  await h.checkAll();
  assert.ok(Date.now() - t0 < 1500);
  assert.equal(h.isUp(url), false);
  assert.match(h.status()[0]!.lastError!, /timed out after 300 ms/);
  for (const s of held) s.destroy();
  await new Promise((r) => hung.close(r));
});

test('an upstream the proxy has saturated is down until it is not', async () => {
  const ok = createHttpServer((_q, res) => res.end('ok'));
  await new Promise<void>((r) => ok.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(ok.address() as AddressInfo).port}`;
  try {
    const h = new UpstreamHealth({ intervalMs: 60_000, timeoutMs: 1000 });
    let busy = true;
    h.setLoad((u) => (u === url && busy ? 'saturated' : undefined));
    h.setTargets([url]);
    await h.checkAll();
    assert.equal(h.isUp(url), false, 'a fresh connection answers, but the pool is full');
    assert.equal(h.status()[0]!.lastError, 'saturated');
    busy = false;
    await h.checkAll();
    assert.equal(h.isUp(url), true);
  } finally {
    ok.closeAllConnections();
    await new Promise((r) => ok.close(r));
  }
});
