// Adversarial S3 requests from a tenant (or the public) against a real node: each must end as a
// 4xx answer for that request alone, and the node must keep serving a normal PUT/GET afterwards.
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { statSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  S3Client,
  CreateBucketCommand,
  PutObjectCommand,
  GetObjectCommand,
  DeleteObjectCommand,
  PutBucketVersioningCommand,
  CreateMultipartUploadCommand,
  UploadPartCommand,
  ListPartsCommand,
  AbortMultipartUploadCommand,
  ListObjectsV2Command,
  ListObjectsCommand,
  ListObjectVersionsCommand,
  ListMultipartUploadsCommand,
  CopyObjectCommand,
  DeleteObjectsCommand,
  HeadObjectCommand,
} from '@aws-sdk/client-s3';
import { startNode, s3Client, type TestNode } from './lib/node.ts';

let node: TestNode;
let s3: S3Client;
const B = 'hardening';
const VB = 'hardening-versioned';

before(async () => {
  // A small XML limit, so that a multi-delete of 1000 keys passes it.
  node = await startNode({ extraConfig: 'metadata_fsync = false\n[limits]\nxml_body_bytes_max = 65536' });
  s3 = s3Client(node);
  await s3.send(new CreateBucketCommand({ Bucket: B }));
  await s3.send(new CreateBucketCommand({ Bucket: VB }));
  await s3.send(new PutBucketVersioningCommand({ Bucket: VB, VersioningConfiguration: { Status: 'Enabled' } }));
});
after(async () => {
  s3?.destroy();
  await node?.stop();
});

// A test that killed the node must not hide the next test's own result.
beforeEach(async () => {
  if (!node) return;
  const up = await fetch(node.s3Url, { signal: AbortSignal.timeout(2000) }).then(
    (r) => r.arrayBuffer().then(() => true),
    () => false,
  );
  if (!up) {
    console.log(`restarting the node, which died; its output:\n${node.output().slice(-1500)}`);
    await node.restart();
  }
});

function alive(): boolean {
  try {
    process.kill(node.pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The node still answers a normal PUT then GET (and its process is still the same one). */
async function stillServes(what: string): Promise<void> {
  const pid = node.pid;
  await new Promise((r) => setTimeout(r, 200));
  assert.ok(alive(), `the node process died after ${what}; output:\n${node.output().slice(-1500)}`);
  const key = `canary-${Date.now()}`;
  await s3.send(new PutObjectCommand({ Bucket: B, Key: key, Body: 'still here' }));
  const r = await s3.send(new GetObjectCommand({ Bucket: B, Key: key }));
  assert.equal(await r.Body!.transformToString(), 'still here');
  assert.equal(node.pid, pid);
  assert.ok(alive(), `the node process died after ${what}`);
}

/** Asserts that `p` rejects with the given HTTP status and S3 error code. */
async function rejectsWith(p: Promise<unknown>, status: number, code: string | null): Promise<void> {
  let err: any;
  try {
    await p;
  } catch (e) {
    err = e;
  }
  assert.ok(err, `expected HTTP ${status} ${code}, but the request succeeded`);
  assert.equal(err.$metadata?.httpStatusCode, status, `expected HTTP ${status}, got ${err.$metadata?.httpStatusCode} (${err.name}: ${err.message})`);
  if (code !== null) assert.equal(err.Code ?? err.name, code, `expected ${code}, got ${err.Code ?? err.name}: ${err.message}`);
}

test('CreateMultipartUpload with a 2 KB key: 400 KeyTooLongError, the node lives', async () => {
  await rejectsWith(s3.send(new CreateMultipartUploadCommand({ Bucket: B, Key: 'k'.repeat(2048) })), 400, 'KeyTooLongError');
  await stillServes('CreateMultipartUpload with a 2 KB key');
});

test('DELETE of a 3000-byte key in a versioned bucket: 400 KeyTooLongError, the node lives', async () => {
  await rejectsWith(s3.send(new DeleteObjectCommand({ Bucket: VB, Key: 'd'.repeat(3000) })), 400, 'KeyTooLongError');
  await stillServes('a versioned DELETE of a 3000-byte key');
});

test('DeleteObjects entries over 1024 bytes: KeyTooLongError per entry, no delete marker for them', async () => {
  const long = 'm'.repeat(1500);
  const r = await s3.send(new DeleteObjectsCommand({ Bucket: VB, Delete: { Objects: [{ Key: long }, { Key: 'd'.repeat(3000) }, { Key: 'short' }] } }));
  assert.deepEqual(
    (r.Errors ?? []).map((e) => [e.Key?.length, e.Code]),
    [
      [1500, 'KeyTooLongError'],
      [3000, 'KeyTooLongError'],
    ],
  );
  assert.deepEqual((r.Deleted ?? []).map((d) => d.Key), ['short']);
  const v = await s3.send(new ListObjectVersionsCommand({ Bucket: VB }));
  assert.ok(!(v.DeleteMarkers ?? []).some((m) => (m.Key?.length ?? 0) > 1024), 'no delete marker for an over-long key');
  await stillServes('DeleteObjects with over-long keys');
});

test('multipart calls with a key over 1024 bytes are refused (none creates or reads such a key)', async () => {
  const long = 'm'.repeat(1025);
  // 1024 bytes is still a key (the limit is inclusive), also in multi-byte UTF-8.
  const ok = 'é'.repeat(512);
  const up = await s3.send(new CreateMultipartUploadCommand({ Bucket: B, Key: ok }));
  await s3.send(new AbortMultipartUploadCommand({ Bucket: B, Key: ok, UploadId: up.UploadId! }));
  await rejectsWith(s3.send(new CreateMultipartUploadCommand({ Bucket: B, Key: long })), 400, 'KeyTooLongError');
  await rejectsWith(s3.send(new CreateMultipartUploadCommand({ Bucket: B, Key: 'é'.repeat(513) })), 400, 'KeyTooLongError');
  const id = '0'.repeat(32);
  await rejectsWith(s3.send(new UploadPartCommand({ Bucket: B, Key: long, UploadId: id, PartNumber: 1, Body: 'x' })), 400, 'KeyTooLongError');
  await rejectsWith(s3.send(new ListPartsCommand({ Bucket: B, Key: long, UploadId: id })), 400, 'KeyTooLongError');
  await rejectsWith(s3.send(new AbortMultipartUploadCommand({ Bucket: B, Key: long, UploadId: id })), 400, 'KeyTooLongError');
  await rejectsWith(s3.send(new GetObjectCommand({ Bucket: B, Key: long })), 400, 'KeyTooLongError');
  // A HEAD answer has no body to carry the code.
  await rejectsWith(s3.send(new HeadObjectCommand({ Bucket: B, Key: long })), 400, null);
  await rejectsWith(s3.send(new DeleteObjectCommand({ Bucket: B, Key: long })), 400, 'KeyTooLongError');
  await rejectsWith(s3.send(new CopyObjectCommand({ Bucket: B, Key: 'dst', CopySource: `${B}/${long}` })), 400, 'KeyTooLongError');
  // Multi-delete (a delete marker per key): the over-long entry gets its own error, the others are deleted.
  await s3.send(new PutObjectCommand({ Bucket: VB, Key: 'victim', Body: 'v' }));
  const md = await s3.send(new DeleteObjectsCommand({ Bucket: VB, Delete: { Objects: [{ Key: 'x'.repeat(3000) }, { Key: 'victim' }] } }));
  assert.equal(md.Errors?.length, 1, JSON.stringify(md));
  assert.equal(md.Errors[0]!.Key, 'x'.repeat(3000));
  assert.deepEqual(md.Deleted?.map((d) => d.Key), ['victim']);
  await stillServes('multipart calls with over-long keys');
});

test('list parameters over 1024 bytes: 400, not 500', async () => {
  const p = 'p'.repeat(2000);
  await rejectsWith(s3.send(new ListObjectsV2Command({ Bucket: B, Prefix: p })), 400, 'KeyTooLongError');
  await rejectsWith(s3.send(new ListObjectsV2Command({ Bucket: B, StartAfter: p })), 400, 'KeyTooLongError');
  await rejectsWith(s3.send(new ListObjectsV2Command({ Bucket: B, ContinuationToken: Buffer.from(p).toString('base64url') })), 400, 'InvalidArgument');
  await rejectsWith(s3.send(new ListObjectsV2Command({ Bucket: B, Delimiter: p })), 400, 'InvalidArgument');
  await rejectsWith(s3.send(new ListObjectsCommand({ Bucket: B, Marker: p })), 400, 'KeyTooLongError');
  await rejectsWith(s3.send(new ListObjectVersionsCommand({ Bucket: VB, KeyMarker: p })), 400, 'KeyTooLongError');
  await rejectsWith(s3.send(new ListMultipartUploadsCommand({ Bucket: B, KeyMarker: p })), 400, 'KeyTooLongError');
  await rejectsWith(s3.send(new ListMultipartUploadsCommand({ Bucket: B, KeyMarker: 'a', UploadIdMarker: p })), 400, 'InvalidArgument');
  // The largest allowed prefix still lists.
  const r = await s3.send(new ListObjectsV2Command({ Bucket: B, Prefix: 'p'.repeat(1024) }));
  assert.equal(r.KeyCount, 0);
  await stillServes('over-long list parameters');
});

test('response-* overrides with CR/LF/NUL: 400 InvalidArgument, not 500', async () => {
  await s3.send(new PutObjectCommand({ Bucket: B, Key: 'small', Body: 'abc' }));
  for (const bad of ['text/html\r\nset-cookie: a=b', 'a\nb', 'a\0b']) {
    await rejectsWith(s3.send(new GetObjectCommand({ Bucket: B, Key: 'small', ResponseContentType: bad })), 400, 'InvalidArgument');
    await rejectsWith(s3.send(new GetObjectCommand({ Bucket: B, Key: 'small', ResponseContentDisposition: bad })), 400, 'InvalidArgument');
  }
  const ok = await s3.send(new GetObjectCommand({ Bucket: B, Key: 'small', ResponseContentType: 'text/plain; charset=utf-8' }));
  assert.equal(ok.ContentType, 'text/plain; charset=utf-8');
  await stillServes('response-* overrides with control characters');
});

test('XML bodies over limits.xml_body_bytes_max: 400 EntityTooLarge before parsing', async () => {
  const objects = Array.from({ length: 1000 }, (_, i) => ({ Key: `${'k'.repeat(100)}-${i}` }));
  await rejectsWith(s3.send(new DeleteObjectsCommand({ Bucket: B, Delete: { Objects: objects } })), 400, 'EntityTooLarge');
  const small = await s3.send(new DeleteObjectsCommand({ Bucket: B, Delete: { Objects: objects.slice(0, 10) } }));
  assert.equal(small.Deleted?.length, 10);
  await stillServes('an XML body over the limit');
});

/** Sends `head`, then `drip` every 200 ms without ever ending its side (half-open allowed, as an
 *  attacker would); resolves with what came back and how long until the server closed (or null). */
function trickle(port: number, head: string, drip: string, ms: number): Promise<{ text: string; closedAfterMs: number | null }> {
  return new Promise((resolve) => {
    const started = Date.now();
    const s = connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    let text = '';
    const timer = setInterval(() => s.writable && s.write(drip), 200);
    const done = (closed: boolean) => {
      clearInterval(timer);
      clearTimeout(deadline);
      s.destroy();
      resolve({ text, closedAfterMs: closed ? Date.now() - started : null });
    };
    const deadline = setTimeout(() => done(false), ms);
    s.on('data', (b) => (text += b.toString('latin1')));
    s.on('error', () => done(true));
    s.on('close', () => done(true));
    s.write(head);
  });
}

test('an anonymous PUT declaring a 10^12-byte body gets its error and the connection closes', async () => {
  const port = Number(new URL(node.s3Url).port);
  const head = `PUT /${B}/huge HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000000000000\r\n\r\n0123456789`;
  const r = await trickle(port, head, '0123456789', 9000);
  assert.match(r.text, /^HTTP\/1\.1 403 /, r.text);
  assert.match(r.text, /\r\nconnection: close\r\n/i, r.text);
  assert.ok(r.closedAfterMs !== null, 'the server kept reading a 10^12-byte body for 9 s');
  await stillServes('a huge anonymous PUT');
});

test('metadata and data directories are 0700, their files 0600 (fixed on start)', async () => {
  const meta = join(node.dir, 'meta');
  const data = join(node.dir, 'data');
  const mode = (p: string) => statSync(p).mode & 0o777;
  // startNode created both directories with the default mode (0755 under a 022 umask) before the start.
  assert.equal(mode(meta).toString(8), '700');
  assert.equal(mode(data).toString(8), '700');
  const files = readdirSync(meta, { withFileTypes: true }).filter((d) => d.isFile());
  assert.ok(files.some((f) => f.name === 'data.mdb'), `no LMDB file in ${meta}: ${files.map((f) => f.name)}`);
  for (const f of files) assert.equal(mode(join(meta, f.name)).toString(8), '600', `${f.name} is readable by others`);
  assert.match(node.output(), /permissions/i, 'no warning about the fixed modes');
  // Object data (above the inline threshold) lands in block files that only the node may read.
  await s3.send(new PutObjectCommand({ Bucket: B, Key: 'blocky', Body: Buffer.alloc(64 * 1024, 7) }));
  const blocks = (readdirSync(data, { recursive: true, withFileTypes: true }) as import('node:fs').Dirent[]).filter((d) => d.isFile() && /^[0-9a-f]{64}/.test(d.name));
  assert.ok(blocks.length > 0, 'no block file written');
  for (const f of blocks) assert.equal(mode(join(f.parentPath, f.name)).toString(8), '600', `block ${f.name}`);
  await stillServes('the file mode check');
});
