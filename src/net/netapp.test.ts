// End-to-end tests of the peer transport over real TLS sockets on 127.0.0.1.
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { GrenierError } from '../util/errors.ts';
import { NetApp, NetError } from './index.ts';
import { packr, T_REQ, T_RES, encodeFrame } from './protocol.ts';
import { MAX_RUNNING_HANDLERS } from './conn.ts';
import { RawPeer, addrOf, connectedTo, idAt, newKey, newSecret, startNode, waitFor } from './testkit.ts';

const nodes: NetApp[] = [];
async function node(secret: string, o: Parameters<typeof startNode>[1] = {}): Promise<NetApp> {
  const n = await startNode(secret, o);
  nodes.push(n);
  return n;
}
after(async () => {
  await Promise.all(nodes.map((n) => n.stop()));
});

function echo(n: NetApp): void {
  n.register('echo', async (from, endpoint, msg) => ({ from, endpoint, msg }));
}

async function rejectsWith(p: Promise<unknown>, code: string): Promise<NetError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof NetError, `expected a NetError, got ${e}`);
    assert.equal(e.code, code, e.message);
    return e;
  }
  assert.fail(`expected rejection with ${code}`);
}

describe('net: connecting and calling', () => {
  it('two nodes connect from a bootstrap entry and call each other', async () => {
    const secret = newSecret();
    const a = await node(secret);
    const ups: string[] = [];
    a.on('peer-up', (id) => ups.push(id));
    echo(a);
    const b = await node(secret, { bootstrapPeers: [idAt(a)] });
    echo(b);
    await waitFor('a and b connected', () => connectedTo(a, b.id) && connectedTo(b, a.id));
    assert.deepEqual(ups, [b.id]);
    assert.deepEqual(await a.call(b.id, 'echo', { x: 1, buf: Buffer.from('hi') }), { from: a.id, endpoint: 'echo', msg: { x: 1, buf: Buffer.from('hi') } });
    assert.deepEqual(await b.call(a.id, 'echo', [1, 'two', null]), { from: b.id, endpoint: 'echo', msg: [1, 'two', null] });
    // b dialed a, so a learned b's address from b's hello.
    assert.equal(a.peers().find((p) => p.id === b.id)?.addr, addrOf(b));
  });

  it('connect() to a bare host:port learns the id; calls to self and to strangers', async () => {
    const secret = newSecret();
    const a = await node(secret);
    const b = await node(secret);
    echo(a);
    echo(b);
    assert.equal(await a.connect(addrOf(b)), b.id);
    assert.equal(await a.connect(idAt(b)), b.id); // already connected: immediate
    assert.deepEqual(await a.call(b.id, 'echo', 7), { from: a.id, endpoint: 'echo', msg: 7 });
    assert.deepEqual(await a.call(a.id, 'echo', 8), { from: a.id, endpoint: 'echo', msg: 8 });
    await rejectsWith(a.call(newKey().id, 'echo', 1), 'NoConnection');
    await rejectsWith(a.call(b.id, 'nope', 1), 'NoHandler');
  });

  it('three nodes: everyone calls everyone', async () => {
    const secret = newSecret();
    const a = await node(secret);
    const b = await node(secret, { bootstrapPeers: [idAt(a)] });
    const c = await node(secret, { bootstrapPeers: [idAt(a), idAt(b)] });
    for (const n of [a, b, c]) echo(n);
    const all = [a, b, c];
    await waitFor('full mesh', () => all.every((x) => all.every((y) => x === y || connectedTo(x, y.id))));
    const calls = [];
    for (const x of all) for (const y of all) if (x !== y) calls.push(x.call(y.id, 'echo', `${x.id}->${y.id}`).then((r) => [x, y, r] as const));
    for (const [x, y, r] of await Promise.all(calls)) assert.deepEqual(r, { from: x.id, endpoint: 'echo', msg: `${x.id}->${y.id}` });
  });

  it('a 5 MiB echo does not hold back small calls on the same connection', async () => {
    const secret = newSecret();
    const a = await node(secret);
    const b = await node(secret);
    echo(b);
    b.register('small', async (_f, _e, m) => m);
    await a.connect(idAt(b));
    const big = randomBytes(5 * 1024 * 1024);
    const order: string[] = [];
    const bigCall = a.call(b.id, 'echo', big).then((r) => {
      order.push('big');
      return r as { msg: Buffer };
    });
    // Let the first chunks of the big request get on the wire.
    await new Promise((r) => setImmediate(r));
    const t0 = performance.now();
    const small = await a.call(b.id, 'small', 'ping');
    const smallMs = performance.now() - t0;
    order.push('small');
    assert.equal(small, 'ping');
    const r = await bigCall;
    assert.ok(Buffer.isBuffer(r.msg));
    assert.ok(r.msg.equals(big), 'big echo intact');
    assert.deepEqual(order, ['small', 'big'], `small call took ${smallMs.toFixed(1)} ms`);
    // Several big transfers at once, in both directions, and background priority.
    a.register('echo', async (_f, _e, m) => ({ msg: m }));
    const bigs = await Promise.all([
      a.call(b.id, 'echo', big, { priority: 'background' }),
      b.call(a.id, 'echo', big),
      a.call(b.id, 'echo', randomBytes(1024 * 1024), { priority: 'high' }),
    ]);
    assert.ok((bigs[0] as { msg: Buffer }).msg.equals(big));
    assert.ok((bigs[1] as { msg: Buffer }).msg.equals(big));
  });

  it('remote handler errors reject the call with message and code', async () => {
    const secret = newSecret();
    const a = await node(secret);
    const b = await node(secret);
    b.register('fail', async () => {
      throw new GrenierError('NoSuchBlock', 'block 1234 is not here');
    });
    b.register('failplain', async () => {
      throw new Error('plain failure');
    });
    await a.connect(idAt(b));
    const e = await rejectsWith(a.call(b.id, 'fail', {}), 'NoSuchBlock');
    assert.equal(e.message, 'block 1234 is not here');
    assert.equal(e.remote, true);
    const e2 = await rejectsWith(a.call(b.id, 'failplain', {}), 'RemoteError');
    assert.equal(e2.message, 'plain failure');
    // The connection survives handler failures.
    b.register('ok', async () => 'fine');
    assert.equal(await a.call(b.id, 'ok', null), 'fine');
  });

  it('calls time out, late answers are dropped, the connection stays usable', async () => {
    const secret = newSecret();
    const a = await node(secret);
    const b = await node(secret);
    let finished = 0;
    b.register('slow', async (_f, _e, ms) => {
      await new Promise((r) => setTimeout(r, ms as number));
      finished++;
      return 'late';
    });
    b.register('fast', async () => 'fast');
    await a.connect(idAt(b));
    const t0 = Date.now();
    await rejectsWith(a.call(b.id, 'slow', 400, { timeoutMs: 100 }), 'Timeout');
    const took = Date.now() - t0;
    assert.ok(took >= 90 && took < 350, `timeout after ${took} ms`);
    await waitFor('slow handler finished', () => finished === 1);
    assert.equal(await a.call(b.id, 'fast', null), 'fast');
    // A big request that times out mid-transfer is cancelled without breaking the connection.
    await rejectsWith(a.call(b.id, 'slow', { pad: randomBytes(8 << 20) }, { timeoutMs: 1 }), 'Timeout');
    assert.equal(await a.call(b.id, 'fast', null), 'fast');
    assert.ok(connectedTo(a, b.id));
  });

  it('an answer arriving after the deadline is dropped without harming the connection', async () => {
    const secret = newSecret();
    const a = await node(secret);
    const k = newKey();
    const raw = await RawPeer.connect(a.address().port, secret);
    raw.sendHello({ id: k.id, sig: raw.sign('client', k.key) });
    await waitFor('raw peer accepted', () => connectedTo(a, k.id));
    const reqs = (): { id: number; endpoint: string }[] =>
      raw.frames.flatMap((f) => {
        if (f.t !== T_REQ) return [];
        const [endpoint] = packr.unpack(f.data) as [string];
        return endpoint === 'q' ? [{ id: f.id, endpoint }] : [];
      });
    await rejectsWith(a.call(k.id, 'q', 1, { timeoutMs: 50 }), 'Timeout');
    assert.equal(reqs().length, 1);
    const answer = (id: number, v: unknown): void => raw.send({ t: T_RES, id, final: true, data: packr.pack([1, v]) });
    answer(reqs()[0]!.id, 'late'); // after the deadline
    const second = a.call(k.id, 'q', 2, { timeoutMs: 2000 });
    await waitFor('second request', () => reqs().length === 2);
    answer(reqs()[1]!.id, 'on time');
    assert.equal(await second, 'on time');
    assert.ok(!raw.closed && connectedTo(a, k.id));
    raw.destroy();
  });
});

describe('net: authentication', () => {
  it('a node with the wrong rpc_secret cannot complete the handshake', async () => {
    const a = await node(newSecret());
    const intruder = await node(newSecret());
    await rejectsWith(intruder.connect(addrOf(a)), 'ConnectFailed');
    await rejectsWith(intruder.connect(idAt(a)), 'ConnectFailed');
    assert.equal(a.peers().length, 0);
    await assert.rejects(RawPeer.connect(a.address().port, newSecret()));
  });

  it('a client claiming another node id without its key is refused', async () => {
    const secret = newSecret();
    const a = await node(secret, { pingIntervalMs: 10_000 });
    const ups: string[] = [];
    a.on('peer-up', (id) => ups.push(id));
    const victim = newKey();
    const forger = newKey();
    const raw = await RawPeer.connect(a.address().port, secret);
    raw.sendHello({ id: victim.id, sig: raw.sign('client', forger.key) });
    await raw.waitClosed();
    assert.deepEqual(ups, []);
    assert.ok(!a.peers().some((p) => p.id === victim.id));
    // With its own id and key the same client is accepted.
    const honest = await RawPeer.connect(a.address().port, secret);
    honest.sendHello({ id: forger.id, sig: honest.sign('client', forger.key) });
    await waitFor('honest raw peer accepted', () => connectedTo(a, forger.id));
    assert.deepEqual(ups, [forger.id]);
    honest.destroy();
  });

  it('a hello signature replayed from another session is refused', async () => {
    const secret = newSecret();
    const a = await node(secret, { pingIntervalMs: 10_000 });
    const ups: string[] = [];
    a.on('peer-up', (id) => ups.push(id));
    const b = await node(secret);
    // The attacker is a cluster member that b dials; it records b's signed hello...
    let captured: RawPeer | undefined;
    const trap = await RawPeer.listen(secret, (p) => (captured = p));
    try {
      const dial = b.connect(`127.0.0.1:${trap.port}`);
      await waitFor('b hello captured', () => captured?.hello() !== undefined);
      captured!.destroy();
      await assert.rejects(dial);
      const stolen = captured?.hello();
      assert.ok(stolen && stolen.id === b.id, 'captured b hello');
      // ...and replays it, in the same role, to a.
      const raw = await RawPeer.connect(a.address().port, secret);
      raw.sendHello({ id: b.id, sig: stolen.sig });
      await raw.waitClosed();
      assert.deepEqual(ups, []);
      assert.ok(!connectedTo(a, b.id));
    } finally {
      captured?.destroy();
      trap.server.close();
    }
  });

  it('connect() with an expected id rejects a peer proving another id', async () => {
    const secret = newSecret();
    const a = await node(secret);
    const b = await node(secret);
    await rejectsWith(a.connect(`${newKey().id}@${addrOf(b)}`), 'WrongPeer');
    assert.ok(!connectedTo(a, b.id));
  });
});

describe('net: robustness', () => {
  async function authedRaw(a: NetApp, secret: string): Promise<RawPeer> {
    const k = newKey();
    const raw = await RawPeer.connect(a.address().port, secret);
    raw.sendHello({ id: k.id, sig: raw.sign('client', k.key) });
    await waitFor('raw peer accepted', () => connectedTo(a, k.id));
    return raw;
  }

  it('a malformed frame closes only that connection', async () => {
    const secret = newSecret();
    const a = await node(secret);
    echo(a);
    const b = await node(secret, { bootstrapPeers: [idAt(a)] });
    await waitFor('b connected', () => connectedTo(b, a.id));
    // Control: a well-formed raw peer is not closed for nothing.
    const control = await authedRaw(a, secret);
    await new Promise((r) => setTimeout(r, 1200));
    assert.ok(!control.closed, 'an idle but well-behaved raw peer stays connected');
    control.destroy();
    const len = (n: number): Buffer => {
      const x = Buffer.alloc(4);
      x.writeUInt32BE(n);
      return x;
    };
    const frame = (v: unknown): Buffer => {
      const body = packr.pack(v);
      return Buffer.concat([len(body.length), body]);
    };
    const chunk = Buffer.alloc(64 * 1024);
    const garbage: [string, Buffer][] = [
      ['oversized length', len(0xffffffff)],
      ['bad msgpack', Buffer.concat([len(3), Buffer.from([0xc1, 0xc1, 0xc1])])],
      ['unknown frame type', frame([99, 1])],
      ['wrong field types', frame([T_REQ, 'x', 1, 2])],
      ['not an array', frame({ t: T_REQ })],
      ['bad request envelope', encodeFrame({ t: T_REQ, id: 1, final: true, data: Buffer.from([0xc1]) })],
      ['empty frame', len(0)],
    ];
    for (const [what, bytes] of garbage) {
      const raw = await authedRaw(a, secret);
      raw.send(bytes);
      // 70 MB through TLS can take a while on a loaded machine.
      await raw.waitClosed(what === 'oversized message' ? 20_000 : 2000).catch(() => assert.fail(`${what}: connection not closed`));
      assert.deepEqual(await b.call(a.id, 'echo', what), { from: b.id, endpoint: 'echo', msg: what }, what);
    }
    // An oversized request is dropped as it arrives and answered TooLarge; the connection stays.
    {
      const raw = await authedRaw(a, secret);
      for (let i = 0; i < 1100; i++) raw.send(encodeFrame({ t: T_REQ, id: 5, final: false, data: chunk }));
      raw.send(encodeFrame({ t: T_REQ, id: 5, final: true, data: chunk }));
      await waitFor('TooLarge answer', () => raw.frames.some((f) => f.t === T_RES && f.id === 5), 20_000);
      const res = raw.frames.find((f) => f.t === T_RES && f.id === 5);
      assert.ok(res && res.t === T_RES);
      const [ok, err] = packr.unpack(res.data) as [number, { code: string }];
      assert.equal(ok, 0);
      assert.equal(err.code, 'TooLarge');
      assert.ok(!raw.closed);
      raw.send(encodeFrame({ t: T_REQ, id: 6, final: true, data: packr.pack(['echo', 1, 'after']) }));
      await waitFor('next request answered', () => raw.frames.some((f) => f.t === T_RES && f.id === 6), 5000);
      raw.destroy();
    }
    // Garbage instead of a hello.
    const raw = await RawPeer.connect(a.address().port, secret);
    raw.send(Buffer.from('GET / HTTP/1.1\r\n\r\n'));
    await raw.waitClosed();
    assert.ok(connectedTo(b, a.id));
  });

  it('a silent peer is marked down after missed pings; RTT is measured', async () => {
    const secret = newSecret();
    const a = await node(secret, { pingIntervalMs: 50 });
    const b = await node(secret, { bootstrapPeers: [idAt(a)], pingIntervalMs: 50 });
    await waitFor('rtt measured', () => a.peers().find((p) => p.id === b.id)?.rttMs !== undefined);
    const info = a.peers().find((p) => p.id === b.id)!;
    assert.ok(info.rttMs! >= 0 && info.rttMs! < 1000);
    assert.ok(info.lastSeen! <= Date.now() && info.lastSeen! > Date.now() - 5000);
    const downs: string[] = [];
    a.on('peer-down', (id) => downs.push(id));
    const k = newKey();
    const raw = await RawPeer.connect(a.address().port, secret);
    raw.sendHello({ id: k.id, sig: raw.sign('client', k.key) });
    await waitFor('silent peer up', () => connectedTo(a, k.id));
    raw.answerPings = false;
    await waitFor('silent peer down', () => downs.includes(k.id), 3000);
    assert.ok(!connectedTo(a, k.id));
    assert.ok(connectedTo(a, b.id), 'a live peer stays up');
    raw.destroy();
  });

  it('reconnects after the peer restarts on the same port', async () => {
    const secret = newSecret();
    const a = await node(secret);
    const bKey = newKey();
    let b = await node(secret, { nodeKeyPem: bKey.pem, bootstrapPeers: [idAt(a)] });
    b.register('who', async () => 'first');
    const port = b.address().port;
    await waitFor('connected', () => connectedTo(a, b.id));
    const events: string[] = [];
    a.on('peer-down', () => events.push('down'));
    a.on('peer-up', () => events.push('up'));
    await b.stop();
    await waitFor('a sees b down', () => !connectedTo(a, bKey.id));
    await rejectsWith(a.call(bKey.id, 'who', null), 'NoConnection');
    // The restarted b knows nobody: a has to redial it.
    b = await node(secret, { nodeKeyPem: bKey.pem, bindAddr: `127.0.0.1:${port}` });
    b.register('who', async () => 'second');
    await waitFor('a reconnected to b', () => connectedTo(a, bKey.id), 5000);
    assert.equal(await a.call(bKey.id, 'who', null), 'second');
    assert.deepEqual(events, ['down', 'up']);
  });

  it('simultaneous dials settle on one connection per pair', async () => {
    const secret = newSecret();
    const a = await node(secret);
    const b = await node(secret);
    echo(a);
    echo(b);
    let ups = 0;
    let downs = 0;
    for (const n of [a, b]) {
      n.on('peer-up', () => ups++);
      n.on('peer-down', () => downs++);
    }
    await Promise.all([a.connect(idAt(b)), b.connect(idAt(a))]);
    await waitFor('both connected', () => connectedTo(a, b.id) && connectedTo(b, a.id));
    for (let i = 0; i < 20; i++) {
      assert.deepEqual(await a.call(b.id, 'echo', i), { from: a.id, endpoint: 'echo', msg: i });
      assert.deepEqual(await b.call(a.id, 'echo', i), { from: b.id, endpoint: 'echo', msg: i });
    }
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(ups, 2);
    assert.equal(downs, 0);
    assert.ok(connectedTo(a, b.id) && connectedTo(b, a.id));
  });
});

describe('net: load', () => {
  it('handlers per connection are capped; the excess waits and still completes', async () => {
    const secret = newSecret();
    const a = await node(secret);
    const b = await node(secret);
    let running = 0;
    let maxRunning = 0;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    b.register('hold', async (_f, _e, i) => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      await gate;
      running--;
      return i;
    });
    await a.connect(idAt(b));
    const calls = Array.from({ length: 200 }, (_, i) => a.call(b.id, 'hold', i, { timeoutMs: 10_000 }));
    await waitFor('handler slots filled', () => running === MAX_RUNNING_HANDLERS);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(maxRunning, MAX_RUNNING_HANDLERS);
    release();
    assert.deepEqual(await Promise.all(calls), Array.from({ length: 200 }, (_, i) => i));
  });

  it('calls in flight fail fast when the peer goes away', async () => {
    const secret = newSecret();
    const a = await node(secret);
    const b = await startNode(secret);
    b.register('never', () => new Promise(() => {}));
    await a.connect(idAt(b));
    const t0 = Date.now();
    const p = a.call(b.id, 'never', null, { timeoutMs: 10_000 });
    await new Promise((r) => setTimeout(r, 50));
    await b.stop();
    await rejectsWith(p, 'ConnectionClosed');
    assert.ok(Date.now() - t0 < 2000);
    await rejectsWith(b.call(a.id, 'x', null), 'Stopped');
  });
});

describe('net: duplicate connections', () => {
  it('no call fails while simultaneous dials are being deduplicated', async () => {
    for (let round = 0; round < 5; round++) {
      const secret = newSecret();
      const a = await node(secret);
      const b = await node(secret);
      echo(a);
      echo(b);
      const failures: string[] = [];
      let ok = 0;
      const hammer = async (x: NetApp, y: NetApp): Promise<void> => {
        const end = Date.now() + 400;
        while (Date.now() < end) {
          if (!connectedTo(x, y.id)) {
            await new Promise((r) => setTimeout(r, 1));
            continue;
          }
          await x.call(y.id, 'echo', 1).then(
            () => ok++,
            (e: Error) => failures.push(e.message),
          );
        }
      };
      await Promise.all([a.connect(idAt(b)), b.connect(idAt(a)), hammer(a, b), hammer(b, a)]);
      assert.deepEqual(failures, [], `round ${round}`);
      assert.ok(ok > 10);
    }
  });
});

describe('net: discovery', () => {
  it('gossip: a knows b, c knows b, so a and c connect', async () => {
    const secret = newSecret();
    const b = await node(secret);
    const a = await node(secret, { bootstrapPeers: [idAt(b)] });
    const c = await node(secret, { bootstrapPeers: [addrOf(b)] });
    for (const n of [a, b, c]) echo(n);
    await waitFor('a and c connected', () => connectedTo(a, c.id) && connectedTo(c, a.id), 5000);
    assert.deepEqual(await a.call(c.id, 'echo', 1), { from: a.id, endpoint: 'echo', msg: 1 });
    assert.equal(c.peers().find((p) => p.id === a.id)?.addr, addrOf(a));
  });
});
