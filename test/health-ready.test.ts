// /health tells alive from ready on real nodes: a lone node is ready at once; a node without a
// write quorum (peers killed) is alive but not ready; a restarted node says ready only once it
// can serve, so every PUT after its first 200 succeeds.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { startNode, s3Client, type TestNode } from './lib/node.ts';
import { startCluster, waitFor, sleep, type Cluster, type ClusterNode } from './lib/cluster.ts';

let single: TestNode | undefined;
let cluster: Cluster | undefined;
after(async () => {
  await single?.stop();
  await cluster?.stop();
});

async function probe(n: TestNode, path: string, accept?: string): Promise<{ status: number; body: string } | undefined> {
  try {
    const r = await fetch(`${n.adminUrl}${path}`, { headers: accept ? { accept } : {}, signal: AbortSignal.timeout(2000) });
    return { status: r.status, body: await r.text() };
  } catch {
    return undefined; // not listening (yet)
  }
}

test('a single node is ready as soon as it answers', { timeout: 30_000 }, async () => {
  single = await startNode();
  for (const p of ['/health', '/health/ready', '/health/live', '/livez']) {
    const r = await probe(single, p);
    assert.equal(r?.status, 200, `${p}: ${JSON.stringify(r)}`);
  }
  const j = await probe(single, '/health', 'application/json');
  assert.equal(j?.status, 200);
  assert.equal(JSON.parse(j!.body).status, 'ready');
  const head = await fetch(`${single.adminUrl}/health`, { method: 'HEAD' });
  assert.equal(head.status, 200);
});

test('no write quorum: alive, not ready; after restarts ready only once PUTs succeed', { timeout: 90_000 }, async (t) => {
  cluster = await startCluster({ rf: 3, mode: 'consistent', proxyDelayMs: 100 });
  const [a, b, c] = cluster.nodes as [ClusterNode, ClusterNode, ClusterNode];
  await a.s3.send(new CreateBucketCommand({ Bucket: 'ready' }));
  assert.equal((await probe(a, '/health'))?.status, 200, 'a full cluster is ready');
  assert.equal((await a.admin('GetClusterHealth')).node?.status, 'ready');

  await Promise.all([b.kill('SIGKILL'), c.kill('SIGKILL')]);
  const down = await waitFor('the survivor to say not ready', async () => {
    const r = await probe(a, '/health', 'application/json');
    return r?.status === 503 ? r : false;
  }, 10_000, 100);
  const why = JSON.parse(down.body);
  assert.equal(why.status, 'no-quorum', down.body);
  const text = await probe(a, '/health');
  assert.equal(text?.status, 503);
  assert.match(text!.body, /quorum/);
  assert.equal((await probe(a, '/health/live'))?.status, 200, 'the survivor is alive');
  const ch = await a.admin('GetClusterHealth');
  assert.equal(ch.status, 'unavailable');
  assert.equal(ch.node?.status, 'no-quorum', 'GetClusterHealth (grenier status) says the node is not ready');

  // Restart both (peers 100 ms away, as between home sites); watch b from the moment it listens: once /health says 200, every PUT succeeds.
  const restarts = Promise.all([b.restart(), c.restart()]);
  let restartsDone = false;
  void restarts.then(() => (restartsDone = true), () => (restartsDone = true));
  const client = s3Client({ ...b, keyId: cluster.keyId, secret: cluster.keySecret });
  const t0 = Date.now();
  let readyAt: number | undefined;
  let notReady = 0;
  let listenedAt: number | undefined;
  const reasons = new Set<string>();
  let putsAfterReady = 0;
  const failures: string[] = [];
  try {
    while (Date.now() - t0 < 40_000) {
      const h = await probe(b, '/health');
      if (h) listenedAt ??= Date.now();
      if (h?.status === 200) readyAt ??= Date.now();
      else if (h && readyAt === undefined) {
        notReady++;
        reasons.add(h.body.trim().replace(/[0-9a-f]{16}/g, '<id>'));
      }
      if (readyAt !== undefined) {
        try {
          await client.send(new PutObjectCommand({ Bucket: 'ready', Key: `k${putsAfterReady}`, Body: 'x' }), { abortSignal: AbortSignal.timeout(10_000) });
        } catch (e) {
          const err = e as Error & { $metadata?: { httpStatusCode?: number } };
          failures.push(`+${Date.now() - readyAt} ms after ready: ${err.$metadata?.httpStatusCode ?? ''} ${err.name}: ${err.message}`);
        }
        putsAfterReady++;
        if (restartsDone && Date.now() - readyAt > 3000) break;
      } else await sleep(20);
    }
  } finally {
    client.destroy();
  }
  await restarts;
  t.diagnostic(`b listened ${listenedAt === undefined ? 'never' : `${listenedAt - t0} ms`} after the restarts began, answered 503 on /health ${notReady} times (${[...reasons].join(' | ')}), then ready at ${readyAt === undefined ? 'never' : `${readyAt - t0} ms`}; ${putsAfterReady} PUTs after ready, ${failures.length} failed`);
  assert.ok(readyAt !== undefined, 'b became ready');
  assert.equal(failures.length, 0, `${failures.length} PUTs failed once /health said ready:\n${failures.slice(0, 5).join('\n')}`);
  assert.ok(putsAfterReady >= 3, `only ${putsAfterReady} PUTs after ready`);
});
