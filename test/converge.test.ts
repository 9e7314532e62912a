// A zone that comes back is refilled without an operator: 3 zones, one node killed with kill -9,
// 200 objects of 200 KB written through the two others, the node restarted; with production
// intervals (anti-entropy 600 s, resync 60 s) and no repair command, it must hold every block
// and every entry it should within 10 s (the issue measured 0 of 200 blocks after 121 s).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { CreateBucketCommand, HeadBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { startCluster, blockHashes, checkEachAlone, describeFailures, pool, sha256, waitFor, type AckedWrite, type Cluster, type ClusterNode } from './lib/cluster.ts';

let cluster: Cluster | undefined;
after(async () => cluster?.stop());

const OBJECTS = 200;
const SIZE = 200 * 1024;
// The goal is 10 s on loopback (measured 2.7 s idle, 4.9–7.9 s at load 20 on 2 cores, printed
// below); the assertion allows 30 s so a loaded CI machine does not turn the goal into a flaky
// timing test, while the old behaviour (never, without a repair) still fails it.
const CONVERGE_MS = 30_000;

test('a node killed during 200 writes holds every block and entry within seconds of its restart, without repair', { timeout: 240_000 }, async (t) => {
  // Timers at their production defaults: only change-driven work can meet the 10 s bound.
  cluster = await startCluster({ extraConfig: 'anti_entropy_interval_secs = 600\nresync_interval_secs = 60' });
  const [a, b, victim] = cluster.nodes as [ClusterNode, ClusterNode, ClusterNode];
  await a.s3.send(new CreateBucketCommand({ Bucket: 'refill' }));
  await waitFor('bucket on the victim', async () => {
    await victim.s3.send(new HeadBucketCommand({ Bucket: 'refill' }), { abortSignal: AbortSignal.timeout(5000) });
    return true;
  }, 10_000, 100);

  await victim.kill('SIGKILL');
  const acked: AckedWrite[] = [];
  const t0 = Date.now();
  await pool([...Array(OBJECTS).keys()], 6, async (i) => {
    const body = randomBytes(SIZE);
    const key = `o-${String(i).padStart(3, '0')}`;
    await (i % 2 ? a : b).s3.send(new PutObjectCommand({ Bucket: 'refill', Key: key, Body: body }), { abortSignal: AbortSignal.timeout(30_000) });
    acked.push({ bucket: 'refill', key, sha256: sha256(body), size: body.length });
  });
  t.diagnostic(`${acked.length} writes acknowledged in ${Date.now() - t0} ms while the victim was down`);
  assert.equal(acked.length, OBJECTS);
  const want = new Set([...blockHashes(a), ...blockHashes(b)]);
  assert.ok(want.size >= OBJECTS, `survivors hold ${want.size} blocks`);
  // The survivors say what they owe the victim (its missed entries and block references).
  const owed = (await a.admin('GetClusterHealth')).replicationDebt;
  assert.ok((owed?.entriesQueuedByNode?.[victim.id] ?? 0) >= OBJECTS / 2, `node 0 owes the victim: ${JSON.stringify(owed)}`);
  assert.ok(owed.nodesBehind.includes(victim.id));

  await victim.restart();
  const t1 = Date.now();
  let have = 0;
  try {
    await waitFor('every block on the restarted node', async () => {
      const got = blockHashes(victim);
      have = [...want].filter((h) => got.has(h)).length;
      return have === want.size;
    }, CONVERGE_MS, 100);
  } catch (e) {
    const log = victim.output().split('\n').filter((l) => /resync|catch/.test(l)).slice(-10).join('\n');
    assert.fail(`after ${Date.now() - t1} ms the restarted node holds ${have} of ${want.size} blocks (${(e as Error).message.slice(0, 200)})\n${log}`);
  }
  const blocksMs = Date.now() - t1;
  t.diagnostic(`blocks converged ${blocksMs} ms after the restarted node answered /health (${want.size} blocks)`);

  // "Fully replicated" once it is true: no node owes anything, every partition all ok.
  await waitFor('no replication debt left on any node', async () => {
    for (const n of cluster!.nodes) {
      const h = await n.admin('GetClusterHealth');
      const d = h.replicationDebt;
      if (d.entriesQueued || d.blocksQueued || h.partitionsAllOk !== 256) throw new Error(`node ${n.index}: ${JSON.stringify({ allOk: h.partitionsAllOk, ...d })}`);
    }
    return true;
  }, Math.max(1000, CONVERGE_MS - (Date.now() - t1)), 100);
  t.diagnostic(`no replication debt left ${Date.now() - t1} ms after the restart`);
  // Entries: the victim's own tables must list and serve every object alone.
  const alone = await checkEachAlone(cluster, [victim], acked);
  assert.equal(alone.length, 0, describeFailures(alone));
  t.diagnostic(`convergence time: ${blocksMs} ms (blocks); ${OBJECTS} objects read back from the restarted node alone`);
});
