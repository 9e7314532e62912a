// One part number uploaded twice, the first upload finishing last (s3-tests
// test_multipart_resend_first_finishes_last): ListParts shows the part once, the one that finished
// last, and a Complete that names both uploads of it (ascending, the later last) uses that one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { children, childText } from '../xml.ts';
import { CompleteMultipartUpload, CreateMultipartUpload, ListParts, UploadPart } from './multipart.ts';
import { liveVersion } from '../../../model/object.ts';
import { fakeCtx, readAll, testEnv, type TestEnv } from './test-ctx.ts';
import type { Bucket } from '../../../model/bucket.ts';
import { S3Error } from '../errors.ts';

const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');

async function uploadPart(env: TestEnv, b: Bucket, uploadId: string, size: number, body: Buffer | AsyncIterable<Buffer>, n = 1): Promise<string> {
  const { ctx, res } = fakeCtx(env, { method: 'PUT', bucket: b, bucketName: 'bkt', key: 'mp', query: { uploadId, partNumber: String(n) }, headers: { 'content-length': String(size) }, body });
  await UploadPart(ctx);
  return String(res.headers['etag']).replace(/"/g, '');
}

async function complete(env: TestEnv, b: Bucket, uploadId: string, parts: [number, string][]) {
  const xml = `<CompleteMultipartUpload>${parts.map(([n, e]) => `<Part><PartNumber>${n}</PartNumber><ETag>"${e}"</ETag></Part>`).join('')}</CompleteMultipartUpload>`;
  const { ctx, res } = fakeCtx(env, { method: 'POST', bucket: b, bucketName: 'bkt', key: 'mp', query: { uploadId }, body: xml });
  await CompleteMultipartUpload(ctx);
  return res;
}

test('multipart: part 1 sent twice, the first upload finishing last: listed once, and Complete naming both uses the last finished', async () => {
  const env = await testEnv();
  try {
    const b = await env.bucket('bkt');
    const { ctx, res } = fakeCtx(env, { method: 'POST', bucket: b, bucketName: 'bkt', key: 'mp', query: { uploads: '' } });
    await CreateMultipartUpload(ctx);
    const uploadId = childText(res.xml(), 'UploadId')!;
    const etags: string[] = [];
    // A's body: half, then a whole upload of part 1 with B (it finishes first), then the rest.
    async function* bodyA(): AsyncGenerator<Buffer> {
      yield Buffer.from('AAAA');
      etags.push(await uploadPart(env, b, uploadId, 8, Buffer.from('BBBBBBBB')));
      yield Buffer.from('AAAA');
    }
    etags.push(await uploadPart(env, b, uploadId, 8, bodyA()));
    assert.deepEqual(etags, [md5(Buffer.from('BBBBBBBB')), md5(Buffer.from('AAAAAAAA'))]);

    const l = fakeCtx(env, { method: 'GET', bucket: b, bucketName: 'bkt', key: 'mp', query: { uploadId } });
    await ListParts(l.ctx);
    const listed = children(l.res.xml(), 'Part').map((p) => `${childText(p, 'PartNumber')} ${childText(p, 'ETag')}`);
    assert.deepEqual(listed, [`1 "${etags[1]}"`]);

    // As the suite sends it: both uploads of part 1, in the order their answers came.
    const done = await complete(env, b, uploadId, [[1, etags[0]!], [1, etags[1]!]]);
    assert.equal(done.status, 200);
    const v = liveVersion((await env.store.objects.get(b.id, 'mp'))!)!;
    assert.equal(v.meta?.size, 8);
    assert.deepEqual(await readAll(await env.store.readData(v, 0, 8)), Buffer.from('AAAAAAAA'));
  } finally {
    await env.close();
  }
});

test('multipart Complete: a part number lower than the one before is still InvalidPartOrder; a repeated one whose last ETag is stale is InvalidPart', async () => {
  const env = await testEnv();
  try {
    const b = await env.bucket('bkt');
    const { ctx, res } = fakeCtx(env, { method: 'POST', bucket: b, bucketName: 'bkt', key: 'mp', query: { uploads: '' } });
    await CreateMultipartUpload(ctx);
    const uploadId = childText(res.xml(), 'UploadId')!;
    const first = await uploadPart(env, b, uploadId, 8, Buffer.from('BBBBBBBB'));
    const second = await uploadPart(env, b, uploadId, 8, Buffer.from('AAAAAAAA'));
    const two = await uploadPart(env, b, uploadId, 8, Buffer.from('22222222'), 2);
    const code = (c: string) => (e: unknown) => e instanceof S3Error && e.code === c;
    await assert.rejects(complete(env, b, uploadId, [[2, two], [1, second]]), code('InvalidPartOrder'));
    await assert.rejects(complete(env, b, uploadId, [[1, second], [2, two], [1, second]]), code('InvalidPartOrder'));
    await assert.rejects(complete(env, b, uploadId, [[1, second], [1, first]]), code('InvalidPart'));
  } finally {
    await env.close();
  }
});
