// Real processes: a storage node dies, writes queue entries for it, then it is removed from the
// layout (layout remove + apply, ClusterLayoutSkipDeadNodes). The entries queued for it must
// leave the queues within seconds: GetClusterHealth (what `grenier status` prints) shows no debt.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { startCluster, waitFor, type ClusterNode } from './lib/cluster.ts';
import { s3Client } from './lib/node.ts';

/** Entries the nodes that answered say they queue for `id`, and for anyone. */
async function debt(n: ClusterNode, id: string): Promise<{ forIt: number; all: number; unknown: string[] }> {
  const h = await n.admin('GetClusterHealth');
  let forIt = 0;
  let all = 0;
  for (const d of Object.values(h.replicationDebtByNode ?? {}) as { entriesQueuedByNode: Record<string, number> }[])
    for (const [to, c] of Object.entries(d.entriesQueuedByNode)) {
      all += c;
      if (to === id) forIt += c;
    }
  return { forIt, all, unknown: h.replicationDebtUnknown ?? [] };
}

test('entries queued for a dead node drain once it is removed from the layout', { timeout: 240_000 }, async (t) => {
  const cluster = await startCluster({ zones: ['z1', 'z2', 'z3'], rf: 2, mode: 'dangerous', readyTimeoutMs: 120_000 });
  t.after(() => cluster.stop());
  const [a, b, dead] = cluster.nodes as [ClusterNode, ClusterNode, ClusterNode];
  const s3 = s3Client(a);
  t.after(() => s3.destroy());
  // A bucket's objects share one partition (its key is the bucket id): with RF 2 of 3 nodes, the
  // dead node misses a given bucket's partition 1 time in 3 (this test failed so in CI). Twelve
  // buckets all miss it with probability (1/3)^12, about 2e-6.
  const buckets = Array.from({ length: 12 }, (_, i) => `debt-${i}`);
  for (const Bucket of buckets) await s3.send(new CreateBucketCommand({ Bucket }));
  await dead.kill('SIGKILL');
  for (const Bucket of buckets) for (let i = 0; i < 2; i++) await s3.send(new PutObjectCommand({ Bucket, Key: `k${i}`, Body: `v${i}` }));
  const before = await waitFor(
    'entries queued for the dead node',
    async () => {
      const d = await debt(a, dead.id);
      if (d.forIt === 0) throw new Error(JSON.stringify(d));
      return d;
    },
    30_000,
  );
  t.diagnostic(`queued for the dead node: ${before.forIt}`);

  const version = await cluster.assignAndApply([{ id: dead.id, zone: null }], a);
  const skip = await a.admin('ClusterLayoutSkipDeadNodes', { version, allowMissingData: false });
  t.diagnostic(`skip dead nodes: ${JSON.stringify(skip)}`);
  const t0 = Date.now();
  await waitFor(
    'no entries queued for the removed node, and no debt, on every remaining node',
    async () => {
      const ds = await Promise.all([a, b].map((n) => debt(n, dead.id)));
      if (!ds.every((d) => d.forIt === 0 && d.all === 0 && !d.unknown.includes(dead.id))) throw new Error(JSON.stringify(ds));
      return true;
    },
    30_000,
    500,
  ).catch((e: Error) => assert.fail(e.message));
  t.diagnostic(`debt reached 0 ${Date.now() - t0} ms after the layout change`);
});
