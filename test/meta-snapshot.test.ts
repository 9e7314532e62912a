// The documented recovery of a node's lost metadata (README "Operations"): snapshot every node
// with `grenier meta snapshot --all`, keep writing and deleting, stop one node, delete its
// metadata_dir, copy its newest snapshot back, start it: with production timers and no repair
// command it catches up from its peers, keeps its identity, and holds every acknowledged write
// (and none of the deleted ones) alone.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { CreateBucketCommand, DeleteObjectCommand, HeadBucketCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { startCluster, blockHashes, checkWrites, describeFailures, pool, setMode, sha256, waitFor, type AckedWrite, type Cluster, type ClusterNode } from './lib/cluster.ts';
import { REPO_ROOT, describeRun, run } from './lib/node.ts';

let cluster: Cluster | undefined;
after(async () => cluster?.stop());

const SIZE = 64 * 1024;
const CATCH_UP_MS = 30_000;

async function put(n: ClusterNode, key: string, acked: Map<string, AckedWrite>): Promise<void> {
  const body = randomBytes(SIZE);
  await n.s3.send(new PutObjectCommand({ Bucket: 'meta', Key: key, Body: body }), { abortSignal: AbortSignal.timeout(30_000) });
  acked.set(key, { bucket: 'meta', key, sha256: sha256(body), size: SIZE });
}

test('a node whose metadata is deleted comes back from its last snapshot and catches up from its peers, nothing lost', { timeout: 240_000 }, async (t) => {
  // Production anti-entropy and resync periods: the catch-up must not wait for a timer. Snapshots
  // outside metadata_dir (relative to each node's config), as the README advises.
  cluster = await startCluster({ extraConfig: 'anti_entropy_interval_secs = 600\nresync_interval_secs = 60\nmetadata_snapshots_dir = "snapshots"' });
  const [a, b, victim] = cluster.nodes as [ClusterNode, ClusterNode, ClusterNode];
  await a.s3.send(new CreateBucketCommand({ Bucket: 'meta' }));
  await waitFor('bucket on every node', async () => {
    for (const n of cluster!.nodes) await n.s3.send(new HeadBucketCommand({ Bucket: 'meta' }), { abortSignal: AbortSignal.timeout(5000) });
    return true;
  }, 10_000, 100);

  const acked = new Map<string, AckedWrite>();
  await pool([...Array(20).keys()], 4, (i) => put(i % 2 ? a : victim, `before/${i}`, acked));

  // The CLI, as an operator would run it on the victim's machine.
  const main = join(REPO_ROOT, 'src/cli/main.ts');
  const snap = await run(process.execPath, [main, 'meta', 'snapshot', '--all', '--json', '-c', victim.configPath], { timeoutMs: 60_000 });
  assert.equal(snap.code, 0, describeRun('grenier meta snapshot --all', snap));
  const answer = JSON.parse(snap.stdout) as { success: Record<string, { path: string; name: string }>; error: Record<string, string> };
  assert.deepEqual(Object.keys(answer.error), []);
  assert.deepEqual(Object.keys(answer.success).sort(), cluster.nodes.map((n) => n.id).sort(), 'every node took one');
  const snapshotsDir = join(victim.dir, 'snapshots');
  const taken = answer.success[victim.id]!;
  assert.equal(taken.path, join(snapshotsDir, taken.name));
  assert.equal(statSync(snapshotsDir).mode & 0o777, 0o700);

  // After the snapshot: more writes (some through the victim), overwrites and deletions the
  // snapshot does not have.
  await pool([...Array(20).keys()], 4, (i) => put(i % 2 ? b : victim, `after/${i}`, acked));
  await put(a, 'before/0', acked);
  const deleted = ['before/1', 'before/2', 'after/3'];
  for (const k of deleted) {
    await b.s3.send(new DeleteObjectCommand({ Bucket: 'meta', Key: k }));
    acked.delete(k);
  }

  // The disk holding the metadata dies: stop, delete, restore the newest snapshot.
  await victim.kill('SIGTERM');
  // Written while it is down, too.
  await pool([...Array(10).keys()], 4, (i) => put(a, `down/${i}`, acked));
  const metaDir = join(victim.dir, 'meta');
  rmSync(metaDir, { recursive: true, force: true });
  const newest = readdirSync(snapshotsDir).filter((n) => !n.startsWith('.')).sort().at(-1)!;
  assert.equal(newest, taken.name);
  cpSync(join(snapshotsDir, newest), metaDir, { recursive: true });
  rmSync(join(metaDir, 'snapshot.json'));
  assert.ok(existsSync(join(metaDir, 'node_key.pem')), 'the node key is in the snapshot');

  await victim.restart();
  const t0 = Date.now();
  const info = await victim.admin('GetNodeInfo', undefined, 'node=self');
  assert.ok(info.success[victim.id], 'same node id after the restore');

  // Blocks it should hold (every node holds every block at rf 3 with three zones).
  const want = new Set([...blockHashes(a), ...blockHashes(b)]);
  await waitFor('the restored node holds every block again', async () => {
    const got = blockHashes(victim);
    return [...want].every((h) => got.has(h));
  }, CATCH_UP_MS, 200);
  // Its tables: every entry its peers have, synced with each of them since it came back.
  await waitFor('no replication debt and a table sync done on the restored node', async () => {
    for (const n of cluster!.nodes) {
      const d = (await n.admin('GetClusterHealth')).replicationDebt;
      if (d.entriesQueued || d.blocksQueued) throw new Error(`node ${n.index} owes ${JSON.stringify(d)}`);
    }
    const sync = ((await victim.admin('ListWorkers')) as { name: string; runs: number; errors: number; state: string }[]).find((w) => w.name === 'table-sync');
    if (!sync || sync.runs < 1 || sync.state === 'busy') throw new Error(`table-sync: ${JSON.stringify(sync)}`);
    return true;
  }, CATCH_UP_MS, 200);
  t.diagnostic(`the restored node caught up ${Date.now() - t0} ms after it answered /health`);

  // What it holds alone: every acknowledged write, and no deleted key back from the snapshot.
  await Promise.all(cluster.nodes.map((n) => n.kill('SIGTERM')));
  setMode(victim, 'dangerous');
  await victim.restart('live');
  const failures = await checkWrites([victim], [...acked.values()]);
  assert.equal(failures.length, 0, describeFailures(failures));
  const listed: string[] = [];
  let token: string | undefined;
  do {
    const page = await victim.s3.send(new ListObjectsV2Command({ Bucket: 'meta', ContinuationToken: token }));
    listed.push(...(page.Contents ?? []).map((o) => o.Key!));
    token = page.NextContinuationToken;
  } while (token);
  assert.deepEqual(listed.sort(), [...acked.keys()].sort(), 'the restored node lists exactly the live objects');
  t.diagnostic(`${acked.size} objects read back from the restored node alone; ${deleted.length} deletions kept`);
});
