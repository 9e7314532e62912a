// Quotas against a real node: a chunked PUT of unknown length stops at the quota with the disk back
// to its baseline at once, parts of unfinished uploads count in usage, and the admin API cleans
// unfinished uploads on demand.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { SignatureV4 } from '@smithy/signature-v4';
import { CreateBucketCommand, CreateMultipartUploadCommand, UploadPartCommand, type S3Client } from '@aws-sdk/client-s3';
import { startNode, s3Client, type TestNode } from './lib/node.ts';
import { chunkedPut } from './lib/chunked-put.ts';

const MB = 1_000_000;
const MiB = 1024 * 1024;


let node: TestNode;
let s3: S3Client;

before(async () => {
  node = await startNode();
  s3 = s3Client(node);
});
after(async () => {
  await node?.stop();
});

function diskBytes(dir: string): number {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    n += e.isDirectory() ? diskBytes(p) : statSync(p).size;
  }
  return n;
}

async function bucketWithQuota(name: string, maxSize: number): Promise<string> {
  await s3.send(new CreateBucketCommand({ Bucket: name }));
  const info = await node.admin('GetBucketInfo', undefined, `globalAlias=${name}`);
  await node.admin('UpdateBucket', { quotas: { maxSize, maxObjects: null } }, `id=${info.id}`);
  return info.id as string;
}

test('a chunked PUT of 80 MiB into a 50 MB quota is refused after about the quota, and the disk is back to its baseline at once', { timeout: 90_000 }, async () => {
  const id = await bucketWithQuota('chunked-quota', 50 * MB);
  const data = join(node.dir, 'data');
  const baseline = diskBytes(data);
  const r = await chunkedPut(node, 'chunked-quota', 'big', 80 * MiB);
  const after = diskBytes(data);
  console.log(`chunked PUT: answered ${r.status} after ${(r.sentAtAnswer / MiB).toFixed(1)} MiB sent; data_dir ${baseline} B before, ${after} B right after`);
  assert.equal(r.status, 403, r.body);
  assert.match(r.body, /<Code>QuotaExceeded<\/Code>/);
  assert.ok(r.sentAtAnswer < 50 * MB + 24 * MiB, `answered after ${r.sentAtAnswer} bytes, not after the whole body`);
  assert.equal(after, baseline, 'what the refused PUT wrote is deleted before the answer');
  const info = await node.admin('GetBucketInfo', undefined, `id=${id}`);
  assert.equal(info.bytes, 0);
});

test('parts of unfinished uploads count in usage on a 10 MB bucket; the extra part is refused; CleanupIncompleteUploads releases them', { timeout: 90_000 }, async () => {
  const id = await bucketWithQuota('mpu-quota', 10 * MB);
  const up = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'mpu-quota', Key: 'k' }));
  const statuses: number[] = [];
  for (let n = 1; n <= 5; n++) {
    try {
      const r = await s3.send(new UploadPartCommand({ Bucket: 'mpu-quota', Key: 'k', UploadId: up.UploadId, PartNumber: n, Body: Buffer.alloc(5 * MB, n) }));
      statuses.push(r.$metadata.httpStatusCode!);
    } catch (e) {
      statuses.push((e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode ?? -1);
    }
  }
  // Parts 3–5 are refused. The SDK, still sending a refused 5 MB body, sometimes reports the
  // connection cut (EPIPE, no status) instead of the 403 it was sent: accepted here, noted as a
  // client-side race to look into; what matters is that none of them is stored.
  assert.deepEqual(statuses.slice(0, 2), [200, 200]);
  for (const st of statuses.slice(2)) assert.ok(st === 403 || st === -1, `a part past the quota is refused (got ${st})`);
  // The refusal itself, with a body small enough to be sent whole before the answer arrives (all
  // three 5 MB parts once came back as cut connections in CI, so this was asserted on them by luck).
  const small = await s3
    .send(new UploadPartCommand({ Bucket: 'mpu-quota', Key: 'k', UploadId: up.UploadId, PartNumber: 6, Body: Buffer.alloc(64 * 1024, 6) }))
    .then(
      (r) => r.$metadata.httpStatusCode!,
      (e: { name?: string; $metadata?: { httpStatusCode?: number } }) => `${e.$metadata?.httpStatusCode ?? -1} ${e.name}`,
    );
  assert.equal(small, '403 QuotaExceeded', 'the refusal is a 403 QuotaExceeded');
  // The same part number five times holds one copy in usage.
  for (let i = 0; i < 5; i++) await s3.send(new UploadPartCommand({ Bucket: 'mpu-quota', Key: 'k', UploadId: up.UploadId, PartNumber: 2, Body: Buffer.alloc(5 * MB, 10 + i) }));
  let info = await node.admin('GetBucketInfo', undefined, `id=${id}`);
  assert.equal(info.bytes, 10 * MB, 'the parts are counted');
  const r = await node.admin('CleanupIncompleteUploads', { bucketId: id, olderThanSecs: 0 });
  assert.deepEqual(r, { uploadsDeleted: 1 });
  info = await node.admin('GetBucketInfo', undefined, `id=${id}`);
  assert.equal(info.bytes, 0);
  assert.equal(info.objects, 0);
});
