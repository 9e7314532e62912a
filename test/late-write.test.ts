// A paused node's late write never overrides an acknowledged one (issue 14 item 2): node A is
// stopped (SIGSTOP: a GC pause, a swapping Pi), a PUT of v3 sent to it times out at the client,
// v5 is written through node B and acknowledged; when A resumes, v5 stays on every node.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CreateBucketCommand, DeleteObjectCommand, GetObjectCommand, HeadBucketCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { startCluster, sleep, waitFor, type ClusterNode } from './lib/cluster.ts';
import { s3Client } from './lib/node.ts';

const KEYS = ['k1', 'k2', 'k3'];
/** How long the client waits for the paused node before giving up. */
const CLIENT_TIMEOUT_MS = 1500;

async function read(c: S3Client, key: string): Promise<string> {
  try {
    const r = await c.send(new GetObjectCommand({ Bucket: 'late', Key: key }), { abortSignal: AbortSignal.timeout(10_000) });
    return await r.Body!.transformToString();
  } catch (e) {
    return `<${(e as Error).name}>`;
  }
}

test('a PUT (or DELETE) that timed out on a paused node does not override a later acknowledged PUT', { timeout: 90_000 }, async (t) => {
  const started = Date.now();
  const cluster = await startCluster({ zones: ['paris', 'lyon', 'nantes'] });
  t.after(() => cluster.stop());
  const [a, b, c] = cluster.nodes as [ClusterNode, ClusterNode, ClusterNode];
  // maxAttempts 1: a timed-out request is not retried behind the test's back.
  const clients = cluster.nodes.map((n) => s3Client(n, { maxAttempts: 1 }));
  t.after(() => clients.forEach((x) => x.destroy()));
  const [ca, cb] = clients as [S3Client, S3Client];
  await cb.send(new CreateBucketCommand({ Bucket: 'late' }));
  for (const n of cluster.nodes) await waitFor(`bucket on node ${n.index}`, async () => (await s3Client(n).send(new HeadBucketCommand({ Bucket: 'late' })), true), 10_000, 100);
  for (const k of KEYS) await cb.send(new PutObjectCommand({ Bucket: 'late', Key: k, Body: `${k} v1` }));
  // Warm A's connection pool so the late requests reach its kernel at once.
  for (const k of KEYS) assert.equal(await read(ca, k), `${k} v1`);

  process.kill(a.pid, 'SIGSTOP');
  let resumed = false;
  t.after(() => {
    if (!resumed) process.kill(a.pid, 'SIGCONT');
  });
  // v3 to the paused node: the request reaches its socket, the client gives up.
  const late = await Promise.allSettled(
    KEYS.map((k, i) =>
      i === 2
        ? ca.send(new DeleteObjectCommand({ Bucket: 'late', Key: k }), { abortSignal: AbortSignal.timeout(CLIENT_TIMEOUT_MS) })
        : ca.send(new PutObjectCommand({ Bucket: 'late', Key: k, Body: `${k} v3 (late)` }), { abortSignal: AbortSignal.timeout(CLIENT_TIMEOUT_MS) }),
    ),
  );
  for (const r of late) assert.equal(r.status, 'rejected', 'the paused node cannot have answered');
  // v5 through B, acknowledged and read back.
  for (const k of KEYS) await cb.send(new PutObjectCommand({ Bucket: 'late', Key: k, Body: `${k} v5` }));
  for (const k of KEYS) assert.equal(await read(cb, k), `${k} v5`);

  process.kill(a.pid, 'SIGCONT');
  resumed = true;
  // A processes what its sockets held; give it time to commit (or refuse) and replicate.
  await waitFor('node A answering', async () => (await read(ca, KEYS[0]!)) !== '<TimeoutError>', 20_000, 200);
  await sleep(3000);
  const wrong: string[] = [];
  for (const k of KEYS) {
    for (let i = 0; i < clients.length; i++) {
      const got = await read(clients[i]!, k);
      if (got !== `${k} v5`) wrong.push(`node ${i} returned "${got}" for ${k} (acknowledged: "${k} v5")`);
    }
  }
  t.diagnostic(`whole test ${((Date.now() - started) / 1000).toFixed(1)} s`);
  assert.deepEqual(wrong, [], `late writes overrode acknowledged ones:\n${wrong.join('\n')}`);
  void c;
});
