// SSE-C ETags are not the MD5 of the plaintext (AWS: "encrypted by SSE-C or SSE-KMS, have ETags
// that are not an MD5 digest of their object data"): anyone who may list the bucket, key or not,
// would otherwise confirm a guess of the content. They stay what clients rely on: one value per
// version on PUT, HEAD, GET, listings and If-Match; 32 hex digits for parts, so a multipart ETag
// is built from them; the same for the same bytes and key (a re-sent part gets the same one).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { Handler } from './context.ts';
import { CopyObject, GetObject, HeadObject, PutObject } from './ops/object.ts';
import { CompleteMultipartUpload, CreateMultipartUpload, UploadPart, UploadPartCopy } from './ops/multipart.ts';
import { ListObjectsV2 } from './ops/list.ts';
import { children, childText } from './xml.ts';
import { fakeCtx, pseudoRandom, testEnv, type FakeRequest, type TestEnv } from './ops/test-ctx.ts';
import type { Bucket } from '../../model/bucket.ts';

const KEY_A = 'pO3upElrwuEXSoFwCfnZPdSsmt/xWeFa0N9KgDijwVs=';
const MD5_A = 'DWygnHRtgiJ77HCm+1rvHw==';
const KEY_B = '6b+WOZ1T3cqZMxgThRcXAQBrS5mXKdDUphvpxptl9/4=';
const MD5_B = 'arxBvwY2V4SiOne6yppVPQ==';
const H = 'x-amz-server-side-encryption-customer-';
const C = 'x-amz-copy-source-server-side-encryption-customer-';
const sse = (key = KEY_A, md5 = MD5_A, p = H) => ({ [`${p}algorithm`]: 'AES256', [`${p}key`]: key, [`${p}key-md5`]: md5 });
const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');
const q = (hex: string) => `"${hex}"`;

async function call(env: TestEnv, h: Handler, r: FakeRequest) {
  const { ctx, res } = fakeCtx(env, { settings: { sseCOverHttp: true }, ...r });
  await h(ctx);
  assert.ok(res.ended);
  return res;
}
const at = (b: Bucket, key: string) => ({ bucket: b, bucketName: 'bkt', key });
const put = (env: TestEnv, b: Bucket, key: string, body: Buffer, headers: Record<string, string> = {}) =>
  call(env, PutObject, { ...at(b, key), method: 'PUT', headers: { 'content-length': String(body.length), ...headers }, body });

async function listed(env: TestEnv, b: Bucket): Promise<Map<string, string>> {
  const r = await call(env, ListObjectsV2, { bucket: b, bucketName: 'bkt', query: { 'list-type': '2' } });
  return new Map(children(r.xml(), 'Contents').map((c) => [childText(c, 'Key')!, childText(c, 'ETag')!]));
}

test('PutObject with SSE-C: the ETag is not the plaintext MD5, and the same everywhere; plain objects keep their MD5', async () => {
  const env = await testEnv({ blockSize: 64 * 1024 });
  try {
    const b = await env.bucket('bkt');
    for (const [key, data] of [['small', pseudoRandom(900, 1)], ['large', pseudoRandom(200 * 1024 + 7, 2)]] as const) {
      const etag = (await put(env, b, key, data, sse())).header('etag')!;
      assert.match(etag, /^"[0-9a-f]{32}"$/);
      assert.notEqual(etag, q(md5(data)), `${key}: SSE-C ETag is the plaintext MD5`);
      assert.equal((await call(env, HeadObject, { ...at(b, key), method: 'HEAD', headers: sse() })).header('etag'), etag);
      assert.equal((await call(env, GetObject, { ...at(b, key), headers: sse() })).header('etag'), etag);
      assert.equal((await listed(env, b)).get(key), etag, 'listing (no key needed) shows the same ETag');
      // If-Match with the ETag the client was given works.
      assert.equal((await put(env, b, key, data, { ...sse(), 'if-match': etag })).status, 200);
      // Same bytes, same key: the same ETag; another key: another.
      assert.equal((await put(env, b, `${key}-again`, data, sse())).header('etag'), etag);
      assert.notEqual((await put(env, b, `${key}-b`, data, sse(KEY_B, MD5_B))).header('etag'), etag);
      assert.equal((await put(env, b, `${key}-plain`, data)).header('etag'), q(md5(data)));
      // Content-MD5 is still the MD5 of the bytes sent (checked on the plaintext).
      const contentMd5 = createHash('md5').update(data).digest('base64');
      assert.equal((await put(env, b, `${key}-md5`, data, { ...sse(), 'content-md5': contentMd5 })).header('etag'), etag);
      await assert.rejects(put(env, b, `${key}-md5`, data, { ...sse(), 'content-md5': createHash('md5').update('other').digest('base64') }), (e: Error & { code?: string }) => e.code === 'BadDigest');
    }
  } finally {
    await env.close();
  }
});

test('SSE-C multipart: part ETags are not the parts MD5s, nor is the object one MD5-of-MD5s; a re-sent part gets the same ETag', async () => {
  const env = await testEnv({ blockSize: 64 * 1024 });
  try {
    const b = await env.bucket('bkt');
    const created = await call(env, CreateMultipartUpload, { ...at(b, 'mp'), method: 'POST', query: { uploads: '' }, headers: sse() });
    const uploadId = childText(created.xml(), 'UploadId')!;
    const p1 = pseudoRandom(5 * 1024 * 1024, 3);
    const p2 = pseudoRandom(1000, 4);
    const part = (n: number, data: Buffer) =>
      call(env, UploadPart, { ...at(b, 'mp'), method: 'PUT', query: { uploadId, partNumber: String(n) }, headers: { 'content-length': String(data.length), ...sse() }, body: data });
    const e1 = (await part(1, p1)).header('etag')!;
    assert.equal((await part(1, p1)).header('etag'), e1, 'the same part again: the same ETag');
    const e2 = (await part(2, p2)).header('etag')!;
    assert.notEqual(e1, q(md5(p1)));
    assert.notEqual(e2, q(md5(p2)));
    assert.match(e1, /^"[0-9a-f]{32}"$/);
    const xml = `<CompleteMultipartUpload>${[e1, e2].map((e, i) => `<Part><PartNumber>${i + 1}</PartNumber><ETag>${e}</ETag></Part>`).join('')}</CompleteMultipartUpload>`;
    const done = await call(env, CompleteMultipartUpload, { ...at(b, 'mp'), method: 'POST', query: { uploadId }, body: xml, headers: sse() });
    const etag = childText(done.xml(), 'ETag')!;
    const plainMpu = createHash('md5').update(Buffer.concat([Buffer.from(md5(p1), 'hex'), Buffer.from(md5(p2), 'hex')])).digest('hex') + '-2';
    assert.notEqual(etag, q(plainMpu));
    assert.match(etag, /^"[0-9a-f]{32}-2"$/);
    assert.equal((await listed(env, b)).get('mp'), etag);

    // UploadPartCopy from a plain object into an SSE-C upload: not the source's MD5 either.
    const src = pseudoRandom(3000, 5);
    await put(env, b, 'src', src);
    const up2 = childText((await call(env, CreateMultipartUpload, { ...at(b, 'mp2'), method: 'POST', query: { uploads: '' }, headers: sse(KEY_B, MD5_B) })).xml(), 'UploadId')!;
    const pc = await call(env, UploadPartCopy, { ...at(b, 'mp2'), method: 'PUT', query: { uploadId: up2, partNumber: '1' }, headers: { 'x-amz-copy-source': 'bkt/src', ...sse(KEY_B, MD5_B) } });
    const pce = childText(pc.xml(), 'ETag')!;
    assert.notEqual(pce, q(md5(src)));
    assert.match(pce, /^"[0-9a-f]{32}"$/);
  } finally {
    await env.close();
  }
});

test('CopyObject: to SSE-C the ETag is not the plaintext MD5; from SSE-C to plain it is the MD5 again; same key keeps the ETag', async () => {
  const env = await testEnv({ blockSize: 64 * 1024 });
  try {
    const b = await env.bucket('bkt');
    for (const [name, data] of [['inline', pseudoRandom(900, 6)], ['blocks', pseudoRandom(150 * 1024 + 1, 7)]] as const) {
      await put(env, b, `${name}-plain`, data);
      const copy = async (from: string, to: string, headers: Record<string, string>) => {
        const r = await call(env, CopyObject, { ...at(b, to), method: 'PUT', headers: { 'x-amz-copy-source': `bkt/${from}`, ...headers } });
        const etag = childText(r.xml(), 'ETag')!;
        assert.equal((await listed(env, b)).get(to), etag, `${to}: CopyObjectResult and listing agree`);
        return etag;
      };
      const enc = await copy(`${name}-plain`, `${name}-a`, sse());
      assert.notEqual(enc, q(md5(data)), 'plain -> SSE-C');
      assert.equal(enc, (await put(env, b, `${name}-put-a`, data, sse())).header('etag'), 'as a PUT of the same bytes with that key');
      assert.equal(await copy(`${name}-a`, `${name}-a2`, { ...sse(KEY_A, MD5_A, C), ...sse() }), enc, 'same key: same bytes, same ETag');
      const other = await copy(`${name}-a`, `${name}-b`, { ...sse(KEY_A, MD5_A, C), ...sse(KEY_B, MD5_B) });
      assert.notEqual(other, q(md5(data)), 'SSE-C A -> SSE-C B');
      assert.notEqual(other, enc);
      assert.equal(await copy(`${name}-a`, `${name}-clear`, sse(KEY_A, MD5_A, C)), q(md5(data)), 'SSE-C -> plain: the MD5 of the data, as any plain object');
    }
  } finally {
    await env.close();
  }
});
