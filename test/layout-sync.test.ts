// A layout change converges with no operator: 3 nodes in 3 zones holding data, a 4th node added
// in a new zone and the layout applied through the admin API; with the production anti-entropy
// interval (600 s), every node must have synced the new version and pruned the old one within
// seconds (the time is printed). Before the fix, a version stayed "draining" until the next pass.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { CreateBucketCommand, HeadBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { startCluster, checkWrites, describeFailures, pool, sha256, waitFor, type AckedWrite, type Cluster, type ClusterNode } from './lib/cluster.ts';

let cluster: Cluster | undefined;
after(async () => cluster?.stop());

// A few seconds on loopback; 30 s leaves room for a loaded machine, and 600 s (the old wait) fails.
const SYNC_MS = 30_000;

test('adding a 4th node: every node syncs the new layout version and prunes the old one within seconds', { timeout: 240_000 }, async (t) => {
  // Info logs: the test reports when each node proved the version and how many passes retried.
  cluster = await startCluster({ extraConfig: 'anti_entropy_interval_secs = 600\nresync_interval_secs = 60', envFor: () => ({ GRENIER_LOG: 'info' }) });
  const [a, b] = cluster.nodes as [ClusterNode, ClusterNode, ClusterNode];
  await a.s3.send(new CreateBucketCommand({ Bucket: 'layout' }));
  for (const n of cluster.nodes)
    await waitFor(`bucket on node ${n.index}`, async () => (await n.s3.send(new HeadBucketCommand({ Bucket: 'layout' }), { abortSignal: AbortSignal.timeout(5000) }), true), 10_000, 100);
  // Some data, inline and in blocks, so the new node has entries and blocks to fetch.
  const acked: AckedWrite[] = [];
  await pool([...Array(40).keys()], 6, async (i) => {
    const body = randomBytes(i % 4 === 0 ? 300 * 1024 : 1500);
    const key = `k-${String(i).padStart(2, '0')}`;
    await (i % 2 ? a : b).s3.send(new PutObjectCommand({ Bucket: 'layout', Key: key, Body: body }), { abortSignal: AbortSignal.timeout(30_000) });
    acked.push({ bucket: 'layout', key, sha256: sha256(body), size: body.length });
  });

  const added = await cluster.addNode('lille');
  await cluster.waitConnected(cluster.nodes, 30_000);
  const v = await cluster.assignAndApply([{ id: added.id, zone: 'lille' }]);
  assert.equal(v, 2);
  const t0 = Date.now();
  let last = '';
  try {
    await waitFor(
      'a single layout version (2) on every node',
      async () => {
        for (const n of cluster!.nodes) {
          const h = await n.admin('GetClusterLayoutHistory');
          const vs = (h.versions as { version: number; status: string }[]).map((x) => `${x.version} ${x.status}`);
          last = `node ${n.index}: ${vs.join(', ')}; ackMap ${JSON.stringify(h.ackMap)} syncMap ${JSON.stringify(h.syncMap)}`;
          if (h.currentVersion !== 2 || vs.length !== 1) throw new Error(last);
        }
        return true;
      },
      SYNC_MS,
      200,
    );
  } catch (e) {
    const tails = cluster.nodes.map((n) => `--- node ${n.index}:\n${n.output().slice(-1500)}`).join('\n');
    throw new Error(`${(e as Error).message}\n${tails}`);
  }
  const ms = Date.now() - t0;
  t.diagnostic(`layout version 2 synced and version 1 pruned on all 4 nodes ${ms} ms after apply (limit ${SYNC_MS} ms)`);
  console.log(`layout-sync: version 2 synced on all 4 nodes in ${ms} ms (${last})`);
  // When each node proved it, relative to the apply, and how many passes had to retry.
  for (const n of cluster.nodes) {
    const lines = n.output().split('\n');
    const at = lines.map((l) => /"time":(\d+).*"version":2,.*this node has synced the new version/.exec(l)?.[1]).find(Boolean);
    const retries = lines.filter((l) => l.includes('not proved synced here yet') && l.includes('"version":2,')).length;
    t.diagnostic(`node ${n.index}: synced ${at ? `${Number(at) - t0} ms` : '?'} after apply, ${retries} retried pass(es)`);
  }

  // GetClusterHealth (grenier status) gathers every node's replication debt, and it is 0.
  await waitFor(
    'every node\'s replication debt, all 0, in GetClusterHealth',
    async () => {
      const h = await a.admin('GetClusterHealth');
      const by = h.replicationDebtByNode as Record<string, { entriesQueued: number; blocksQueued: number }>;
      if (Object.keys(by).length !== 4 || h.replicationDebtUnknown.length) throw new Error(JSON.stringify(h));
      if (Object.values(by).some((d) => d.entriesQueued || d.blocksQueued)) throw new Error(JSON.stringify(by));
      return true;
    },
    10_000,
    200,
  );

  // Nothing lost in the move, read from every node (the new one included).
  const f = await checkWrites(cluster.nodes, acked);
  assert.equal(f.length, 0, describeFailures(f));
});
