// Scrub on a real 3-zone cluster: a block corrupted on one node's disk is detected, moved to
// quarantine and re-fetched from a healthy replica; a block deleted from disk is re-fetched by
// resync. Reads stay correct throughout (the hash is verified, the other replicas serve).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes, createHash } from 'node:crypto';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { startCluster, waitFor, type Cluster } from './lib/cluster.ts';

let cluster: Cluster | undefined;
after(async () => cluster?.stop());

function blockPath(dir: string, hex: string): string {
  return join(dir, 'data', hex.slice(0, 2), hex.slice(2, 4), hex);
}

test('scrub quarantines a corrupted block and re-fetches it; resync restores a deleted one', { timeout: 180_000 }, async () => {
  cluster = await startCluster({ extraConfig: 'compression_level = "none"' });
  const [a, b] = cluster.nodes;
  await a!.s3.send(new CreateBucketCommand({ Bucket: 'scrub' }));
  const data = randomBytes(3 * 1024 * 1024); // three 1 MiB blocks
  await waitFor('bucket visible on b', async () => (await b!.s3.send(new PutObjectCommand({ Bucket: 'scrub', Key: 'obj', Body: data })).then(() => true, () => false)), 10_000);
  const hashes = [0, 1, 2].map((i) => createHash('sha256').update(data.subarray(i << 20, (i + 1) << 20)).digest('hex'));
  // Every node holds every partition in a 3-node, 3-zone cluster: wait for all replicas.
  await waitFor('all replicas written', async () => cluster!.nodes.every((n) => hashes.every((h) => existsSync(blockPath(n.dir, h)))), 20_000);

  const victim = cluster.nodes[2]!;
  const corrupt = blockPath(victim.dir, hashes[0]!);
  const bad = Buffer.from(readFileSync(corrupt));
  bad[1000] = bad[1000]! ^ 0xff;
  writeFileSync(corrupt, bad);
  const intact = (h: string) => {
    const p = blockPath(victim.dir, h);
    return existsSync(p) && createHash('sha256').update(readFileSync(p)).digest('hex') === h;
  };

  // The scrub finds the corrupted block, quarantines it and fetches a healthy copy.
  await victim.admin('LaunchRepairOperation', { repairType: 'scrub' });
  await waitFor('corrupted block restored by the scrub', async () => intact(hashes[0]!), 60_000, 500);
  const workers = (await victim.admin('ListWorkers')) as { name: string; progress: string }[];
  const scrub = workers.find((w) => w.name === 'block-scrub');
  assert.ok(scrub, 'no block-scrub worker listed');
  assert.match(scrub.progress, /corrupted 1, repaired 1/, `scrub progress does not report the repair: ${scrub.progress}`);

  // A block deleted from disk: reads through this node stay right, and the node gets it back.
  unlinkSync(blockPath(victim.dir, hashes[1]!));
  const got = await victim.s3.send(new GetObjectCommand({ Bucket: 'scrub', Key: 'obj' }));
  assert.ok(Buffer.from(await got.Body!.transformToByteArray()).equals(data), 'a read through the damaged node returned wrong bytes');
  await victim.admin('LaunchRepairOperation', { repairType: 'blocks' });
  await waitFor('deleted block restored', async () => hashes.every(intact), 60_000, 500);
  const quarantined = readdirSync(join(victim.dir, 'data', 'quarantine'));
  assert.ok(quarantined.some((f) => f.startsWith(hashes[0]!)), `the corrupted block was not quarantined (${quarantined.join(', ')})`);
});
