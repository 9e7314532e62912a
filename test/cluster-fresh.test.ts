// Control data created on one node is usable through another at once, even one that was
// paused while it was written: a local miss of a key or bucket asks a majority of nodes.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { S3Client, CreateBucketCommand, PutObjectCommand, GetObjectCommand } from '@aws-sdk/client-s3';
import { startCluster, waitFor, type Cluster } from './lib/cluster.ts';

let cluster: Cluster | undefined;
after(async () => cluster?.stop());

test('a key and a bucket made on one node work on the others immediately', { timeout: 120_000 }, async () => {
  cluster = await startCluster();
  const [a, b, c] = cluster.nodes as [Cluster['nodes'][0], Cluster['nodes'][0], Cluster['nodes'][0]];
  for (let round = 0; round < 3; round++) {
    // c misses the writes (paused), then serves requests before its propagation queue delivers them.
    process.kill(c.pid, 'SIGSTOP');
    let k: { accessKeyId: string; secretAccessKey: string };
    try {
      k = await a.admin('CreateKey', { name: `fresh-${round}`, allow: { createBucket: true } });
      await a.admin('CreateBucket', { globalAlias: `pre-${round}` });
    } finally {
      process.kill(c.pid, 'SIGCONT');
    }
    // Once c talks to its peers again it can answer, whether or not their queues reached it yet.
    await waitFor('c reconnected', async () => {
      const st = await c.admin('GetClusterStatus');
      return st.nodes.every((n: { isUp: boolean }) => n.isUp) ? true : undefined;
    }, 30_000);
    const client = (n: typeof a) =>
      new S3Client({
        endpoint: n.s3Url,
        forcePathStyle: true,
        region: n.region,
        credentials: { accessKeyId: k.accessKeyId, secretAccessKey: k.secretAccessKey },
        maxAttempts: 1,
      });
    const bucket = `fresh-${round}`;
    await client(c).send(new CreateBucketCommand({ Bucket: bucket }));
    await client(b).send(new PutObjectCommand({ Bucket: bucket, Key: 'x', Body: `round ${round}` }));
    const got = await client(a).send(new GetObjectCommand({ Bucket: bucket, Key: 'x' }));
    assert.equal(await got.Body!.transformToString(), `round ${round}`);
    // A bucket created (by an admin) while c was paused is visible to c at once, too.
    await cluster.nodes[0]!.admin('AllowBucketKey', {
      bucketId: (await a.admin('GetBucketInfo', undefined, `globalAlias=pre-${round}`)).id,
      accessKeyId: k.accessKeyId,
      permissions: { read: true, write: true, owner: false },
    });
    await client(c).send(new PutObjectCommand({ Bucket: `pre-${round}`, Key: 'y', Body: 'y' }));
  }
});
