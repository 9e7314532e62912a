// SSE-C with a real client (@aws-sdk/client-s3's SSECustomerKey) against a real node: refused over
// plain HTTP by default, then (s3_api.sse_c_over_http = true) put, get, range get, head, a
// two-part multipart upload, a copy to a new key and a form upload (PostObject); the plaintext is
// nowhere in the node's dirs.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'node:http';
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutBucketWebsiteCommand,
  PutObjectCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { startNode, s3Client, type TestNode } from './lib/node.ts';

const MARKER = Buffer.from('GRENIER-SSE-C-REAL-CLIENT-MARKER-91c2');
const MiB = 1024 * 1024;

function markerBody(size: number): Buffer {
  const b = Buffer.alloc(size);
  for (let i = 0; i < size; i += MARKER.length) MARKER.copy(b, i);
  return b;
}

/** GET through the web listener with the given Host. */
function web(n: TestNode, host: string, path: string): Promise<{ status: number; body: Buffer }> {
  const u = new URL(n.webUrl);
  return new Promise((resolve, reject) => {
    const req = request({ host: u.hostname, port: u.port, path, headers: { host }, timeout: 10_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, body: Buffer.concat(chunks) }));
    });
    req.once('timeout', () => req.destroy(new Error('web request timed out')));
    req.once('error', reject);
    req.end();
  });
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).map((f) => join(dir, f)).filter((f) => statSync(f).isFile());
}

let node: TestNode | undefined;
let c: S3Client | undefined;
after(async () => {
  c?.destroy();
  await node?.stop();
});

test('SSE-C through @aws-sdk/client-s3: TLS-only by default; put/get/range/head/multipart/copy with the key; no plaintext on disk', { timeout: 120_000 }, async () => {
  // No compression: a plaintext block on disk would show the marker verbatim (the control below).
  node = await startNode({ extraConfig: 'block_size = 262144\ncompression_level = "none"' });
  c = s3Client(node);
  const A = randomBytes(32).toString('base64');
  const B = randomBytes(32).toString('base64');
  const withA = { SSECustomerAlgorithm: 'AES256', SSECustomerKey: A };
  const withB = { SSECustomerAlgorithm: 'AES256', SSECustomerKey: B };
  const Bucket = 'ssec';
  await c.send(new CreateBucketCommand({ Bucket }));

  await assert.rejects(c.send(new PutObjectCommand({ Bucket, Key: 'x', Body: 'abc', ...withA })), (e: Error & { $metadata?: { httpStatusCode?: number } }) => {
    assert.equal(e.name, 'InvalidRequest');
    assert.equal(e.$metadata?.httpStatusCode, 400);
    assert.match(e.message, /secure connection/);
    return true;
  });

  // The operator allows SSE-C over plain HTTP (this test has no TLS).
  writeFileSync(node.configPath, readFileSync(node.configPath, 'utf8').replace('[s3_api]\n', '[s3_api]\nsse_c_over_http = true\n'));
  await node.restart();
  c.destroy();
  const s3 = s3Client(node);
  c = s3;

  const small = markerBody(2000);
  const large = markerBody(MiB + 333); // 5 blocks of 256 KiB
  for (const [Key, data] of [['small', small], ['large', large]] as const) {
    const p = await s3.send(new PutObjectCommand({ Bucket, Key, Body: data, ...withA }));
    assert.equal(p.SSECustomerAlgorithm, 'AES256');
    const g = await s3.send(new GetObjectCommand({ Bucket, Key, ...withA }));
    assert.deepEqual(Buffer.from(await g.Body!.transformToByteArray()), data);
    assert.equal(g.SSECustomerKeyMD5, p.SSECustomerKeyMD5);
    const r = await s3.send(new GetObjectCommand({ Bucket, Key, Range: 'bytes=1000-1999', ...withA }));
    assert.deepEqual(Buffer.from(await r.Body!.transformToByteArray()), data.subarray(1000, 2000));
    const h = await s3.send(new HeadObjectCommand({ Bucket, Key, ...withA }));
    assert.equal(h.ContentLength, data.length);
    assert.equal(h.SSECustomerAlgorithm, 'AES256');
    await assert.rejects(s3.send(new GetObjectCommand({ Bucket, Key })), { name: 'InvalidRequest' });
    await assert.rejects(s3.send(new GetObjectCommand({ Bucket, Key, ...withB })), { name: 'InvalidRequest' });
  }

  const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket, Key: 'mp', ...withA }));
  const p1 = markerBody(5 * MiB + 1);
  const p2 = markerBody(70_000);
  await assert.rejects(s3.send(new UploadPartCommand({ Bucket, Key: 'mp', UploadId, PartNumber: 1, Body: p1, ...withB })), { name: 'InvalidRequest' });
  const e1 = await s3.send(new UploadPartCommand({ Bucket, Key: 'mp', UploadId, PartNumber: 1, Body: p1, ...withA }));
  const e2 = await s3.send(new UploadPartCommand({ Bucket, Key: 'mp', UploadId, PartNumber: 2, Body: p2, ...withA }));
  await s3.send(new CompleteMultipartUploadCommand({ Bucket, Key: 'mp', UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: e1.ETag }, { PartNumber: 2, ETag: e2.ETag }] }, ...withA }));
  const all = Buffer.concat([p1, p2]);
  const g = await s3.send(new GetObjectCommand({ Bucket, Key: 'mp', ...withA }));
  assert.deepEqual(Buffer.from(await g.Body!.transformToByteArray()), all);
  const cross = await s3.send(new GetObjectCommand({ Bucket, Key: 'mp', Range: `bytes=${p1.length - 100}-${p1.length + 99}`, ...withA }));
  assert.deepEqual(Buffer.from(await cross.Body!.transformToByteArray()), all.subarray(p1.length - 100, p1.length + 100));

  // Copy to a new key: the source's key for reading, the copy readable with B only.
  const cp = await s3.send(new CopyObjectCommand({ Bucket, Key: 'mp-b', CopySource: `${Bucket}/mp`, CopySourceSSECustomerAlgorithm: 'AES256', CopySourceSSECustomerKey: A, ...withB }));
  assert.equal(cp.SSECustomerAlgorithm, 'AES256');
  const gb = await s3.send(new GetObjectCommand({ Bucket, Key: 'mp-b', ...withB }));
  assert.deepEqual(Buffer.from(await gb.Body!.transformToByteArray()), all);
  await assert.rejects(s3.send(new GetObjectCommand({ Bucket, Key: 'mp-b', ...withA })), { name: 'InvalidRequest' });

  // PostObject: the form's customer-key fields encrypt the file (SigV2 form, as the ceph suite).
  const md5A = createHash('md5').update(Buffer.from(A, 'base64')).digest('base64');
  const fields: [string, string][] = [['key', 'posted'], ['x-amz-server-side-encryption-customer-algorithm', 'AES256'], ['x-amz-server-side-encryption-customer-key', A], ['x-amz-server-side-encryption-customer-key-md5', md5A]];
  const policy = Buffer.from(JSON.stringify({
    expiration: new Date(Date.now() + 600_000).toISOString(),
    conditions: [{ bucket: Bucket }, ['starts-with', '$key', ''], ...fields.slice(1).map(([k]) => ['starts-with', `$${k}`, '']), ['content-length-range', 0, 1024 * 1024]],
  })).toString('base64');
  const form = new FormData();
  for (const [k, v] of fields) form.append(k, v);
  form.append('AWSAccessKeyId', node.keyId);
  form.append('signature', createHmac('sha1', node.secret).update(policy).digest('base64'));
  form.append('policy', policy);
  form.append('file', new Blob([markerBody(5000)]), 'f');
  const posted = await fetch(`${node.s3Url}/${Bucket}`, { method: 'POST', body: form });
  assert.equal(posted.status, 204, await posted.text());
  const gp = await s3.send(new GetObjectCommand({ Bucket, Key: 'posted', ...withA }));
  assert.deepEqual(Buffer.from(await gp.Body!.transformToByteArray()), markerBody(5000));
  // Its ETag is not the plaintext MD5 (src/api/s3/sse-c-etag.test.ts), and is the one GET gives.
  assert.notEqual(posted.headers.get('etag'), `"${createHash('md5').update(markerBody(5000)).digest('hex')}"`);
  assert.equal(gp.ETag, posted.headers.get('etag'));
  await assert.rejects(s3.send(new GetObjectCommand({ Bucket, Key: 'posted' })), { name: 'InvalidRequest' });

  // Neither the block files nor the metadata (LMDB) hold the plaintext; a plain object's does show.
  const CONTROL = Buffer.from('GRENIER-PLAIN-CONTROL-MARKER-5d01');
  await s3.send(new PutObjectCommand({ Bucket, Key: 'control', Body: Buffer.concat(Array.from({ length: 20_000 }, () => CONTROL)) }));
  // A website never serves an SSE-C object (a visitor has no key: it would get ciphertext).
  await s3.send(new PutBucketWebsiteCommand({ Bucket, WebsiteConfiguration: { IndexDocument: { Suffix: 'index.html' } } }));
  let page = await web(node, `${Bucket}.web.localhost`, '/control');
  for (let i = 0; i < 50 && page.status !== 200; i++) {
    await new Promise((r) => setTimeout(r, 200));
    page = await web(node, `${Bucket}.web.localhost`, '/control');
  }
  assert.equal(page.status, 200, 'the plain object is served');
  for (const k of ['small', 'large', 'mp', 'posted']) assert.equal((await web(node, `${Bucket}.web.localhost`, `/${k}`)).status, 404, k);

  const files = filesUnder(node.dir);
  assert.ok(files.some((f) => readFileSync(f).includes(CONTROL)), 'the control plaintext is found on disk');
  for (const f of files) assert.ok(!readFileSync(f).includes(MARKER), `plaintext found in ${f}`);
});
