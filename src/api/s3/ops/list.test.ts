// Handler tests for ListObjects, ListObjectsV2 and ListObjectVersions over a real Store.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { testEnv, fakeCtx, type TestEnv } from './test-ctx.ts';
import { ListObjects, ListObjectsV2, ListObjectVersions } from './list.ts';
import type { Bucket } from '../../../model/bucket.ts';
import type { ObjectEntry, ObjectVersion } from '../../../model/object.ts';
import { child, children, childText, type XmlElement } from '../xml.ts';

let env: TestEnv;
let big: Bucket;
let small: Bucket;
let ver: Bucket;
let ts = 1_700_000_000_000;

function version(init: Partial<ObjectVersion> = {}): ObjectVersion {
  ts += 1;
  return {
    uuid: env.store.newUuid(),
    ts,
    state: 'complete',
    nullVersion: true,
    deleteMarker: false,
    multipart: false,
    meta: { size: 5, etag: 'd41d8cd98f00b204e9800998ecf8427e', headers: [] },
    ...init,
  };
}

const N = 10_050;
const bigKey = (i: number) => `k/${String(i).padStart(6, '0')}`;
const SMALL_KEYS = ['a b/c+d.txt', 'a b/x', 'x&y<z>', '日本/語.txt', 'emoji😀', 'ctl\u0001key', 'plain', 'q?r=s#t', 'dir/sub/one', 'dir/two'];

before(async () => {
  env = await testEnv();
  big = await env.bucket('big');
  small = await env.bucket('small');
  ver = await env.bucket('ver');
  const rows: ObjectEntry[] = [];
  for (let i = 0; i < N; i++) rows.push({ bucket: big.id, key: bigKey(i), versions: [version()] });
  rows.push({ bucket: big.id, key: 'top', versions: [version()] });
  await env.store.objects.insertMany(rows);
  await env.store.objects.insertMany(SMALL_KEYS.map((key) => ({ bucket: small.id, key, versions: [version({ meta: { size: key.length, etag: 'abc', headers: [] } })] })));
  // Gone objects (current version a delete marker) and unfinished uploads are not listed.
  await env.store.objects.insert({ bucket: small.id, key: 'deleted', versions: [version(), version({ deleteMarker: true, meta: undefined })] });
  await env.store.objects.insert({ bucket: small.id, key: 'uploading', versions: [version({ state: 'uploading' })] });
});

after(async () => {
  await env.close();
});

async function run(h: typeof ListObjects, bucket: Bucket, name: string, query: Record<string, string>): Promise<XmlElement> {
  const { ctx, res } = fakeCtx(env, { bucket, bucketName: name, query });
  await h(ctx);
  assert.equal(res.status, 200);
  assert.equal(res.header('content-type'), 'application/xml');
  return res.xml();
}

const keys = (x: XmlElement) => children(x, 'Contents').map((c) => childText(c, 'Key')!);
const prefixes = (x: XmlElement) => children(x, 'CommonPrefixes').map((c) => childText(c, 'Prefix')!);

test('ListObjectsV2 pages through 10,000+ keys with continuation tokens: no duplicates, no gaps', async () => {
  const seen: string[] = [];
  let token: string | undefined;
  let pages = 0;
  for (;;) {
    const x = await run(ListObjectsV2, big, 'big', { 'list-type': '2', 'max-keys': '1000', ...(token ? { 'continuation-token': token } : {}) });
    pages++;
    const ks = keys(x);
    assert.equal(childText(x, 'KeyCount'), String(ks.length));
    assert.equal(childText(x, 'MaxKeys'), '1000');
    assert.equal(childText(x, 'Name'), 'big');
    assert.equal(childText(x, 'ContinuationToken'), token);
    seen.push(...ks);
    if (childText(x, 'IsTruncated') === 'false') {
      assert.equal(child(x, 'NextContinuationToken'), undefined);
      break;
    }
    token = childText(x, 'NextContinuationToken');
    assert.ok(token);
  }
  const want = [...Array.from({ length: N }, (_, i) => bigKey(i)), 'top'];
  assert.equal(pages, Math.ceil(want.length / 1000));
  assert.deepEqual(seen, want);
});

test('ListObjectsV2 rolls 10,000 keys under one prefix into a single CommonPrefixes quickly', async () => {
  const t0 = performance.now();
  const x = await run(ListObjectsV2, big, 'big', { 'list-type': '2', delimiter: '/' });
  const ms = performance.now() - t0;
  assert.deepEqual(prefixes(x), ['k/']);
  assert.deepEqual(keys(x), ['top']);
  assert.equal(childText(x, 'KeyCount'), '2');
  assert.equal(childText(x, 'Delimiter'), '/');
  assert.ok(ms < 500, `took ${ms} ms`);
});

test('ListObjectsV2: start-after, prefix, fetch-owner, contents fields', async () => {
  const x = await run(ListObjectsV2, big, 'big', { 'list-type': '2', prefix: 'k/0010', 'start-after': 'k/001095', 'max-keys': '3' });
  assert.deepEqual(keys(x), ['k/001096', 'k/001097', 'k/001098']);
  assert.equal(childText(x, 'StartAfter'), 'k/001095');
  assert.equal(childText(x, 'IsTruncated'), 'true');
  const c = children(x, 'Contents')[0]!;
  assert.equal(childText(c, 'ETag'), '"d41d8cd98f00b204e9800998ecf8427e"');
  assert.equal(childText(c, 'Size'), '5');
  assert.equal(childText(c, 'StorageClass'), 'STANDARD');
  assert.match(childText(c, 'LastModified')!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  assert.equal(child(c, 'Owner'), undefined);
  const y = await run(ListObjectsV2, big, 'big', { 'list-type': '2', prefix: 'k/0010', 'max-keys': '1', 'fetch-owner': 'true' });
  assert.equal(childText(child(children(y, 'Contents')[0]!, 'Owner')!, 'ID'), env.accessKey.id);
});

test('ListObjects (V1): Owner always, NextMarker only with a delimiter, marker resumes', async () => {
  const x = await run(ListObjects, small, 'small', { delimiter: '/', 'max-keys': '3' });
  // Byte order: "a b/" < "ctl\x01key" < "dir/" < "emoji😀" ...
  assert.deepEqual([...prefixes(x), ...keys(x)].sort(), ['a b/', 'ctl\u0001key', 'dir/']);
  assert.equal(childText(x, 'IsTruncated'), 'true');
  assert.equal(childText(x, 'NextMarker'), 'dir/');
  assert.equal(childText(x, 'Marker'), '');
  assert.equal(childText(x, 'Prefix'), '');
  assert.ok(child(children(x, 'Contents')[0]!, 'Owner'));
  const y = await run(ListObjects, small, 'small', { delimiter: '/', marker: 'dir/' });
  assert.deepEqual(keys(y), ['emoji😀', 'plain', 'q?r=s#t', 'x&y<z>']);
  assert.deepEqual(prefixes(y), ['日本/']);
  assert.equal(childText(y, 'IsTruncated'), 'false');
  const z = await run(ListObjects, small, 'small', { 'max-keys': '2' });
  assert.equal(child(z, 'NextMarker'), undefined);
  assert.equal(childText(z, 'IsTruncated'), 'true');
});

test('deleted objects and unfinished uploads are not listed', async () => {
  const x = await run(ListObjectsV2, small, 'small', { 'list-type': '2' });
  const ks = keys(x);
  assert.equal(ks.length, SMALL_KEYS.length);
  assert.ok(!ks.includes('deleted') && !ks.includes('uploading'));
});

test('encoding-type=url encodes keys, prefixes, delimiter and markers', async () => {
  const x = await run(ListObjectsV2, small, 'small', { 'list-type': '2', 'encoding-type': 'url', delimiter: '/', 'start-after': 'a b/' });
  assert.equal(childText(x, 'EncodingType'), 'url');
  assert.equal(childText(x, 'StartAfter'), 'a%20b/');
  assert.deepEqual(prefixes(x), ['dir/', '%E6%97%A5%E6%9C%AC/']);
  assert.deepEqual(keys(x), ['ctl%01key', 'emoji%F0%9F%98%80', 'plain', 'q%3Fr%3Ds%23t', 'x%26y%3Cz%3E']);
  const y = await run(ListObjects, small, 'small', { 'encoding-type': 'url', prefix: 'a b/' });
  assert.deepEqual(keys(y), ['a%20b/c%2Bd.txt', 'a%20b/x']);
  assert.equal(childText(y, 'Prefix'), 'a b/', 'V1 echoes Prefix verbatim (list-v1-prefix.test.ts)');
  // Every encoded key decodes back to a stored key.
  const all = await run(ListObjects, small, 'small', { 'encoding-type': 'url' });
  assert.deepEqual(keys(all).map(decodeURIComponent).sort(), [...SMALL_KEYS].sort());
});

test('bad parameters are S3 InvalidArgument errors', async () => {
  const bad: Record<string, string>[] = [
    { 'max-keys': '-1' },
    { 'max-keys': 'ten' },
    { 'max-keys': '1.5' },
    { 'encoding-type': 'base64' },
    { 'list-type': '2', 'continuation-token': '!!!' },
    { 'list-type': '2', 'continuation-token': '_w' }, // not UTF-8
  ];
  for (const q of bad) {
    const h = q['list-type'] ? ListObjectsV2 : ListObjects;
    const { ctx } = fakeCtx(env, { bucket: small, bucketName: 'small', query: q });
    await assert.rejects(h(ctx), { name: 'S3Error', code: 'InvalidArgument' }, JSON.stringify(q));
  }
  const { ctx } = fakeCtx(env, { bucket: ver, bucketName: 'ver', query: { versions: '', 'version-id-marker': 'x' } });
  await assert.rejects(ListObjectVersions(ctx), { code: 'InvalidArgument' });
  // max-keys above 1000 is capped, as S3 does.
  const x = await run(ListObjects, small, 'small', { 'max-keys': '5000' });
  assert.equal(childText(x, 'MaxKeys'), '1000');
});

test('ListObjectVersions: versions and delete markers interleaved, newest first, paged exactly', async () => {
  const v1 = version({ nullVersion: false });
  const v2 = version({ nullVersion: false });
  const dm = version({ nullVersion: false, deleteMarker: true, meta: undefined });
  const nul = version();
  const v3 = version({ nullVersion: false });
  await env.store.objects.insertMany([
    { bucket: ver.id, key: 'doc', versions: [v1, v2, dm] },
    { bucket: ver.id, key: 'mix', versions: [nul, v3] },
    { bucket: ver.id, key: 'p/inner', versions: [version()] },
    { bucket: ver.id, key: 'zz', versions: [version({ state: 'uploading', nullVersion: false })] },
  ]);
  const x = await run(ListObjectVersions, ver, 'ver', { versions: '', delimiter: '/' });
  const rows = x.children.filter((c) => c.name === 'Version' || c.name === 'DeleteMarker').map((c) => `${c.name}:${childText(c, 'Key')}:${childText(c, 'VersionId')}:${childText(c, 'IsLatest')}`);
  assert.deepEqual(rows, [
    `DeleteMarker:doc:${dm.uuid}:true`,
    `Version:doc:${v2.uuid}:false`,
    `Version:doc:${v1.uuid}:false`,
    `Version:mix:${v3.uuid}:true`,
    'Version:mix:null:false',
  ]);
  assert.deepEqual(prefixes(x), ['p/']);
  assert.equal(child(x.children.find((c) => c.name === 'DeleteMarker')!, 'ETag'), undefined);

  const paged: string[] = [];
  let km: string | undefined;
  let vm: string | undefined;
  for (let guard = 0; guard < 20; guard++) {
    const q: Record<string, string> = { versions: '', delimiter: '/', 'max-keys': '1' };
    if (km !== undefined) q['key-marker'] = km;
    if (vm !== undefined) q['version-id-marker'] = vm;
    const y = await run(ListObjectVersions, ver, 'ver', q);
    for (const c of y.children) {
      if (c.name === 'Version' || c.name === 'DeleteMarker') paged.push(`${childText(c, 'Key')}:${childText(c, 'VersionId')}`);
      if (c.name === 'CommonPrefixes') paged.push(childText(c, 'Prefix')!);
    }
    if (childText(y, 'IsTruncated') === 'false') break;
    km = childText(y, 'NextKeyMarker');
    vm = childText(y, 'NextVersionIdMarker');
  }
  assert.deepEqual(paged, [`doc:${dm.uuid}`, `doc:${v2.uuid}`, `doc:${v1.uuid}`, `mix:${v3.uuid}`, 'mix:null', 'p/']);
});
