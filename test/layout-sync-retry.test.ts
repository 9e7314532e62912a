// A layout-sync pass that cannot prove the new version (here: a block no node holds) is retried
// within seconds once the cause is gone, not at the next anti-entropy pass (600 s): the block files
// are moved away on every node, a 4th node is added, then the files come back on one node and the
// operator asks for a block retry (RetryBlockResync); the layout version must then be proved alone.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdtempSync, readdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { CreateBucketCommand, HeadBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { startCluster, blockHashes, sleep, waitFor, type Cluster, type ClusterNode } from './lib/cluster.ts';

let cluster: Cluster | undefined;
after(async () => cluster?.stop());

// Seconds on loopback; the old wait was the next anti-entropy pass (600 s).
const SYNC_MS = 30_000;

function blockFile(n: ClusterNode, hash: string): string {
  const dir = join(n.dir, 'data', hash.slice(0, 2), hash.slice(2, 4));
  const f = readdirSync(dir).find((x) => x === hash || x === `${hash}.zst`);
  if (!f) throw new Error(`node ${n.index} has no file for block ${hash}`);
  return join(dir, f);
}

async function versions(n: ClusterNode): Promise<string> {
  const h = await n.admin('GetClusterLayoutHistory');
  return (h.versions as { version: number; status: string }[]).map((x) => `${x.version} ${x.status}`).join(', ');
}

test('a layout version that could not be proved (a block missing everywhere) is proved within seconds once the block is back', { timeout: 240_000 }, async (t) => {
  cluster = await startCluster({ extraConfig: 'anti_entropy_interval_secs = 600\nresync_interval_secs = 60', envFor: () => ({ GRENIER_LOG: 'info' }) });
  const [a] = cluster.nodes as [ClusterNode, ClusterNode, ClusterNode];
  await a.s3.send(new CreateBucketCommand({ Bucket: 'lost' }));
  for (const n of cluster.nodes)
    await waitFor(`bucket on node ${n.index}`, async () => (await n.s3.send(new HeadBucketCommand({ Bucket: 'lost' }), { abortSignal: AbortSignal.timeout(5000) }), true), 10_000, 100);
  await a.s3.send(new PutObjectCommand({ Bucket: 'lost', Key: 'big', Body: randomBytes(300 * 1024) }), { abortSignal: AbortSignal.timeout(30_000) });
  const hashes = await waitFor('the block on all 3 nodes', async () => {
    const sets = cluster!.nodes.map(blockHashes);
    return sets.every((s) => s.size > 0 && s.size === sets[0]!.size) && [...sets[0]!];
  }, 15_000);

  // Every copy moved away (one kept aside): no node can prove it holds the new layout's blocks.
  const aside = mkdtempSync(join(tmpdir(), 'grenier-lost-'));
  const kept = new Map<string, { from: string; to: string }>();
  for (const n of cluster.nodes)
    for (const h of hashes) {
      const from = blockFile(n, h);
      const to = join(aside, `${n.index}-${from.split('/').pop()}`);
      renameSync(from, to);
      if (n.index === 0) kept.set(h, { from, to });
    }

  const added = await cluster.addNode('lille');
  await cluster.waitConnected(cluster.nodes, 30_000);
  assert.equal(await cluster.assignAndApply([{ id: added.id, zone: 'lille' }]), 2);
  await sleep(5000);
  const before = await Promise.all(cluster.nodes.map(versions));
  assert.ok(before.some((v) => v.includes('1 Draining')), `with the block lost, version 1 must still be in use somewhere: ${before.join(' | ')}`);

  // The operator puts the block back and asks for a retry now (each node's fetch of it backs off
  // up to minutes after repeated failures); proving the layout version must follow by itself.
  for (const { from, to } of kept.values()) copyFileSync(to, from);
  const t0 = Date.now();
  for (const n of cluster.nodes) await n.admin('RetryBlockResync', { all: true });
  try {
    await waitFor(
      'a single layout version (2) on every node',
      async () => {
        for (const n of cluster!.nodes) {
          const v = await versions(n);
          if (v !== '2 Current') throw new Error(`node ${n.index}: ${v}`);
        }
        return true;
      },
      SYNC_MS,
      200,
    );
  } catch (e) {
    const errs = await Promise.all(cluster.nodes.map((n) => n.admin('ListBlockErrors').catch((x: Error) => x.message)));
    const tails = cluster.nodes.map((n, i) => `--- node ${n.index}: block errors ${JSON.stringify(errs[i]).slice(0, 600)}\n${n.output().slice(-3000)}`).join('\n');
    throw new Error(`${(e as Error).message}\n${tails}`);
  }
  const ms = Date.now() - t0;
  const retries = cluster.nodes.map((n) => n.output().split('\n').filter((l) => l.includes('not proved synced here yet') && l.includes('"version":2,')).length);
  t.diagnostic(`version 2 proved on all 4 nodes ${ms} ms after the block came back (limit ${SYNC_MS} ms); retried passes per node: ${retries.join(', ')}`);
  console.log(`layout-sync-retry: ${ms} ms after the block came back; retries ${retries.join(',')}`);
});
