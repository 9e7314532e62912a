// Virtual-host style requests (bucket.s3.localhost): the SDK addresses buckets through the Host
// header; name resolution is pinned to 127.0.0.1 since *.localhost is not resolvable here.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Agent } from 'node:http';
import { S3Client, CreateBucketCommand, PutObjectCommand, GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { startNode, s3Client, type TestNode } from './lib/node.ts';

let node: TestNode;
before(async () => {
  node = await startNode();
});
after(async () => node?.stop());

test('virtual-host style: bucket in the Host header, key in the path', async () => {
  await s3Client(node).send(new CreateBucketCommand({ Bucket: 'vhost' }));
  const port = new URL(node.s3Url).port;
  const agent = new Agent({
    lookup: (_host, opts, cb) => {
      if ((opts as { all?: boolean }).all) (cb as unknown as (e: null, a: { address: string; family: number }[]) => void)(null, [{ address: '127.0.0.1', family: 4 }]);
      else cb(null, '127.0.0.1', 4);
    },
  });
  const vs3 = new S3Client({
    endpoint: `http://s3.localhost:${port}`,
    forcePathStyle: false,
    region: node.region,
    credentials: { accessKeyId: node.keyId, secretAccessKey: node.secret },
    requestHandler: new NodeHttpHandler({ httpAgent: agent }),
  });
  await vs3.send(new PutObjectCommand({ Bucket: 'vhost', Key: 'dir/a b.txt', Body: 'virtual host' }));
  const got = await vs3.send(new GetObjectCommand({ Bucket: 'vhost', Key: 'dir/a b.txt' }));
  assert.equal(await got.Body!.transformToString(), 'virtual host');
  const list = await vs3.send(new ListObjectsV2Command({ Bucket: 'vhost', Prefix: 'dir/' }));
  assert.deepEqual(list.Contents?.map((c) => c.Key), ['dir/a b.txt']);
  // The same object is visible path-style.
  const path = await s3Client(node).send(new GetObjectCommand({ Bucket: 'vhost', Key: 'dir/a b.txt' }));
  assert.equal(await path.Body!.transformToString(), 'virtual host');
});
