// guardListener: per-address and per-listener connection caps, idle and header timeouts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { connect, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { guardListener } from './listener.ts';

const LIMITS = { http_headers_timeout_secs: 1, http_idle_timeout_secs: 1, http_keepalive_timeout_secs: 1, http_connections_max: 8, http_connections_per_ip_max: 4 };

function open(port: number, localAddress = '127.0.0.1'): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ port, host: '127.0.0.1', localAddress }, () => resolve(s));
    s.on('error', reject);
  });
}

/** Resolves when the socket is closed by the server (or after `ms`, with false). */
function closedWithin(s: Socket, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(false), ms);
    s.on('close', () => {
      clearTimeout(t);
      resolve(true);
    });
    s.on('error', () => {});
    s.resume();
  });
}

async function withServer(fn: (port: number) => Promise<void>): Promise<void> {
  const server = createServer((_req, res) => res.end('ok'));
  guardListener(server, LIMITS, 'test');
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    await fn((server.address() as AddressInfo).port);
  } finally {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
}

test('one address cannot hold more than http_connections_per_ip_max connections; others still get in', async () => {
  await withServer(async (port) => {
    const held: Socket[] = [];
    for (let i = 0; i < 4; i++) held.push(await open(port));
    const extra = await open(port);
    assert.equal(await closedWithin(extra, 2000), true, 'the fifth connection from one address is closed at once');
    // Another loopback source address is another client: it is admitted.
    const other = await open(port, '127.0.0.2');
    other.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    const answer = await new Promise<string>((r) => other.once('data', (d) => r(d.toString())));
    assert.match(answer, /^HTTP\/1\.1 200/);
    for (const s of [...held, other]) s.destroy();
  });
});

test('a silent connection is closed at the header timeout, an idle keep-alive one at the idle timeout', async () => {
  await withServer(async (port) => {
    const silent = await open(port);
    const t0 = Date.now();
    assert.equal(await closedWithin(silent, 5000), true, 'a connection that never sends a request is closed');
    assert.ok(Date.now() - t0 < 4500);
    const slow = await open(port);
    slow.write('PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000000\r\n\r\nabc');
    assert.equal(await closedWithin(slow, 5000), true, 'a body that stops moving is cut by the idle timeout');
  });
});
