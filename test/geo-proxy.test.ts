// Unit tests of the delaying TCP proxy used by the geo tests: the measured RTT is twice the
// one-way delay, bytes keep their order under back-pressure, half-close and close behave.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { createHash, randomBytes } from 'node:crypto';
import { startDelayProxy } from './lib/delay-proxy.ts';

function listen(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const a = server.address();
      resolve(typeof a === 'object' && a ? a.port : 0);
    });
  });
}

function dial(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port, noDelay: true, allowHalfOpen: true }, () => resolve(s));
    s.once('error', reject);
  });
}

function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(t)),
    new Promise<T>((_, reject) => {
      t = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
    }),
  ]);
}

/** An echo server that answers each received chunk immediately. */
async function echoServer(): Promise<{ port: number; close: () => Promise<void> }> {
  const socks = new Set<Socket>();
  const server = createServer({ noDelay: true, allowHalfOpen: true }, (s) => {
    socks.add(s);
    s.on('close', () => socks.delete(s));
    s.on('error', () => {});
    s.pipe(s);
  });
  const port = await listen(server);
  return {
    port,
    close: () =>
      new Promise<void>((r) => {
        for (const s of socks) s.destroy();
        server.close(() => r());
      }),
  };
}

test('ping-pong RTT over the proxy is about twice the one-way delay', async (t) => {
  const echo = await echoServer();
  const delay = 25;
  const proxy = await startDelayProxy({ targetPort: echo.port, delayMs: delay });
  t.after(async () => {
    await proxy.close();
    await echo.close();
  });
  const s = await dial(proxy.port);
  const rtts: number[] = [];
  for (let i = 0; i < 15; i++) {
    const t0 = performance.now();
    const got = new Promise<void>((resolve) => s.once('data', () => resolve()));
    s.write(`ping ${i}`);
    await within(got, 2000, `ping ${i} answer`);
    rtts.push(performance.now() - t0);
  }
  s.destroy();
  rtts.sort((a, b) => a - b);
  const median = rtts[Math.floor(rtts.length / 2)]!;
  t.diagnostic(`RTT median ${median.toFixed(1)} ms (min ${rtts[0]!.toFixed(1)}, max ${rtts.at(-1)!.toFixed(1)}) for ${delay} ms each way`);
  assert.ok(rtts[0]! >= 2 * delay - 1, `no ping may be faster than 2×delay: min ${rtts[0]} ms`);
  // Upper bound loose: on a loaded machine timers fire late; the lower bound is what proves the delay.
  assert.ok(median <= 4 * delay + 100, `median RTT ${median} ms should be close to ${2 * delay} ms`);

  // The delay can change on the fly (for chunks received afterwards). The best of 5 pings, so a
  // loaded machine's late timers do not decide: with the old delay no ping can be that fast.
  proxy.setDelay(5);
  const s2 = await dial(proxy.port);
  let rtt = Infinity;
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    const got = new Promise<void>((resolve) => s2.once('data', () => resolve()));
    s2.write('x');
    await within(got, 2000, `ping ${i} after setDelay`);
    rtt = Math.min(rtt, performance.now() - t0);
  }
  s2.destroy();
  assert.ok(rtt < 2 * delay, `after setDelay(5) the best RTT (${rtt.toFixed(1)} ms) should drop below ${2 * delay} ms`);
});

test('large transfers keep their bytes and order, with a bounded queue', async (t) => {
  const echo = await echoServer();
  const maxQueue = 128 * 1024;
  const proxy = await startDelayProxy({ targetPort: echo.port, delayMs: 5, maxQueueBytes: maxQueue });
  t.after(async () => {
    await proxy.close();
    await echo.close();
  });
  const s = await dial(proxy.port);
  const total = 8 * 1024 * 1024;
  const sent = createHash('sha256');
  const recv = createHash('sha256');
  let received = 0;
  const done = new Promise<void>((resolve, reject) => {
    s.on('data', (b: Buffer) => {
      recv.update(b);
      received += b.length;
    });
    s.on('end', () => resolve());
    s.on('error', reject);
  });
  // Writes with back-pressure, then a half-close: the echo ends after echoing everything.
  for (let off = 0; off < total; off += 64 * 1024) {
    const b = randomBytes(64 * 1024);
    sent.update(b);
    if (!s.write(b)) await within(new Promise((r) => s.once('drain', r)), 10_000, 'drain from the proxy');
  }
  s.end();
  await within(done, 20_000, 'end of the echoed stream');
  assert.equal(received, total);
  assert.equal(recv.digest('hex'), sent.digest('hex'), 'echoed bytes differ (lost, duplicated or reordered)');
  // One chunk may arrive after the limit is reached (the pause takes effect on the next read).
  assert.ok(proxy.peakQueuedBytes() <= maxQueue + 128 * 1024, `queue grew to ${proxy.peakQueuedBytes()} bytes (limit ${maxQueue})`);
  s.destroy();
});

test('a reply sent after the client half-closes still arrives, late', async (t) => {
  const socks = new Set<Socket>();
  const server = createServer({ allowHalfOpen: true }, (c) => {
    socks.add(c);
    let n = 0;
    c.on('data', (b: Buffer) => (n += b.length));
    c.on('end', () => c.end(`got ${n}`));
  });
  const port = await listen(server);
  const proxy = await startDelayProxy({ targetPort: port, delayMs: 20 });
  t.after(async () => {
    await proxy.close();
    for (const c of socks) c.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  });
  const s = await dial(proxy.port);
  let reply = '';
  const t0 = performance.now();
  const done = new Promise<void>((resolve) => {
    s.on('data', (b: Buffer) => (reply += b.toString()));
    s.on('end', () => resolve());
  });
  s.end('hello');
  await within(done, 3000, 'reply after half-close');
  assert.equal(reply, 'got 5');
  assert.ok(performance.now() - t0 >= 39, 'the reply took at least one RTT');
  s.destroy();
});

test('close() ends every connection and stops listening; a dead target closes the client', async () => {
  const echo = await echoServer();
  const proxy = await startDelayProxy({ targetPort: echo.port, delayMs: 10 });
  const s = await dial(proxy.port);
  // The client allows half-open sockets, so "closed by the peer" shows as end (or a reset).
  const closed = new Promise<void>((r) => {
    s.once('end', () => r());
    s.once('close', () => r());
  });
  s.on('error', () => {});
  await within(proxy.close(), 3000, 'proxy.close()');
  await within(closed, 3000, 'client socket closed by proxy.close()');
  s.destroy();
  await assert.rejects(dial(proxy.port), /ECONNREFUSED/);
  await echo.close();

  // Target down: the client connection is closed, not left hanging.
  const proxy2 = await startDelayProxy({ targetPort: echo.port, delayMs: 10 });
  const s2 = await dial(proxy2.port);
  s2.on('error', () => {});
  await within(
    new Promise<void>((r) => {
      s2.once('end', () => r());
      s2.once('close', () => r());
    }),
    3000,
    'client closed when the target refuses',
  );
  s2.destroy();
  await proxy2.close();
});
