// The RPC port against strangers: silent or slow sockets are closed at the handshake deadline,
// pending handshakes and per-address connections are capped at accept, and a burst of either
// costs a log line or two, not one per socket. In-process, on 127.0.0.1.
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { log } from '../util/log.ts';
import { NetApp } from './index.ts';
import { RawPeer, connectedTo, idAt, newSecret, startNode, waitFor } from './testkit.ts';

const nodes: NetApp[] = [];
async function node(secret: string, o: Parameters<typeof startNode>[1] = {}): Promise<NetApp> {
  const n = await startNode(secret, o);
  nodes.push(n);
  return n;
}
const socks: net.Socket[] = [];
after(async () => {
  for (const s of socks) s.destroy();
  await Promise.all(nodes.map((n) => n.stop()));
});

/** Opens `n` TCP connections that never send a byte; resolves once all are connected or closed. */
async function silent(port: number, n: number): Promise<{ sockets: net.Socket[]; closed: () => number }> {
  let closed = 0;
  const sockets = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<net.Socket>((resolve) => {
          const s = net.connect(port, '127.0.0.1', () => resolve(s));
          s.on('error', () => resolve(s));
          s.once('close', () => {
            closed++;
            resolve(s);
          });
          socks.push(s);
        }),
    ),
  );
  return { sockets, closed: () => closed };
}

function warnings(calls: { arguments: unknown[] }[], re: RegExp): number {
  return calls.filter((c) => c.arguments.some((a) => typeof a === 'string' && re.test(a))).length;
}

describe('net: RPC port admission', () => {
  it('silent TCP connections are closed at the handshake deadline, logged once per burst', async (t) => {
    const warn = t.mock.method(log, 'warn');
    const secret = newSecret();
    const a = await node(secret, { handshakeTimeoutMs: 300, pendingHandshakesMax: 1000, connectionsPerIpMax: 1000 });
    a.register('echo', async (_f, _e, m) => m);
    const { closed } = await silent(a.address().port, 200);
    await waitFor('every silent socket closed by the server', () => closed() === 200, 3000);
    const lines = warnings(warn.mock.calls, /./);
    assert.ok(lines <= 2, `${lines} warning lines for 200 silent sockets`);
    // The node still accepts and serves a real peer.
    const b = await node(secret, { bootstrapPeers: [idAt(a)] });
    await waitFor('b connected', () => connectedTo(b, a.id));
    assert.equal(await b.call(a.id, 'echo', 'still here'), 'still here');
  });

  it('TLS done but no hello, and wrong-secret handshakes: closed, a line per burst', async (t) => {
    const warn = t.mock.method(log, 'warn');
    const secret = newSecret();
    const a = await node(secret, { handshakeTimeoutMs: 300, pendingHandshakesMax: 1000, connectionsPerIpMax: 1000 });
    const raws = await Promise.all(Array.from({ length: 20 }, () => RawPeer.connect(a.address().port, secret)));
    await waitFor('hello-less sessions closed', () => raws.every((r) => r.closed), 3000);
    const wrong = await Promise.allSettled(Array.from({ length: 20 }, () => RawPeer.connect(a.address().port, newSecret())));
    assert.ok(wrong.every((w) => w.status === 'rejected'));
    await new Promise((r) => setTimeout(r, 100));
    const lines = warn.mock.callCount();
    assert.ok(lines <= 3, `${lines} warning lines for 40 refused sessions: ${JSON.stringify(warn.mock.calls.map((c) => c.arguments[1]))}`);
  });

  it('pending handshakes are capped at accept', async () => {
    const secret = newSecret();
    const a = await node(secret, { handshakeTimeoutMs: 5000, pendingHandshakesMax: 5, connectionsPerIpMax: 1000 });
    const { sockets, closed } = await silent(a.address().port, 30);
    await waitFor('excess refused at once', () => closed() >= 25, 2000);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(closed(), 25, 'exactly the cap is held');
    for (const s of sockets) s.destroy();
    // Freed slots admit a real peer.
    const b = await node(secret);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(await b.connect(idAt(a)), a.id);
  });

  it('connections per address are capped at accept, authenticated ones included', async () => {
    const secret = newSecret();
    const a = await node(secret, { handshakeTimeoutMs: 5000, pendingHandshakesMax: 1000, connectionsPerIpMax: 4 });
    const b = await node(secret);
    await b.connect(idAt(a)); // one authenticated connection from 127.0.0.1
    const { sockets, closed } = await silent(a.address().port, 10);
    await waitFor('excess refused at once', () => closed() >= 7, 2000);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(closed(), 7, '3 silent + 1 peer = the cap of 4');
    assert.ok(connectedTo(a, b.id), 'the established peer is untouched');
    for (const s of sockets) s.destroy();
  });
});
