// GET/HEAD ?partNumber=N (s3-tests test_multipart_get_part, test_multipart_single_get_part): the
// part's bytes with 206 and x-amz-mp-parts-count, 400 InvalidPart past the last part, 404 before
// Complete; a plain object is its own part 1.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Handler } from '../context.ts';
import { childText } from '../xml.ts';
import { CompleteMultipartUpload, CreateMultipartUpload, UploadPart } from './multipart.ts';
import { GetObject, HeadObject, PutObject } from './object.ts';
import { partRangeOf, parsePartNumber } from './part-number.ts';
import { fakeCtx, pseudoRandom, testEnv, type FakeRequest, type TestEnv } from './test-ctx.ts';

/** Runs a handler; the fake response also takes what Store.sendData uses (write callbacks, once). */
async function call(env: TestEnv, h: Handler, r: FakeRequest) {
  const { ctx, res } = fakeCtx(env, r);
  const write = res.write.bind(res);
  Object.assign(res, {
    // A copy: sendData hands its pooled buffer to the next block once the write is done.
    write: (c: Buffer | string, cb?: (e?: Error) => void) => (write(Buffer.from(c)), cb?.(), true),
    once: () => res,
    destroy: (e?: Error) => {
      throw e ?? new Error('destroyed');
    },
  });
  await h(ctx);
  return res;
}

function rejectsCode(p: Promise<unknown>, code: string, status?: number) {
  return assert.rejects(p, (e: any) => {
    assert.equal(e.code, code, e.message);
    if (status !== undefined) assert.equal(e.status, status);
    return true;
  });
}

test('partRangeOf: offsets from the sorted block list; parsePartNumber bounds', () => {
  const h = Buffer.alloc(32);
  const blocks = [
    { part: 1, offset: 0, hash: h, size: 4 },
    { part: 1, offset: 4, hash: h, size: 4 },
    { part: 3, offset: 0, hash: h, size: 2 },
    { part: 7, offset: 0, hash: h, size: 5 },
  ];
  assert.deepEqual(partRangeOf(blocks, 1), { start: 0, end: 8, count: 3 });
  assert.deepEqual(partRangeOf(blocks, 3), { start: 8, end: 10, count: 3 });
  assert.deepEqual(partRangeOf(blocks, 7), { start: 10, end: 15, count: 3 });
  assert.equal(partRangeOf(blocks, 2), undefined);
  assert.equal(parsePartNumber('10000'), 10000);
  for (const bad of ['0', '10001', '-1', '1.5', 'x', '', '000000001']) assert.throws(() => parsePartNumber(bad), { code: 'InvalidArgument' }, bad);
});

test('GET/HEAD partNumber: each part of a multipart object, its count, errors past the end and before Complete', async () => {
  const env = await testEnv({ blockSize: 64 * 1024 });
  try {
    const b = await env.bucket('parts');
    const q = { method: 'PUT', bucket: b, bucketName: 'parts' } as const;
    const up = await call(env, CreateMultipartUpload, { ...q, method: 'POST', key: 'm', query: { uploads: '' } });
    const uploadId = childText(up.xml(), 'UploadId')!;
    const MiB = 1024 * 1024;
    const sizes = [5 * MiB, 5 * MiB, 100_000];
    const datas = sizes.map((s, i) => pseudoRandom(s, i + 1));
    const etags: string[] = [];
    for (let i = 0; i < sizes.length; i++) {
      const r = await call(env, UploadPart, { ...q, key: 'm', query: { uploadId, partNumber: String(i + 1) }, headers: { 'content-length': String(sizes[i]) }, body: datas[i]! });
      etags.push(r.header('etag')!);
    }
    await rejectsCode(call(env, GetObject, { ...q, method: 'GET', key: 'm', query: { partNumber: '1' } }), 'NoSuchKey');
    const xml = `<CompleteMultipartUpload>${etags.map((e, i) => `<Part><PartNumber>${i + 1}</PartNumber><ETag>${e}</ETag></Part>`).join('')}</CompleteMultipartUpload>`;
    const done = await call(env, CompleteMultipartUpload, { ...q, method: 'POST', key: 'm', query: { uploadId }, body: xml });
    const etag = childText(done.xml(), 'ETag');
    let offset = 0;
    for (let i = 0; i < sizes.length; i++) {
      const g = await call(env, GetObject, { ...q, method: 'GET', key: 'm', query: { partNumber: String(i + 1) } });
      assert.equal(g.status, 206);
      assert.equal(g.header('x-amz-mp-parts-count'), '3');
      assert.equal(g.header('etag'), etag);
      assert.equal(g.header('content-length'), String(sizes[i]));
      assert.equal(g.header('content-range'), `bytes ${offset}-${offset + sizes[i]! - 1}/${sizes.reduce((a, c) => a + c)}`);
      assert.ok(g.body.equals(datas[i]!), `part ${i + 1} bytes`);
      const h = await call(env, HeadObject, { ...q, method: 'HEAD', key: 'm', query: { partNumber: String(i + 1) } });
      assert.equal(h.header('x-amz-mp-parts-count'), '3');
      assert.equal(h.header('content-length'), String(sizes[i]));
      offset += sizes[i]!;
    }
    await rejectsCode(call(env, GetObject, { ...q, method: 'GET', key: 'm', query: { partNumber: '4' } }), 'InvalidPart', 400);
    await rejectsCode(call(env, GetObject, { ...q, method: 'GET', key: 'm', query: { partNumber: '1' }, headers: { range: 'bytes=0-1' } }), 'InvalidRequest', 400);
    await rejectsCode(call(env, GetObject, { ...q, method: 'GET', key: 'm', query: { partNumber: 'one' } }), 'InvalidArgument', 400);

    // A plain object: part 1 is the whole object (no parts count), part 2 does not exist.
    await call(env, PutObject, { ...q, key: 'p', headers: { 'content-length': '3' }, body: 'abc' });
    const p1 = await call(env, GetObject, { ...q, method: 'GET', key: 'p', query: { partNumber: '1' } });
    assert.equal(p1.text(), 'abc');
    assert.equal(p1.header('x-amz-mp-parts-count'), undefined);
    await rejectsCode(call(env, GetObject, { ...q, method: 'GET', key: 'p', query: { partNumber: '2' } }), 'InvalidPart', 400);
  } finally {
    await env.close();
  }
});
