// Geo test: 3 zones whose RPC addresses sit behind 25 ms-each-way delaying proxies (50 ms RTT);
// measures small PUT/GET latency from a client on one node, reported in RTT units, with loose
// sanity bounds only (the goals PUT ≤ 2 RTT + 20 ms, GET ≤ 1 RTT + 20 ms live in bench/geo.ts).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, HeadBucketCommand } from '@aws-sdk/client-s3';
import { startCluster, waitFor, type Cluster } from './lib/cluster.ts';
import { s3Client } from './lib/node.ts';

const ONE_WAY_MS = 25;
const RTT = 2 * ONE_WAY_MS;
let cluster: Cluster | undefined;

after(async () => {
  await cluster?.stop();
});

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

test('small PUT and GET latency across 3 zones at 50 ms RTT', { timeout: 180_000 }, async (t) => {
  cluster = await startCluster({ zones: ['paris', 'lyon', 'nantes'], rf: 3, mode: 'consistent', proxyDelayMs: ONE_WAY_MS });
  const [a, ...others] = cluster.nodes;
  const st = await cluster.status(a!);
  const rtts = st.nodes.filter((n) => n.id !== a!.id).map((n) => (n as { rttMs?: number | null }).rttMs);
  t.diagnostic(`node 0 measures peer RTTs ${rtts.map((r) => (r == null ? '?' : `${Number(r).toFixed(1)} ms`)).join(', ')} (proxy RTT ${RTT} ms)`);
  for (const r of rtts) if (typeof r === 'number') assert.ok(r >= RTT - 2, `peer RTT ${r} ms is below the proxy's ${RTT} ms: the proxy is bypassed`);

  const client = s3Client(a!);
  t.after(() => client.destroy());
  await client.send(new CreateBucketCommand({ Bucket: 'geo' }));
  for (const n of others) {
    const c = s3Client(n);
    await waitFor(`bucket geo on node ${n.index}`, async () => (await c.send(new HeadBucketCommand({ Bucket: 'geo' })), true), 10_000, 100);
    c.destroy();
  }
  const body = randomBytes(4096);
  const ops = 30;
  // Warm-up: connections, caches.
  for (let i = 0; i < 3; i++) {
    await client.send(new PutObjectCommand({ Bucket: 'geo', Key: `warm-${i}`, Body: body }));
    await (await client.send(new GetObjectCommand({ Bucket: 'geo', Key: `warm-${i}` }))).Body!.transformToByteArray();
  }
  const putMs: number[] = [];
  const getMs: number[] = [];
  for (let i = 0; i < ops; i++) {
    const t0 = performance.now();
    await client.send(new PutObjectCommand({ Bucket: 'geo', Key: `k-${i}`, Body: body }), { abortSignal: AbortSignal.timeout(10_000) });
    putMs.push(performance.now() - t0);
  }
  for (let i = 0; i < ops; i++) {
    const t0 = performance.now();
    const r = await client.send(new GetObjectCommand({ Bucket: 'geo', Key: `k-${i}` }), { abortSignal: AbortSignal.timeout(10_000) });
    const got = Buffer.from(await r.Body!.transformToByteArray());
    getMs.push(performance.now() - t0);
    assert.ok(got.equals(body), `GET k-${i} returned different bytes`);
  }
  const put = median(putMs);
  const get = median(getMs);
  t.diagnostic(`4 KiB PUT median ${put.toFixed(1)} ms = ${(put / RTT).toFixed(2)} RTT (goal ≤ 2 RTT + 20 ms = ${2 * RTT + 20} ms)`);
  t.diagnostic(`4 KiB GET median ${get.toFixed(1)} ms = ${(get / RTT).toFixed(2)} RTT (goal ≤ 1 RTT + 20 ms = ${RTT + 20} ms)`);
  // Sanity bounds only (the RTT goals live in `npm run bench -- geo`): a loaded CI machine adds
  // scheduling delay, so only a gross regression (a timeout, a retry loop) may fail here.
  assert.ok(get < 20 * RTT, `GET median ${get.toFixed(1)} ms is not below 20 RTT (${20 * RTT} ms)`);
  assert.ok(put < 20 * RTT, `PUT median ${put.toFixed(1)} ms is not below 20 RTT (${20 * RTT} ms)`);
  // And the proxies are really in the path: a quorum write cannot beat one RTT.
  assert.ok(put >= RTT - 2, `PUT median ${put.toFixed(1)} ms is below one RTT: the delay is not applied`);
});
