// SSE-C pinned rule by rule: header parsing and the key MD5, TLS only unless allowed, and the
// handlers (PutObject, GET/HEAD with ranges, multipart with per-part keys, CopyObject and
// UploadPartCopy between keys) over a real Store; the plaintext never reaches the data dir.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { S3Error } from './errors.ts';
import { customerKey, requireSecure } from './sse-c.ts';
import { requestOrigin } from './forwarded.ts';
import type { Handler } from './context.ts';
import { CopyObject, GetObject, HeadObject, PutObject } from './ops/object.ts';
import { CompleteMultipartUpload, CreateMultipartUpload, UploadPart, UploadPartCopy } from './ops/multipart.ts';
import { childText } from './xml.ts';
import { fakeCtx, pseudoRandom, testEnv, type FakeRequest, type TestEnv } from './ops/test-ctx.ts';
import type { Bucket } from '../../model/bucket.ts';
import { cipherAt, cryptSlice } from '../../model/sse-c-cipher.ts';

const KEY_A = 'pO3upElrwuEXSoFwCfnZPdSsmt/xWeFa0N9KgDijwVs=';
const MD5_A = 'DWygnHRtgiJ77HCm+1rvHw==';
const KEY_B = '6b+WOZ1T3cqZMxgThRcXAQBrS5mXKdDUphvpxptl9/4=';
const MD5_B = 'arxBvwY2V4SiOne6yppVPQ==';
const H = 'x-amz-server-side-encryption-customer-';
const C = 'x-amz-copy-source-server-side-encryption-customer-';
const sse = (key = KEY_A, md5 = MD5_A, p = H) => ({ [`${p}algorithm`]: 'AES256', [`${p}key`]: key, [`${p}key-md5`]: md5 });
const MiB = 1024 * 1024;
const MARKER = Buffer.from('GRENIER-SSE-C-PLAINTEXT-MARKER-7f3a');

function s3Error(code: string, status = 400) {
  return (e: unknown) => {
    assert.ok(e instanceof S3Error, String(e));
    assert.equal(e.code, code, e.message);
    assert.equal(e.status, status);
    return true;
  };
}

async function call(env: TestEnv, h: Handler, r: FakeRequest) {
  const { ctx, res } = fakeCtx(env, { settings: { sseCOverHttp: true }, ...r });
  await h(ctx);
  assert.ok(res.ended);
  return res;
}

/** A body made of copies of MARKER, so a stray plaintext block is easy to find on disk. */
function markerBody(size: number): Buffer {
  const b = Buffer.alloc(size);
  for (let i = 0; i < size; i += MARKER.length) MARKER.copy(b, i);
  return b;
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).map((f) => join(dir, f)).filter((f) => statSync(f).isFile());
}

test('customerKey: AES256, a base64 32-byte key and its MD5, all three or none; copy-source twins', () => {
  assert.equal(customerKey({}), undefined);
  const k = customerKey(sse())!;
  assert.equal(k.md5, MD5_A);
  assert.equal(k.key.length, 32);
  assert.equal(customerKey(sse(KEY_B, MD5_B, C), true)!.md5, MD5_B);
  assert.equal(customerKey(sse(KEY_B, MD5_B, C)), undefined, 'copy-source headers are not the destination key');
  assert.throws(() => customerKey(sse(KEY_A, 'AAAAAAAAAAAAAAAAAAAAAA==')), s3Error('InvalidArgument'));
  assert.throws(() => customerKey(sse(KEY_A, MD5_B)), s3Error('InvalidArgument'));
  assert.throws(() => customerKey({ [`${H}algorithm`]: 'AES256', [`${H}key`]: KEY_A }), s3Error('InvalidArgument'));
  assert.throws(() => customerKey({ [`${H}algorithm`]: 'AES256' }), s3Error('InvalidArgument'));
  assert.throws(() => customerKey({ [`${H}key`]: KEY_A, [`${H}key-md5`]: MD5_A }), s3Error('InvalidArgument'));
  assert.throws(() => customerKey({ ...sse(), [`${H}algorithm`]: 'AES192' }), s3Error('InvalidEncryptionAlgorithmError'));
  // Not with SSE-S3/KMS at once (s3-tests test_put_obj_enc_conflict_c_s3).
  assert.throws(() => customerKey({ ...sse(), 'x-amz-server-side-encryption': 'AES256' }), s3Error('InvalidArgument'));
  const short = Buffer.alloc(16, 1).toString('base64');
  assert.throws(() => customerKey(sse(short, createHash('md5').update(Buffer.alloc(16, 1)).digest('base64'))), s3Error('InvalidArgument'));
  assert.throws(() => customerKey(sse('x'.repeat(10_000), MD5_A)), s3Error('InvalidArgument'));
  // 24 characters but more bytes: refused as a mismatch, not a RangeError (a 500).
  assert.throws(() => customerKey(sse(KEY_A, 'é'.repeat(24))), s3Error('InvalidArgument'));
});

test('cipher: CTR from any offset equals the whole-stream keystream there (block and part boundaries)', () => {
  const key = Buffer.alloc(32, 7);
  const nonce = Buffer.alloc(12, 9);
  const plain = pseudoRandom(1000, 3);
  const whole = cipherAt(key, nonce, 0).update(plain);
  assert.notDeepEqual(whole, plain);
  for (const off of [0, 1, 15, 16, 17, 500, 999]) assert.deepEqual(cipherAt(key, nonce, off).update(plain.subarray(off)), whole.subarray(off), `offset ${off}`);
  assert.deepEqual(cryptSlice(whole, 33, 77, key, nonce), plain.subarray(33, 77));
  // Past 2^32 AES blocks (64 GiB) the counter carries into the nonce as the stream's own did.
  const edge = 16 * (2 ** 32 - 1);
  const stream = cipherAt(key, nonce, edge).update(Buffer.alloc(48));
  assert.deepEqual(cipherAt(key, nonce, edge + 16).update(Buffer.alloc(32)), stream.subarray(16));
  assert.deepEqual(cipherAt(key, nonce, edge + 21).update(Buffer.alloc(20)), stream.subarray(21, 41));
});

test('SSE-C needs TLS unless s3_api.sse_c_over_http; a TLS socket counts as secure', async () => {
  const env = await testEnv();
  try {
    const plainHttp = fakeCtx(env, { headers: sse() }).ctx;
    assert.throws(() => requireSecure(plainHttp), (e: unknown) => e instanceof S3Error && e.code === 'InvalidRequest' && /secure connection/.test(e.message));
    requireSecure(fakeCtx(env, { headers: sse(), settings: { sseCOverHttp: true } }).ctx);
    const tls = fakeCtx(env, { headers: sse() }).ctx;
    Object.defineProperty(tls.req, 'socket', { value: { encrypted: true, remoteAddress: '::ffff:192.0.2.7' } });
    requireSecure(tls);
    assert.deepEqual(requestOrigin(tls.req), { secure: true, clientIp: '192.0.2.7' });
    // The refusal comes before any byte is stored.
    const b = await env.bucket('bkt');
    const { ctx } = fakeCtx(env, { method: 'PUT', bucket: b, bucketName: 'bkt', key: 'k', headers: { ...sse(), 'content-length': '3' }, body: 'abc' });
    await assert.rejects(PutObject(ctx), s3Error('InvalidRequest'));
    assert.equal(await env.store.objects.get(b.id, 'k'), undefined);
  } finally {
    await env.close();
  }
});

async function put(env: TestEnv, b: Bucket, key: string, body: Buffer, headers: Record<string, string> = {}) {
  return call(env, PutObject, { method: 'PUT', bucket: b, bucketName: 'bkt', key, headers: { 'content-length': String(body.length), ...headers }, body });
}
async function get(env: TestEnv, b: Bucket, key: string, headers: Record<string, string> = {}, query: Record<string, string> = {}) {
  return call(env, GetObject, { method: 'GET', bucket: b, bucketName: 'bkt', key, headers, query });
}

test('PutObject/GetObject/HeadObject: encrypted at rest (inline and blocks), read back only with the key, ranges across blocks', async () => {
  const env = await testEnv({ blockSize: 64 * 1024 });
  try {
    const b = await env.bucket('bkt');
    const small = markerBody(1000);
    const large = markerBody(300 * 1024 + 5); // 5 blocks: the block list goes to the version table
    for (const [key, data] of [['small', small], ['large', large]] as const) {
      const r = await put(env, b, key, data, sse());
      assert.equal(r.header(`${H}algorithm`), 'AES256');
      assert.equal(r.header(`${H}key-md5`), MD5_A);
      // Not the plaintext MD5 (sse-c-etag.test.ts): anyone who may list could check a guess.
      assert.match(r.header('etag')!, /^"[0-9a-f]{32}"$/);
      assert.notEqual(r.header('etag'), `"${createHash('md5').update(data).digest('hex')}"`);
      const g = await get(env, b, key, sse());
      assert.equal(g.status, 200);
      assert.deepEqual(g.body, data);
      assert.equal(g.header(`${H}key-md5`), MD5_A);
      for (const [s, e] of [[0, 0], [5, 99], [64 * 1024 - 3, 64 * 1024 + 40], [data.length - 17, data.length - 1]]) {
        if (e >= data.length) continue;
        const rg = await get(env, b, key, { ...sse(), range: `bytes=${s}-${e}` });
        assert.equal(rg.status, 206);
        assert.deepEqual(rg.body, data.subarray(s, e + 1), `${key} ${s}-${e}`);
      }
      const h = await call(env, HeadObject, { method: 'HEAD', bucket: b, bucketName: 'bkt', key, headers: sse() });
      assert.equal(h.status, 200);
      assert.equal(h.header('content-length'), String(data.length));
      assert.equal(h.header(`${H}algorithm`), 'AES256');
      // Without the key: 400 InvalidRequest (GET and HEAD); another key: 400 too (as s3-tests pin).
      await assert.rejects(get(env, b, key), s3Error('InvalidRequest'));
      await assert.rejects(call(env, HeadObject, { method: 'HEAD', bucket: b, bucketName: 'bkt', key }), s3Error('InvalidRequest'));
      await assert.rejects(get(env, b, key, sse(KEY_B, MD5_B)), s3Error('InvalidRequest'));
    }
    const o = await env.store.objects.get(b.id, 'small');
    const v = o!.versions[0]!;
    assert.ok(v.inline && !v.inline.equals(small), 'the inline bytes are ciphertext');
    assert.ok(v.ssec && v.ssec.iv?.length === 12 && v.ssec.mac.length === 32);
    // The key is nowhere in the version: only the salted MAC.
    const packed = JSON.stringify(v);
    assert.ok(!packed.includes(KEY_A));
    // A plain object read with key headers: 400.
    await put(env, b, 'plain', Buffer.from('hello'));
    await assert.rejects(get(env, b, 'plain', sse()), s3Error('InvalidRequest'));
    assert.equal((await get(env, b, 'plain')).text(), 'hello');
    // No block file and no metadata file holds the plaintext marker (only 'plain' is in clear, and it has none).
    for (const f of filesUnder(env.dir)) assert.ok(!readFileSync(f).includes(MARKER), `plaintext found in ${f}`);
  } finally {
    await env.close();
  }
});

async function mpuCreate(env: TestEnv, b: Bucket, key: string, headers: Record<string, string>) {
  const r = await call(env, CreateMultipartUpload, { method: 'POST', bucket: b, bucketName: 'bkt', key, query: { uploads: '' }, headers });
  return { uploadId: childText(r.xml(), 'UploadId')!, res: r };
}
async function mpuPart(env: TestEnv, b: Bucket, key: string, uploadId: string, n: number, data: Buffer, headers: Record<string, string>) {
  return call(env, UploadPart, { method: 'PUT', bucket: b, bucketName: 'bkt', key, query: { uploadId, partNumber: String(n) }, headers: { 'content-length': String(data.length), ...headers }, body: data });
}
async function mpuComplete(env: TestEnv, b: Bucket, key: string, uploadId: string, etags: string[], headers: Record<string, string>) {
  const xml = `<CompleteMultipartUpload>${etags.map((e, i) => `<Part><PartNumber>${i + 1}</PartNumber><ETag>${e}</ETag></Part>`).join('')}</CompleteMultipartUpload>`;
  return call(env, CompleteMultipartUpload, { method: 'POST', bucket: b, bucketName: 'bkt', key, query: { uploadId }, body: xml, headers });
}

test('multipart: each part must bring the upload key; parts get their own nonce; whole, range across parts and partNumber reads', async () => {
  const env = await testEnv({ blockSize: 1024 * 1024 });
  try {
    const b = await env.bucket('bkt');
    const { uploadId, res } = await mpuCreate(env, b, 'mp', sse());
    assert.equal(res.header(`${H}key-md5`), MD5_A);
    const p1 = markerBody(5 * MiB + 7); // unaligned: part 2's stream starts mid AES block of the object
    const p2 = pseudoRandom(100_000, 5);
    await assert.rejects(mpuPart(env, b, 'mp', uploadId, 1, p1, {}), s3Error('InvalidRequest'));
    await assert.rejects(mpuPart(env, b, 'mp', uploadId, 1, p1, sse(KEY_B, MD5_B)), s3Error('InvalidRequest'));
    await assert.rejects(mpuPart(env, b, 'mp', uploadId, 1, p1, sse(KEY_A, MD5_B)), s3Error('InvalidArgument'));
    const r1 = await mpuPart(env, b, 'mp', uploadId, 1, p1, sse());
    assert.equal(r1.header(`${H}key-md5`), MD5_A);
    const r2 = await mpuPart(env, b, 'mp', uploadId, 2, p2, sse());
    const etags = [r1.header('etag')!, r2.header('etag')!];
    // Complete too needs the upload's key (s3-tests test_copy_part_enc), and echoes it.
    await assert.rejects(mpuComplete(env, b, 'mp', uploadId, etags, {}), s3Error('InvalidRequest'));
    await assert.rejects(mpuComplete(env, b, 'mp', uploadId, etags, sse(KEY_B, MD5_B)), s3Error('InvalidRequest'));
    const done = await mpuComplete(env, b, 'mp', uploadId, etags, sse());
    assert.equal(done.header(`${H}key-md5`), MD5_A);
    const all = Buffer.concat([p1, p2]);
    const g = await get(env, b, 'mp', sse());
    assert.deepEqual(g.body, all);
    const cross = await get(env, b, 'mp', { ...sse(), range: `bytes=${p1.length - 10}-${p1.length + 10}` });
    assert.deepEqual(cross.body, all.subarray(p1.length - 10, p1.length + 11));
    const second = await get(env, b, 'mp', sse(), { partNumber: '2' });
    assert.deepEqual(second.body, p2);
    // A part past the end is InvalidPart, key or not (s3-tests test_multipart_sse_c_get_part).
    await assert.rejects(get(env, b, 'mp', {}, { partNumber: '3' }), s3Error('InvalidPart'));
    await assert.rejects(get(env, b, 'mp'), s3Error('InvalidRequest'));
    await assert.rejects(get(env, b, 'mp', sse(KEY_B, MD5_B)), s3Error('InvalidRequest'));
    // A plain upload refuses a part that names a key.
    const plain = await mpuCreate(env, b, 'mp2', {});
    await assert.rejects(mpuPart(env, b, 'mp2', plain.uploadId, 1, p2, sse()), s3Error('InvalidRequest'));
    for (const f of filesUnder(env.dir)) assert.ok(!readFileSync(f).includes(MARKER), `plaintext found in ${f}`);
  } finally {
    await env.close();
  }
});

test('CopyObject and UploadPartCopy: source key checked, the copy takes its own key (or none)', async () => {
  const env = await testEnv({ blockSize: 64 * 1024 });
  try {
    const b = await env.bucket('bkt');
    for (const [name, data] of [['inline', markerBody(900)], ['blocks', markerBody(200 * 1024 + 3)]] as const) {
      await put(env, b, name, data, sse());
      const copy = (dst: string, headers: Record<string, string>) =>
        call(env, CopyObject, { method: 'PUT', bucket: b, bucketName: 'bkt', key: dst, headers: { 'x-amz-copy-source': `bkt/${name}`, ...headers } });
      await assert.rejects(copy(`${name}-x`, {}), s3Error('InvalidRequest'));
      await assert.rejects(copy(`${name}-x`, sse(KEY_B, MD5_B, C)), s3Error('InvalidRequest'));
      // New key B: readable with B only.
      const r = await copy(`${name}-b`, { ...sse(KEY_A, MD5_A, C), ...sse(KEY_B, MD5_B) });
      assert.equal(r.header(`${H}key-md5`), MD5_B);
      assert.deepEqual((await get(env, b, `${name}-b`, sse(KEY_B, MD5_B))).body, data);
      await assert.rejects(get(env, b, `${name}-b`, sse()), s3Error('InvalidRequest'));
      // Same key: shares the bytes; still needs the key.
      await copy(`${name}-a`, { ...sse(KEY_A, MD5_A, C), ...sse() });
      assert.deepEqual((await get(env, b, `${name}-a`, sse())).body, data);
      // Decrypted copy, then encrypted again from plain.
      await copy(`${name}-plain`, sse(KEY_A, MD5_A, C));
      assert.deepEqual((await get(env, b, `${name}-plain`)).body, data);
      await call(env, CopyObject, { method: 'PUT', bucket: b, bucketName: 'bkt', key: `${name}-again`, headers: { 'x-amz-copy-source': `bkt/${name}-plain`, ...sse(KEY_B, MD5_B) } });
      assert.deepEqual((await get(env, b, `${name}-again`, sse(KEY_B, MD5_B))).body, data);
      await assert.rejects(get(env, b, `${name}-again`), s3Error('InvalidRequest'));
    }
    // UploadPartCopy from an A object into a B upload.
    const src = pseudoRandom(150 * 1024, 11);
    await put(env, b, 'src', src, sse());
    const { uploadId } = await mpuCreate(env, b, 'dst', sse(KEY_B, MD5_B));
    const pc = (headers: Record<string, string>) =>
      call(env, UploadPartCopy, { method: 'PUT', bucket: b, bucketName: 'bkt', key: 'dst', query: { uploadId, partNumber: '1' }, headers: { 'x-amz-copy-source': 'bkt/src', ...headers } });
    await assert.rejects(pc(sse(KEY_B, MD5_B)), s3Error('InvalidRequest'));
    await assert.rejects(pc(sse(KEY_A, MD5_A, C)), s3Error('InvalidRequest'));
    const r = await pc({ ...sse(KEY_A, MD5_A, C), ...sse(KEY_B, MD5_B) });
    await mpuComplete(env, b, 'dst', uploadId, [childText(r.xml(), 'ETag')!], sse(KEY_B, MD5_B));
    assert.deepEqual((await get(env, b, 'dst', sse(KEY_B, MD5_B))).body, src);
    // (No disk check here: the decrypted copies are in clear on purpose.)
  } finally {
    await env.close();
  }
});
