// A real node against strangers and buggy peers on its RPC port: 2000 silent TCP connections must
// not keep file descriptors or flood the log, and random frames, msgpack values and wrong payload
// shapes to every endpoint from an authenticated peer must never end the process or break S3,
// the layout, status or a restart.
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { readdirSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { s3Client, startNode, type TestNode } from './lib/node.ts';
import { RawPeer, newKey, waitFor } from '../src/net/testkit.ts';
import { T_PING, T_PONG, T_REQ, T_RES, encodeFrame, packr } from '../src/net/protocol.ts';

const started: TestNode[] = [];
after(async () => {
  await Promise.all(started.map((n) => n.stop()));
});

const fds = (pid: number): number => readdirSync(`/proc/${pid}/fd`).length;

async function s3Works(n: TestNode, tag: string): Promise<void> {
  const s3 = s3Client(n);
  const bucket = `b-${tag}`;
  await s3.send(new CreateBucketCommand({ Bucket: bucket })).catch((e: Error) => {
    if (!/BucketAlready/.test(e.name)) throw e;
  });
  const body = randomBytes(100_000);
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'k', Body: body }));
  const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'k' }));
  assert.ok(Buffer.from(await got.Body!.transformToByteArray()).equals(body), `${tag}: object read back`);
}

/** An authenticated peer (its own fresh node key, the cluster secret). */
async function peer(n: TestNode, secret: string): Promise<RawPeer> {
  const k = newKey();
  const raw = await RawPeer.connect(n.rpcPort, secret);
  raw.sendHello({ id: k.id, sig: raw.sign('client', k.key) });
  await waitFor('hello answered', () => raw.hello() !== undefined, 5000);
  return raw;
}

async function pings(raw: RawPeer, nonce: number): Promise<void> {
  raw.send(encodeFrame({ t: T_PING, nonce }));
  await waitFor(`pong ${nonce}`, () => raw.frames.some((f) => f.t === T_PONG && f.nonce === nonce), 5000);
}

/** Opens `count` TCP connections that never send a byte, `batch` at a time; returns the peak fd count. */
async function silentFlood(n: TestNode, count: number, batch: number): Promise<number> {
  let peak = 0;
  const held: net.Socket[] = [];
  for (let done = 0; done < count; done += batch) {
    await Promise.all(
      Array.from(
        { length: Math.min(batch, count - done) },
        () =>
          new Promise<void>((resolve) => {
            const s = net.connect(n.rpcPort, '127.0.0.1', () => resolve());
            s.on('error', () => resolve());
            s.once('close', () => resolve());
            held.push(s);
          }),
      ),
    );
    await new Promise((r) => setTimeout(r, 50));
    peak = Math.max(peak, fds(n.pid));
  }
  // The test's own ends stay open: only the server may close them.
  setTimeout(() => held.forEach((s) => s.destroy()), 5000).unref();
  return peak;
}

const logLines = (n: TestNode, re: RegExp): number => n.output().split('\n').filter((l) => re.test(l)).length;

describe('RPC port: silent strangers', () => {
  it('2000 silent TCP connections: closed at the handshake timeout, fds back near baseline, a few log lines', async () => {
    const secret = randomBytes(32).toString('hex');
    const n = await startNode({
      rpcSecret: secret,
      // Caps high enough that the deadline, not the caps, is what is tested here.
      extraConfig: ['limits.rpc_handshake_timeout_secs = 1', 'limits.rpc_pending_handshakes_max = 4096', 'limits.rpc_connections_per_ip_max = 4096'].join('\n'),
    });
    started.push(n);
    await s3Works(n, 'before');
    const base = fds(n.pid);
    const peak = await silentFlood(n, 2000, 250);
    await waitFor('fds back near baseline', () => fds(n.pid) <= base + 10, 5000).catch(() => {
      assert.fail(`fds: baseline ${base}, peak ${peak}, now ${fds(n.pid)}`);
    });
    const lines = logLines(n, /RPC|handshake|closing connection/);
    console.log(`2000 silent connections: fds baseline ${base}, peak ${peak}, after the timeout ${fds(n.pid)}; ${lines} log lines`);
    assert.ok(lines <= 5, `${lines} log lines for 2000 silent connections`);
    await s3Works(n, 'after');
    await pings(await peer(n, secret), 1);
  });

  it('with the default caps, a flood never holds more than the per-address cap', async () => {
    const secret = randomBytes(32).toString('hex');
    const n = await startNode({ rpcSecret: secret, extraConfig: 'limits.rpc_handshake_timeout_secs = 2' });
    started.push(n);
    const base = fds(n.pid);
    const peak = await silentFlood(n, 1000, 250);
    console.log(`1000 silent connections, default caps: fds baseline ${base}, peak ${peak}`);
    assert.ok(peak <= base + 16 + 8, `fds: baseline ${base}, peak ${peak} (per-address cap 16)`);
    await waitFor('fds back near baseline', () => fds(n.pid) <= base + 10, 6000);
    await s3Works(n, 'capped');
    await pings(await peer(n, secret), 2);
  });
});

const TABLES = ['acme_token', 'alias', 'block_ref', 'bucket', 'certificate', 'key', 'mpu', 'object', 'quota_request', 'route', 'site', 'version'];
const ENDPOINTS = [
  'layout/get',
  'layout/push',
  'node/info',
  'node/debt',
  'block/put',
  'block/get',
  'block/has',
  'block/referenced',
  'counters/get',
  '__net/peers',
  ...TABLES.flatMap((t) => ['get', 'range', 'put', 'root', 'roots', 'buckets', 'items', 'fetch', 'gc-check', 'gc-delete'].map((op) => `table/${t}/${op}`)),
];

describe('RPC frames from an authenticated peer (fuzz)', () => {
  it('random bytes, msgpack values and wrong payload shapes to every endpoint: the node keeps serving', async () => {
    const secret = randomBytes(32).toString('hex');
    const n = await startNode({ rpcSecret: secret });
    started.push(n);
    await s3Works(n, 'pre');
    const status0 = await n.admin('GetClusterStatus');
    let raw = await peer(n, secret);
    let reqId = 1;
    let nonce = 100;
    const sendReq = (endpoint: string, payload: unknown): number => {
      const id = reqId++;
      let data: Buffer;
      try {
        data = packr.pack([endpoint, 1, payload]);
      } catch {
        return -1; // not encodable: nothing to send
      }
      if (data.length > 60_000) return -1;
      raw.send(encodeFrame({ t: T_REQ, id, final: true, data }));
      return id;
    };
    const payload = fc.oneof(
      fc.anything({ maxDepth: 3 }),
      fc.constantFrom(null, undefined, 0, -1, 256, 1e300, '', 'x'.repeat(5000), [], {}, Buffer.alloc(0), Buffer.alloc(33)),
      fc.record({ pk: fc.anything(), sk: fc.anything() }),
      fc.record({ hash: fc.uint8Array({ maxLength: 40 }), data: fc.uint8Array({ maxLength: 100 }), ref: fc.anything() }),
      fc.record({ p: fc.integer(), b: fc.integer() }),
      fc.record({ k: fc.uint8Array({ maxLength: 64 }), h: fc.uint8Array({ maxLength: 20 }) }),
      fc.array(fc.anything({ maxDepth: 2 }), { maxLength: 5 }),
      // Layouts a buggy peer might push.
      fc.record({ versions: fc.array(fc.record({ version: fc.nat(), replicationFactor: fc.nat(), roles: fc.anything(), assignment: fc.constantFrom(null, [], [[]]), partitionSize: fc.anything() }), { maxLength: 2 }), staging: fc.anything(), syncMap: fc.anything(), ackMap: fc.anything() }),
    );
    const frameKind = fc.oneof(
      { weight: 6, arbitrary: fc.record({ k: fc.constant('req' as const), endpoint: fc.constantFrom(...ENDPOINTS), payload }) },
      { weight: 1, arbitrary: fc.record({ k: fc.constant('msgpack' as const), v: fc.anything({ maxDepth: 3 }) }) },
      { weight: 1, arbitrary: fc.record({ k: fc.constant('bytes' as const), b: fc.uint8Array({ minLength: 1, maxLength: 200 }) }) },
    );
    let closes = 0;
    let answered = 0;
    await fc.assert(
      fc.asyncProperty(frameKind, async (f) => {
        if (raw.closed) {
          closes++;
          raw = await peer(n, secret);
        }
        if (f.k === 'req') {
          const id = sendReq(f.endpoint, f.payload);
          if (id >= 0) {
            // Every well-framed request gets an answer (a result or an error), never silence.
            await waitFor(`answer to ${f.endpoint}`, () => raw.closed || raw.frames.some((x) => x.t === T_RES && x.id === id), 5000);
            if (!raw.closed) answered++;
          }
        } else if (f.k === 'msgpack') {
          let body: Buffer;
          try {
            body = packr.pack(f.v);
          } catch {
            return;
          }
          const len = Buffer.alloc(4);
          len.writeUInt32BE(body.length);
          raw.send(Buffer.concat([len, body]));
        } else raw.send(Buffer.from(f.b));
        raw.frames.length = 0;
      }),
      { numRuns: 300 },
    );
    assert.ok(answered > 100, `${answered} requests answered`);
    // The last case may have been garbage the node is closing this session for: start a fresh one.
    raw.destroy();
    raw = await peer(n, secret);
    await pings(raw, nonce++);
    // Targeted: the layout push that used to brick a cluster.
    const bad = { versions: [{ version: 1, replicationFactor: 1, roles: {}, assignment: null, partitionSize: 0 }], staging: {}, syncMap: {}, ackMap: {} };
    const id = sendReq('layout/push', bad);
    await waitFor('layout/push answered', () => raw.frames.some((x) => x.t === T_RES && x.id === id), 5000);
    const res = raw.frames.find((x) => x.t === T_RES && x.id === id)!;
    assert.equal((packr.unpack((res as { data: Buffer }).data) as unknown[])[0], 0, 'the malformed layout is refused');
    raw.destroy();
    // The process is alive and everything still answers.
    assert.equal(n.output().includes('Uncaught'), false, n.output().slice(-2000));
    await s3Works(n, 'post');
    const status = await n.admin('GetClusterStatus');
    assert.equal(status.layoutVersion, status0.layoutVersion);
    await n.admin('GetClusterLayout');
    await n.restart();
    await s3Works(n, 'restarted');
    await n.admin('GetClusterLayout');
    console.log(`fuzz: ${answered} requests answered, ${closes} connections closed by the node for protocol errors`);
  });
});
