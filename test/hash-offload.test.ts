// Hashes in the hash workers (src/util/hash-pool.ts) through a real node: the ETags of large PUTs,
// UploadParts, UploadPartCopy ranges and a CopyObject that stores the bytes again (SSE-C to plain)
// are the MD5 of the bytes, with the workers on (default) and off (limits.hash_workers = 0).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import {
  CreateBucketCommand,
  PutObjectCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  UploadPartCommand,
  UploadPartCopyCommand,
  CompleteMultipartUploadCommand,
  GetObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { startNode, s3Client, type TestNode } from './lib/node.ts';

const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');
const nodes: TestNode[] = [];
const clients: S3Client[] = [];
after(async () => {
  for (const c of clients) c.destroy();
  for (const n of nodes) await n.stop();
});

for (const workers of [-1, 0]) {
  test(`large bodies and copies get their MD5 ETags (hash_workers = ${workers})`, { timeout: 120_000 }, async () => {
    const node = await startNode({ extraConfig: `metadata_fsync = false\n[limits]\nhash_workers = ${workers}`, s3Config: 'sse_c_over_http = true' });
    nodes.push(node);
    const s3 = s3Client(node);
    clients.push(s3);
    const Bucket = 'hashes';
    await s3.send(new CreateBucketCommand({ Bucket }));
    const data = randomBytes(5 * 1024 * 1024 + 4321);
    const p = await s3.send(new PutObjectCommand({ Bucket, Key: 'big', Body: data, ContentMD5: createHash('md5').update(data).digest('base64') }));
    assert.equal(p.ETag, `"${md5(data)}"`);

    const key = randomBytes(32).toString('base64');
    const ssec = { SSECustomerAlgorithm: 'AES256', SSECustomerKey: key };
    await s3.send(new PutObjectCommand({ Bucket, Key: 'enc', Body: data, ...ssec }));
    const cp = await s3.send(new CopyObjectCommand({ Bucket, Key: 'plain', CopySource: `${Bucket}/enc`, CopySourceSSECustomerAlgorithm: 'AES256', CopySourceSSECustomerKey: key }));
    assert.equal(cp.CopyObjectResult?.ETag, `"${md5(data)}"`, 'SSE-C to plain: stored again, hashed on the way');

    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket, Key: 'mpu' }));
    const part1 = data.subarray(0, 5 * 1024 * 1024);
    const u1 = await s3.send(new UploadPartCommand({ Bucket, Key: 'mpu', UploadId, PartNumber: 1, Body: part1 }));
    assert.equal(u1.ETag, `"${md5(part1)}"`);
    const range = data.subarray(1000, 1000 + 2 * 1024 * 1024 + 7);
    const u2 = await s3.send(new UploadPartCopyCommand({ Bucket, Key: 'mpu', UploadId, PartNumber: 2, CopySource: `${Bucket}/big`, CopySourceRange: `bytes=1000-${1000 + range.length - 1}` }));
    assert.equal(u2.CopyPartResult?.ETag, `"${md5(range)}"`);
    await s3.send(new CompleteMultipartUploadCommand({ Bucket, Key: 'mpu', UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: u1.ETag }, { PartNumber: 2, ETag: u2.CopyPartResult!.ETag }] } }));
    const g = await s3.send(new GetObjectCommand({ Bucket, Key: 'mpu' }));
    assert.ok(Buffer.from(await g.Body!.transformToByteArray()).equals(Buffer.concat([part1, range])));
  });
}
