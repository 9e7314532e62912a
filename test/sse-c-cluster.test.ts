// SSE-C across a 3-node cluster (replication factor 3): what node 0 stored encrypted — the
// version's key record and nonce, and the per-part nonces in the block list — reaches the other
// nodes, which decrypt it with the key and refuse it without.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import {
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadBucketCommand,
  PutObjectCommand,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { startCluster, waitFor } from './lib/cluster.ts';

test('SSE-C objects written on one node read back on another (single PUT and multipart)', { timeout: 180_000 }, async (t) => {
  const cluster = await startCluster({ zones: ['z1', 'z2', 'z3'], extraConfig: 'block_size = 262144', s3Config: 'sse_c_over_http = true' });
  t.after(() => cluster.stop());
  const [a, , c] = cluster.nodes;
  const key = { SSECustomerAlgorithm: 'AES256', SSECustomerKey: randomBytes(32).toString('base64') };
  const Bucket = 'ssec-cluster';
  await a!.s3.send(new CreateBucketCommand({ Bucket }));
  await waitFor('the bucket on node 2', () => c!.s3.send(new HeadBucketCommand({ Bucket })).then(() => true, () => false), 20_000);

  const single = randomBytes(900 * 1024 + 7); // 4 blocks, embedded in the object entry
  const big = randomBytes(1300 * 1024); // 6 blocks, listed in the version table
  await a!.s3.send(new PutObjectCommand({ Bucket, Key: 'single', Body: single, ...key }));
  await a!.s3.send(new PutObjectCommand({ Bucket, Key: 'big', Body: big, ...key }));
  const { UploadId } = await a!.s3.send(new CreateMultipartUploadCommand({ Bucket, Key: 'mp', ...key }));
  const p1 = randomBytes(5 * 1024 * 1024 + 3);
  const p2 = randomBytes(10_000);
  const e1 = await a!.s3.send(new UploadPartCommand({ Bucket, Key: 'mp', UploadId, PartNumber: 1, Body: p1, ...key }));
  const e2 = await a!.s3.send(new UploadPartCommand({ Bucket, Key: 'mp', UploadId, PartNumber: 2, Body: p2, ...key }));
  await a!.s3.send(new CompleteMultipartUploadCommand({ Bucket, Key: 'mp', UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: e1.ETag }, { PartNumber: 2, ETag: e2.ETag }] }, ...key }));

  for (const [Key, data] of [['single', single], ['big', big], ['mp', Buffer.concat([p1, p2])]] as const) {
    const g = await c!.s3.send(new GetObjectCommand({ Bucket, Key, ...key }));
    assert.ok(Buffer.from(await g.Body!.transformToByteArray()).equals(data), `${Key} read on node 2`);
    const r = await c!.s3.send(new GetObjectCommand({ Bucket, Key, Range: `bytes=${data.length - 5000}-`, ...key }));
    assert.ok(Buffer.from(await r.Body!.transformToByteArray()).equals(data.subarray(data.length - 5000)), `${Key} tail on node 2`);
    await assert.rejects(c!.s3.send(new GetObjectCommand({ Bucket, Key })), { name: 'InvalidRequest' });
  }
});
