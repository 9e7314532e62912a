// Multipart upload handlers driven end to end over a real Store: data, ETags, errors, listings
// and block refcounts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { crc32 } from 'node:zlib';
import type { Bucket } from '../../../model/bucket.ts';
import { liveVersion } from '../../../model/object.ts';
import { sha256 } from '../../../util/hash.ts';
import { S3Error } from '../errors.ts';
import { children, childText, type XmlElement } from '../xml.ts';
import type { Handler } from '../context.ts';
import {
  AbortMultipartUpload,
  CompleteMultipartUpload,
  CreateMultipartUpload,
  ListMultipartUploads,
  ListParts,
  UploadPart,
  UploadPartCopy,
} from './multipart.ts';
import { fakeCtx, pseudoRandom, readAll, slices, testEnv, type FakeRequest, type TestEnv } from './test-ctx.ts';

const MiB = 1024 * 1024;

function md5(b: Buffer): string {
  return createHash('md5').update(b).digest('hex');
}

async function call(env: TestEnv, h: Handler, r: FakeRequest) {
  const { ctx, res } = fakeCtx(env, r);
  await h(ctx);
  assert.ok(res.ended, 'handler must end the response');
  return res;
}

function rejectsWith(p: Promise<unknown>, code: string): Promise<void> {
  return assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof S3Error, `expected S3Error ${code}, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    return true;
  });
}

async function create(env: TestEnv, b: Bucket, key: string, headers: Record<string, string> = {}): Promise<string> {
  const res = await call(env, CreateMultipartUpload, { method: 'POST', bucket: b, bucketName: 'bkt', key, query: { uploads: '' }, headers });
  assert.equal(res.status, 200);
  const x = res.xml();
  assert.equal(x.name, 'InitiateMultipartUploadResult');
  assert.equal(childText(x, 'Key'), key);
  return childText(x, 'UploadId')!;
}

async function part(env: TestEnv, b: Bucket, key: string, uploadId: string, n: number | string, data: Buffer, headers: Record<string, string> = {}) {
  return call(env, UploadPart, {
    method: 'PUT',
    bucket: b,
    bucketName: 'bkt',
    key,
    query: { uploadId, partNumber: String(n) },
    headers: { 'content-length': String(data.length), ...headers },
    body: slices(data),
  });
}

function completeXml(parts: [number, string][], quote = true): string {
  const q = quote ? '"' : '';
  return `<CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${parts
    .map(([n, e]) => `<Part><ETag>${q}${e}${q}</ETag><PartNumber>${n}</PartNumber></Part>`)
    .join('')}</CompleteMultipartUpload>`;
}

function complete(env: TestEnv, b: Bucket, key: string, uploadId: string, body: string) {
  return call(env, CompleteMultipartUpload, { method: 'POST', bucket: b, bucketName: 'bkt', key, query: { uploadId }, body });
}

function blockHashes(data: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < data.length; i += MiB) out.push(sha256(data.subarray(i, i + MiB)));
  return out;
}

test('three parts out of order with a re-upload complete into the right bytes, ETag and refcounts', async () => {
  const env = await testEnv();
  try {
    const b = await env.bucket('bkt');
    const key = 'dir/big file.bin';
    const id = await create(env, b, key, { 'content-type': 'video/mp4', 'x-amz-meta-colour': 'blue' });
    const p1 = pseudoRandom(5 * MiB, 1);
    const p2old = pseudoRandom(6 * MiB, 99);
    const p2 = pseudoRandom(6 * MiB, 2);
    const p3 = Buffer.from([42]);

    const r2old = await part(env, b, key, id, 2, p2old);
    assert.equal(r2old.header('etag'), `"${md5(p2old)}"`);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(p3));
    const r3 = await part(env, b, key, id, 3, p3, { 'x-amz-checksum-crc32': crc.toString('base64') });
    assert.equal(r3.header('etag'), `"${md5(p3)}"`);
    assert.equal(r3.header('x-amz-checksum-crc32'), crc.toString('base64'), 'a checksum the client sent is echoed');
    await part(env, b, key, id, 1, p1);
    const r2 = await part(env, b, key, id, 2, p2);
    assert.equal(r2.header('etag'), `"${md5(p2)}"`);

    const old = blockHashes(p2old);
    for (const h of old) assert.equal(env.store.blocks.refcount(h), 0, 'the superseded part is released as soon as it is replaced');

    const lp = (await call(env, ListParts, { bucket: b, bucketName: 'bkt', key, query: { uploadId: id } })).xml();
    const listed = children(lp, 'Part').map((p) => [childText(p, 'PartNumber'), childText(p, 'ETag'), childText(p, 'Size')]);
    assert.deepEqual(listed, [
      ['1', `"${md5(p1)}"`, String(p1.length)],
      ['2', `"${md5(p2)}"`, String(p2.length)],
      ['3', `"${md5(p3)}"`, '1'],
    ]);

    // Quotes around ETags are optional.
    const res = await complete(env, b, key, id, completeXml([[1, md5(p1)], [2, `"${md5(p2)}"`], [3, md5(p3)]], false));
    assert.equal(res.status, 200);
    const x = res.xml();
    const expectedEtag =
      createHash('md5')
        .update(Buffer.concat([p1, p2, p3].map((p) => Buffer.from(md5(p), 'hex'))))
        .digest('hex') + '-3';
    assert.equal(childText(x, 'ETag'), `"${expectedEtag}"`);
    assert.equal(childText(x, 'Key'), key);
    assert.equal(childText(x, 'Bucket'), 'bkt');
    assert.equal(childText(x, 'Location'), 'http://localhost:3900/bkt/dir/big%20file.bin');
    assert.equal(res.header('x-amz-version-id'), undefined, 'no version id on an unversioned bucket');

    const v = liveVersion(await env.store.objects.get(b.id, key));
    assert.ok(v);
    assert.equal(v.uuid, id);
    assert.equal(v.multipart, true);
    assert.equal(v.meta?.etag, expectedEtag);
    assert.equal(v.meta?.size, p1.length + p2.length + 1);
    assert.deepEqual(
      v.meta?.headers.filter(([k]) => k === 'content-type' || k === 'x-amz-meta-colour'),
      [['content-type', 'video/mp4'], ['x-amz-meta-colour', 'blue']],
    );
    const all = Buffer.concat([p1, p2, p3]);
    const got = await readAll(await env.store.readData(v, 0, all.length));
    assert.ok(got.equals(all), 'object bytes are the parts in part order');
    const mid = await readAll(await env.store.readData(v, 5 * MiB - 3, 5 * MiB + 3));
    assert.ok(mid.equals(all.subarray(5 * MiB - 3, 5 * MiB + 3)), 'a range across the part boundary');

    for (const h of old) assert.equal(env.store.blocks.refcount(h), 0, 'superseded part blocks are released');
    for (const h of [...blockHashes(p1), ...blockHashes(p2), ...blockHashes(p3)]) assert.equal(env.store.blocks.refcount(h), 1, 'used blocks keep one reference');
    assert.deepEqual(env.store.counters.get(b.id), { objects: 1, bytes: all.length });

    // Completing again, or listing its parts, finds no upload.
    await rejectsWith(complete(env, b, key, id, completeXml([[1, md5(p1)]])), 'NoSuchUpload');
    await rejectsWith(call(env, ListParts, { bucket: b, key, query: { uploadId: id } }), 'NoSuchUpload');
    const lu = (await call(env, ListMultipartUploads, { bucket: b, bucketName: 'bkt', query: { uploads: '' } })).xml();
    assert.equal(children(lu, 'Upload').length, 0);
  } finally {
    await env.close();
  }
});

test('part number, upload id and completion list errors', async () => {
  const env = await testEnv();
  try {
    const b = await env.bucket('bkt');
    const other = await env.bucket('other');
    const id = await create(env, b, 'k');
    for (const n of ['0', '10001', 'abc', '-1', '1.5', '']) await rejectsWith(part(env, b, 'k', id, n, Buffer.from('x')), 'InvalidArgument');
    await rejectsWith(
      call(env, UploadPart, { bucket: b, key: 'k', query: { uploadId: id }, body: 'x' }),
      'InvalidArgument',
    );
    await rejectsWith(part(env, b, 'k', 'f'.repeat(32), 1, Buffer.from('x')), 'NoSuchUpload');
    await rejectsWith(part(env, b, 'k', '../../etc', 1, Buffer.from('x')), 'NoSuchUpload');
    await rejectsWith(part(env, b, 'other-key', id, 1, Buffer.from('x')), 'NoSuchUpload');
    await rejectsWith(part(env, other, 'k', id, 1, Buffer.from('x')), 'NoSuchUpload');

    const a = pseudoRandom(5 * MiB, 7);
    const small = Buffer.from('small');
    const empty = Buffer.alloc(0);
    await part(env, b, 'k', id, 1, a);
    await part(env, b, 'k', id, 2, small);
    await part(env, b, 'k', id, 3, small);
    const r4 = await part(env, b, 'k', id, 4, empty);
    assert.equal(r4.header('etag'), `"${md5(empty)}"`, 'zero-byte parts are accepted');

    await rejectsWith(complete(env, b, 'k', id, completeXml([[2, md5(small)], [1, md5(a)]])), 'InvalidPartOrder');
    // A part number named twice in a row: the last entry stands (multipart-resend.test.ts), here a stale ETag.
    await rejectsWith(complete(env, b, 'k', id, completeXml([[1, md5(a)], [1, md5(small)]])), 'InvalidPart');
    await rejectsWith(complete(env, b, 'k', id, completeXml([[1, md5(small)]])), 'InvalidPart');
    await rejectsWith(complete(env, b, 'k', id, completeXml([[1, md5(a)], [7, md5(small)]])), 'InvalidPart');
    await rejectsWith(complete(env, b, 'k', id, completeXml([[1, md5(a)], [2, md5(small)], [3, md5(small)]])), 'EntityTooSmall');
    await rejectsWith(complete(env, b, 'k', id, completeXml([])), 'MalformedXML');
    await rejectsWith(complete(env, b, 'k', id, '<CompleteMultipartUpload><Part><PartNumber>1</PartNumber></Part></CompleteMultipartUpload>'), 'MalformedXML');
    await rejectsWith(complete(env, b, 'k', id, '<Nope/>'), 'MalformedXML');
    await rejectsWith(complete(env, b, 'k', id, 'not xml'), 'MalformedXML');

    // None of the failures consumed the upload: a correct list still completes (small last part).
    const ok = await complete(env, b, 'k', id, completeXml([[1, md5(a)], [3, md5(small)]]));
    assert.equal(ok.status, 200);
    const v = liveVersion(await env.store.objects.get(b.id, 'k'))!;
    assert.ok((await readAll(await env.store.readData(v, 0, v.meta!.size))).equals(Buffer.concat([a, small])));
  } finally {
    await env.close();
  }
});

test('abort frees the parts and ends the upload', async () => {
  const env = await testEnv();
  try {
    const b = await env.bucket('bkt');
    const id = await create(env, b, 'k');
    const d = pseudoRandom(2 * MiB, 5);
    await part(env, b, 'k', id, 1, d);
    for (const h of blockHashes(d)) assert.equal(env.store.blocks.refcount(h), 1);
    const res = await call(env, AbortMultipartUpload, { method: 'DELETE', bucket: b, key: 'k', query: { uploadId: id } });
    assert.equal(res.status, 204);
    for (const h of blockHashes(d)) assert.equal(env.store.blocks.refcount(h), 0);
    await rejectsWith(part(env, b, 'k', id, 2, d), 'NoSuchUpload');
    await rejectsWith(complete(env, b, 'k', id, completeXml([[1, md5(d)]])), 'NoSuchUpload');
    await rejectsWith(call(env, AbortMultipartUpload, { bucket: b, key: 'k', query: { uploadId: id } }), 'NoSuchUpload');
    await rejectsWith(call(env, AbortMultipartUpload, { bucket: b, key: 'k', query: { uploadId: 'a'.repeat(32) } }), 'NoSuchUpload');
    assert.equal(liveVersion(await env.store.objects.get(b.id, 'k')), undefined);
    assert.deepEqual(env.store.counters.get(b.id), { objects: 0, bytes: 0 });
  } finally {
    await env.close();
  }
});

test('a part still streaming when the upload is aborted is released, not leaked', async () => {
  const env = await testEnv();
  try {
    const b = await env.bucket('bkt');
    const id = await create(env, b, 'k');
    const d = pseudoRandom(3 * MiB, 11);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    async function* slow(): AsyncGenerator<Buffer> {
      yield d.subarray(0, MiB);
      await gate;
      yield d.subarray(MiB);
    }
    const { ctx } = fakeCtx(env, { bucket: b, key: 'k', query: { uploadId: id, partNumber: '1' }, body: slow() });
    const pending = UploadPart(ctx);
    await new Promise((r) => setTimeout(r, 20));
    await call(env, AbortMultipartUpload, { bucket: b, key: 'k', query: { uploadId: id } });
    release();
    await rejectsWith(pending, 'NoSuchUpload');
    for (const h of blockHashes(d)) assert.equal(env.store.blocks.refcount(h), 0);
  } finally {
    await env.close();
  }
});

test('versioned bucket: complete returns the upload id as version id', async () => {
  const env = await testEnv();
  try {
    let b = await env.bucket('bkt');
    await env.store.buckets.insert({ ...b, versioning: { t: Date.now() + 1, v: 'Enabled' } });
    b = (await env.store.bucketByName('bkt'))!;
    const id = await create(env, b, 'k');
    const d = Buffer.from('hello');
    await part(env, b, 'k', id, 1, d);
    const res = await complete(env, b, 'k', id, completeXml([[1, md5(d)]]));
    assert.equal(res.header('x-amz-version-id'), id);
  } finally {
    await env.close();
  }
});

function uploadsOf(x: XmlElement): string[] {
  return children(x, 'Upload').map((u) => `${childText(u, 'Key')}#${childText(u, 'UploadId')}`);
}

test('ListMultipartUploads: prefix, delimiter, markers and pagination', async () => {
  const env = await testEnv();
  try {
    const b = await env.bucket('bkt');
    const ids: Record<string, string[]> = {};
    for (const k of ['a/1', 'a/2', 'b', 'c', 'c', 'd', 'sp ace', 'z/deep/x']) (ids[k] ??= []).push(await create(env, b, k));
    ids['c']!.sort();
    // A completed and an aborted upload are not listed.
    const gone = await create(env, b, 'e');
    await part(env, b, 'e', gone, 1, Buffer.from('x'));
    await complete(env, b, 'e', gone, completeXml([[1, md5(Buffer.from('x'))]]));
    const aborted = await create(env, b, 'f');
    await call(env, AbortMultipartUpload, { bucket: b, key: 'f', query: { uploadId: aborted } });

    const list = async (q: Record<string, string>) =>
      (await call(env, ListMultipartUploads, { bucket: b, bucketName: 'bkt', query: { uploads: '', ...q } })).xml();
    const expected = ['a/1', 'a/2', 'b', 'c', 'c', 'd', 'sp ace', 'z/deep/x'].map((k, i, arr) => {
      const j = arr.slice(0, i).filter((x) => x === k).length;
      return `${k}#${ids[k]![j]}`;
    });
    const full = await list({});
    assert.deepEqual(uploadsOf(full), expected);
    assert.equal(childText(full, 'IsTruncated'), 'false');
    const u0 = children(full, 'Upload')[0]!;
    assert.ok(!Number.isNaN(Date.parse(childText(u0, 'Initiated')!)));

    // Pages of 3 (splitting the two uploads of "c") reassemble the full list.
    const paged: string[] = [];
    let q: Record<string, string> = { 'max-uploads': '3' };
    for (let i = 0; i < 10; i++) {
      const x = await list(q);
      paged.push(...uploadsOf(x));
      if (childText(x, 'IsTruncated') !== 'true') break;
      assert.equal(children(x, 'Upload').length, 3);
      q = { 'max-uploads': '3', 'key-marker': childText(x, 'NextKeyMarker')!, 'upload-id-marker': childText(x, 'NextUploadIdMarker')! };
    }
    assert.deepEqual(paged, expected);

    const delim = await list({ delimiter: '/' });
    assert.deepEqual(uploadsOf(delim), expected.filter((e) => !e.includes('/')));
    assert.deepEqual(children(delim, 'CommonPrefixes').map((c) => childText(c, 'Prefix')), ['a/', 'z/']);

    // Common prefixes count toward max-uploads, and a prefix marker skips the whole prefix.
    const d1 = await list({ delimiter: '/', 'max-uploads': '1' });
    assert.deepEqual(children(d1, 'CommonPrefixes').map((c) => childText(c, 'Prefix')), ['a/']);
    assert.equal(childText(d1, 'NextKeyMarker'), 'a/');
    const d2 = await list({ delimiter: '/', 'max-uploads': '1', 'key-marker': 'a/', 'upload-id-marker': childText(d1, 'NextUploadIdMarker') ?? '' });
    assert.deepEqual(uploadsOf(d2), [expected[2]]);

    const pre = await list({ prefix: 'z/', delimiter: '/' });
    assert.deepEqual(children(pre, 'CommonPrefixes').map((c) => childText(c, 'Prefix')), ['z/deep/']);
    assert.deepEqual(uploadsOf(pre), []);

    const km = await list({ 'key-marker': 'c' });
    assert.deepEqual(uploadsOf(km), expected.slice(5), 'without an upload id marker, keys after the marker');

    const enc = await list({ prefix: 'sp', 'encoding-type': 'url' });
    assert.deepEqual(uploadsOf(enc), [`sp%20ace#${ids['sp ace']![0]}`]);
    assert.equal(childText(enc, 'EncodingType'), 'url');

    await rejectsWith(list({ 'max-uploads': 'x' }), 'InvalidArgument');
    await rejectsWith(list({ 'encoding-type': 'base64' }), 'InvalidArgument');
    const capped = await list({ 'max-uploads': '5000' });
    assert.equal(childText(capped, 'MaxUploads'), '1000');
  } finally {
    await env.close();
  }
});

test('ListParts paginates with part-number-marker and max-parts', async () => {
  const env = await testEnv();
  try {
    const b = await env.bucket('bkt');
    const id = await create(env, b, 'k');
    for (const n of [5, 3, 1, 4, 2]) await part(env, b, 'k', id, n, Buffer.from(`part ${n}`));
    const seen: string[] = [];
    let marker = '0';
    for (let i = 0; i < 10; i++) {
      const x = (await call(env, ListParts, { bucket: b, bucketName: 'bkt', key: 'k', query: { uploadId: id, 'max-parts': '2', 'part-number-marker': marker } })).xml();
      assert.equal(childText(x, 'UploadId'), id);
      const ps = children(x, 'Part');
      seen.push(...ps.map((p) => childText(p, 'PartNumber')!));
      for (const p of ps) assert.equal(childText(p, 'ETag'), `"${md5(Buffer.from(`part ${childText(p, 'PartNumber')}`))}"`);
      if (childText(x, 'IsTruncated') !== 'true') break;
      assert.equal(ps.length, 2);
      marker = childText(x, 'NextPartNumberMarker')!;
    }
    assert.deepEqual(seen, ['1', '2', '3', '4', '5']);
    await rejectsWith(call(env, ListParts, { bucket: b, key: 'k', query: { uploadId: id, 'max-parts': '-1' } }), 'InvalidArgument');
  } finally {
    await env.close();
  }
});

async function putSource(env: TestEnv, b: Bucket, key: string, data: Buffer): Promise<void> {
  const id = await create(env, b, key);
  await part(env, b, key, id, 1, data);
  await complete(env, b, key, id, completeXml([[1, md5(data)]]));
}

test('UploadPartCopy copies byte ranges and honours copy conditions and permissions', async () => {
  const env = await testEnv();
  try {
    const src = await env.bucket('src');
    const noRead = await env.bucket('secret', { read: false, write: true, owner: false });
    const b = await env.bucket('bkt');
    const data = pseudoRandom(6 * MiB + 123, 3);
    await putSource(env, src, 'from/é x', data);
    await putSource(env, noRead, 'hidden', Buffer.from('no'));
    const srcEtag = liveVersion(await env.store.objects.get(src.id, 'from/é x'))!.meta!.etag;

    const id = await create(env, b, 'dst');
    const copy = (n: number, headers: Record<string, string>) =>
      call(env, UploadPartCopy, { method: 'PUT', bucket: b, bucketName: 'bkt', key: 'dst', query: { uploadId: id, partNumber: String(n) }, headers });
    const source = '/src/' + encodeURIComponent('from/é x');
    const r1 = await copy(1, { 'x-amz-copy-source': source, 'x-amz-copy-source-range': `bytes=100-${100 + 5 * MiB - 1}`, 'x-amz-copy-source-if-match': `"${srcEtag}"` });
    const piece1 = data.subarray(100, 100 + 5 * MiB);
    assert.equal(childText(r1.xml(), 'ETag'), `"${md5(piece1)}"`);
    assert.ok(!Number.isNaN(Date.parse(childText(r1.xml(), 'LastModified')!)));
    const r2 = await copy(2, { 'x-amz-copy-source': source.slice(1) });
    assert.equal(childText(r2.xml(), 'ETag'), `"${md5(data)}"`);

    await rejectsWith(copy(3, { 'x-amz-copy-source': source, 'x-amz-copy-source-if-match': '"nope"' }), 'PreconditionFailed');
    await rejectsWith(copy(3, { 'x-amz-copy-source': source, 'x-amz-copy-source-if-none-match': srcEtag }), 'PreconditionFailed');
    await rejectsWith(copy(3, { 'x-amz-copy-source': source, 'x-amz-copy-source-if-modified-since': new Date(Date.now() + 3600_000).toUTCString() }), 'PreconditionFailed');
    await rejectsWith(copy(3, { 'x-amz-copy-source': source, 'x-amz-copy-source-range': `bytes=0-${data.length}` }), 'InvalidRange');
    await rejectsWith(copy(3, { 'x-amz-copy-source': source, 'x-amz-copy-source-range': 'bytes=5-' }), 'InvalidArgument');
    await rejectsWith(copy(3, { 'x-amz-copy-source': source, 'x-amz-copy-source-range': 'bytes=9-3' }), 'InvalidArgument');
    await rejectsWith(copy(3, { 'x-amz-copy-source': '/src/missing' }), 'NoSuchKey');
    await rejectsWith(copy(3, { 'x-amz-copy-source': '/nobucket/x' }), 'NoSuchBucket');
    await rejectsWith(copy(3, { 'x-amz-copy-source': '/secret/hidden' }), 'AccessDenied');
    await rejectsWith(copy(3, { 'x-amz-copy-source': '/src/%E0%A4%A' }), 'InvalidArgument');
    await rejectsWith(copy(3, { 'x-amz-copy-source': `${source}?versionId=${'0'.repeat(32)}` }), 'NoSuchVersion');

    const res = await complete(env, b, 'dst', id, completeXml([[1, md5(piece1)], [2, md5(data)]]));
    assert.equal(res.status, 200);
    const v = liveVersion(await env.store.objects.get(b.id, 'dst'))!;
    const got = await readAll(await env.store.readData(v, 0, v.meta!.size));
    assert.ok(got.equals(Buffer.concat([piece1, data])));
  } finally {
    await env.close();
  }
});

test('parts count against the quota as they arrive; a refused part leaves the upload open; complete adds nothing', async () => {
  const env = await testEnv();
  try {
    let b = await env.bucket('bkt');
    await env.store.buckets.insert({ ...b, quotas: { t: Date.now() + 1, v: { maxSize: 1000, maxObjects: null } } });
    b = (await env.store.bucketByName('bkt'))!;
    const id = await create(env, b, 'k');
    const d = pseudoRandom(1500, 8);
    await part(env, b, 'k', id, 1, d.subarray(0, 600));
    // 600 counted + 900 > 1000: refused before its body is stored.
    await rejectsWith(part(env, b, 'k', id, 2, d.subarray(600)), 'QuotaExceeded');
    assert.deepEqual(env.store.counters.get(b.id), { objects: 1, bytes: 600 });
    // A re-upload of part 1 frees the 600 bytes it replaces.
    await part(env, b, 'k', id, 1, d.subarray(600));
    assert.deepEqual(env.store.counters.get(b.id), { objects: 1, bytes: 900 });
    const big = await create(env, b, 'big');
    await rejectsWith(part(env, b, 'big', big, 1, d.subarray(0, 200)), 'QuotaExceeded');
    const ok = await complete(env, b, 'k', id, completeXml([[1, md5(d.subarray(600))]]));
    assert.equal(ok.status, 200);
    assert.deepEqual(env.store.counters.get(b.id), { objects: 2, bytes: 900 }, 'the object and the still open upload');
    const lu = (await call(env, ListMultipartUploads, { bucket: b, bucketName: 'bkt', query: {} })).xml();
    assert.deepEqual(uploadsOf(lu), [`big#${big}`]);
  } finally {
    await env.close();
  }
});

test('overwriting a completed multipart object releases its blocks', async () => {
  const env = await testEnv();
  try {
    const b = await env.bucket('bkt');
    const id = await create(env, b, 'k');
    const d = pseudoRandom(MiB, 4);
    await part(env, b, 'k', id, 1, d);
    await complete(env, b, 'k', id, completeXml([[1, md5(d)]]));
    assert.equal(env.store.blocks.refcount(sha256(d)), 1);
    // A newer null version supersedes the multipart one, as a plain PUT would.
    await env.store.objects.insert({
      bucket: b.id,
      key: 'k',
      versions: [{ uuid: env.store.newUuid(), ts: env.store.ts(), state: 'complete', nullVersion: true, deleteMarker: false, multipart: false, inline: Buffer.from('x'), meta: { size: 1, etag: md5(Buffer.from('x')), headers: [] } }],
    });
    assert.equal(env.store.blocks.refcount(sha256(d)), 0);
  } finally {
    await env.close();
  }
});

test('two concurrent completes with different part lists: one wins whole, the other finds no upload', async () => {
  const env = await testEnv();
  try {
    const b = await env.bucket('bkt');
    for (let round = 0; round < 2; round++) {
      const key = `k${round}`;
      const id = await create(env, b, key);
      const p1 = pseudoRandom(5 * MiB, 20 + round);
      const p2 = Buffer.from('tail');
      await part(env, b, key, id, 1, p1);
      await part(env, b, key, id, 2, p2);
      const lists: [number, string][][] = [[[2, md5(p2)]], [[1, md5(p1)], [2, md5(p2)]]];
      if (round === 1) lists.reverse();
      const results = await Promise.allSettled(lists.map((l) => complete(env, b, key, id, completeXml(l))));
      const won = results.findIndex((r) => r.status === 'fulfilled');
      assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
      const lost = results[1 - won]!;
      assert.ok(lost.status === 'rejected' && lost.reason instanceof S3Error && lost.reason.code === 'NoSuchUpload');
      const expected = Buffer.concat(lists[won]!.map(([n]) => (n === 1 ? p1 : p2)));
      const v = liveVersion(await env.store.objects.get(b.id, key))!;
      assert.equal(v.meta!.size, expected.length);
      assert.ok((await readAll(await env.store.readData(v, 0, v.meta!.size))).equals(expected));
      const stored = await env.store.versions.get(id, '');
      assert.equal(stored!.blocks.reduce((n, x) => n + x.size, 0), expected.length, 'no blocks of the losing list are merged in');
    }
  } finally {
    await env.close();
  }
});
