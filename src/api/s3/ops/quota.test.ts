// Quotas against multipart uploads and streamed writes: parts count from UploadPart on, a
// re-uploaded part replaces the old copy, unfinished uploads expire, and a body of unknown length
// stops at the quota with what it wrote deleted at once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Bucket } from '../../../model/bucket.ts';
import { cleanupIncompleteUploads, sweepExpiredUploads } from '../../../model/uploads.ts';
import { S3Error } from '../errors.ts';
import { childText } from '../xml.ts';
import type { Handler } from '../context.ts';
import { CompleteMultipartUpload, CreateMultipartUpload, ListParts, UploadPart } from './multipart.ts';
import { PutObject } from './object.ts';
import { fakeCtx, pseudoRandom, slices, testEnv, type FakeRequest, type TestEnv } from './test-ctx.ts';
import type { Clock } from '../../../util/time.ts';

const MB = 1_000_000;
const MiB = 1024 * 1024;

async function call(env: TestEnv, h: Handler, r: FakeRequest) {
  const { ctx, res } = fakeCtx(env, r);
  await h(ctx);
  return res;
}

function rejectsWith(p: Promise<unknown>, code: string): Promise<void> {
  return assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof S3Error, `expected S3Error ${code}, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    return true;
  });
}

async function withQuota(env: TestEnv, name: string, maxSize: number | null, website = false): Promise<Bucket> {
  const b = await env.bucket(name);
  const t = env.store.ts();
  return env.store.buckets.insert({
    ...b,
    quotas: { t, v: { maxSize, maxObjects: null } },
    ...(website ? { website: { t, v: { indexDocument: 'index.html' } } } : {}),
  });
}

async function create(env: TestEnv, b: Bucket, key: string): Promise<string> {
  const res = await call(env, CreateMultipartUpload, { method: 'POST', bucket: b, bucketName: 'bkt', key, query: { uploads: '' } });
  assert.equal(res.status, 200);
  return childText(res.xml(), 'UploadId')!;
}

function part(env: TestEnv, b: Bucket, key: string, uploadId: string, n: number, data: Buffer) {
  return call(env, UploadPart, {
    method: 'PUT',
    bucket: b,
    bucketName: 'bkt',
    key,
    query: { uploadId, partNumber: String(n) },
    headers: { 'content-length': String(data.length) },
    body: slices(data),
  });
}

/** Bytes of block files under the data dir (what the disk really holds). */
function diskBytes(dir: string): number {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) n += diskBytes(p);
    else n += statSync(p).size;
  }
  return n;
}

test('parts of an unfinished upload count in usage and the quota refuses the part that passes it', async () => {
  const env = await testEnv();
  try {
    const b = await withQuota(env, 'bkt', 10 * MB, true);
    const id = await create(env, b, 'big');
    await part(env, b, 'big', id, 1, pseudoRandom(5 * MB, 1));
    await part(env, b, 'big', id, 2, pseudoRandom(5 * MB, 2));
    assert.equal(env.store.counters.get(b.id).bytes, 10 * MB, 'two 5 MB parts are counted');
    for (let n = 3; n <= 5; n++) await rejectsWith(part(env, b, 'big', id, n, pseudoRandom(5 * MB, n)), 'QuotaExceeded');
    // Plain PUTs see the same usage.
    await rejectsWith(call(env, PutObject, { method: 'PUT', bucket: b, bucketName: 'bkt', key: 'x', headers: { 'content-length': '5000' }, body: Buffer.alloc(5000) }), 'QuotaExceeded');
    assert.equal(env.store.counters.get(b.id).bytes, 10 * MB);
    assert.ok(diskBytes(join(env.dir, 'data')) <= 10 * MB + 64 * 1024, 'refused parts left nothing on disk');
  } finally {
    await env.close();
  }
});

test('completing an upload at the quota does not count its parts twice; the object then holds the bytes', async () => {
  const env = await testEnv();
  try {
    const b = await withQuota(env, 'bkt', 11 * MiB);
    const id = await create(env, b, 'k');
    const p1 = pseudoRandom(5 * MiB, 1);
    const p2 = pseudoRandom(5 * MiB, 2);
    const e1 = (await part(env, b, 'k', id, 1, p1)).header('etag')!;
    const e2 = (await part(env, b, 'k', id, 2, p2)).header('etag')!;
    const xml = `<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>${e1}</ETag></Part><Part><PartNumber>2</PartNumber><ETag>${e2}</ETag></Part></CompleteMultipartUpload>`;
    const res = await call(env, CompleteMultipartUpload, { method: 'POST', bucket: b, bucketName: 'bkt', key: 'k', query: { uploadId: id }, body: xml });
    assert.equal(res.status, 200, res.text());
    assert.deepEqual(env.store.counters.get(b.id), { objects: 1, bytes: 10 * MiB });
  } finally {
    await env.close();
  }
});

test('a part number uploaded five times keeps one copy on disk and in usage', async () => {
  const env = await testEnv({ gcDelayMs: 0 });
  try {
    const b = await withQuota(env, 'bkt', 10 * MB, true);
    const id = await create(env, b, 'k');
    for (let i = 0; i < 5; i++) assert.equal((await part(env, b, 'k', id, 1, pseudoRandom(5 * MB, 10 + i))).status, 200);
    assert.equal(env.store.counters.get(b.id).bytes, 5 * MB);
    await env.store.blocks.gc();
    const disk = diskBytes(join(env.dir, 'data'));
    assert.ok(disk >= 5 * MB && disk < 6 * MB, `one copy on disk, found ${disk} bytes`);
    const lp = (await call(env, ListParts, { bucket: b, bucketName: 'bkt', key: 'k', query: { uploadId: id } })).xml();
    const listed = lp.children.filter((c) => c.name === 'Part');
    assert.equal(listed.length, 1, 'ListParts shows the part once');
  } finally {
    await env.close();
  }
});

test('an unfinished upload of a site expires after the site setting and releases its bytes', async () => {
  let now = Date.UTC(2030, 0, 1);
  const clock: Clock = { now: () => now, sleep: async () => {} };
  const env = await testEnv({ clock, gcDelayMs: 0, limits: { site_incomplete_upload_expiry_secs: 3600 } });
  try {
    const site = await withQuota(env, 'site', 10 * MB, true);
    const plain = await withQuota(env, 'plain', null);
    const id = await create(env, site, 'k');
    await part(env, site, 'k', id, 1, pseudoRandom(2 * MB, 1));
    const keep = await create(env, plain, 'k');
    await part(env, plain, 'k', keep, 1, pseudoRandom(2 * MB, 2));
    now += 1800_000;
    assert.equal(await sweepExpiredUploads(env.store), 0, 'not yet expired');
    assert.equal(env.store.counters.get(site.id).bytes, 2 * MB);
    now += 1800_000 + 60_000;
    assert.equal(await sweepExpiredUploads(env.store), 1, 'the site upload expired; the plain bucket keeps its own');
    assert.deepEqual(env.store.counters.get(site.id), { objects: 0, bytes: 0 });
    assert.equal(env.store.counters.get(plain.id).bytes, 2 * MB);
    await rejectsWith(part(env, site, 'k', id, 2, Buffer.alloc(10)), 'NoSuchUpload');
    await env.store.blocks.gc();
    const disk = diskBytes(join(env.dir, 'data'));
    assert.ok(disk < 3 * MB, `the expired part's blocks are gone (${disk} bytes left)`);
    // On demand: everything older than 0 s in the plain bucket.
    assert.equal(await cleanupIncompleteUploads(env.store, plain.id, 0), 1);
    assert.deepEqual(env.store.counters.get(plain.id), { objects: 0, bytes: 0 });
  } finally {
    await env.close();
  }
});

test('a chunked PUT of unknown length stops at the quota and its blocks leave the disk at once', async () => {
  const env = await testEnv();
  try {
    const b = await withQuota(env, 'bkt', 10 * MB);
    const before = diskBytes(join(env.dir, 'data'));
    let sent = 0;
    async function* body(): AsyncGenerator<Buffer> {
      for (let i = 0; i < 30 * 16; i++) {
        const c = pseudoRandom(64 * 1024, i + 1);
        sent += c.length;
        yield c;
      }
    }
    await rejectsWith(call(env, PutObject, { method: 'PUT', bucket: b, bucketName: 'bkt', key: 'big', headers: { 'transfer-encoding': 'chunked' }, body: body() }), 'QuotaExceeded');
    assert.ok(sent < 10 * MB + 8 * MiB, `the body was read only up to about the quota (${sent} bytes)`);
    assert.equal(diskBytes(join(env.dir, 'data')), before, 'nothing of the refused write is left on disk');
    assert.deepEqual(env.store.counters.get(b.id), { objects: 0, bytes: 0 });
  } finally {
    await env.close();
  }
});

test('a chunked PUT passing limits.object_bytes_max is refused EntityTooLarge while streaming', async () => {
  const env = await testEnv({ limits: { object_bytes_max: 4 * MiB } });
  try {
    const b = await env.bucket('bkt');
    let sent = 0;
    async function* body(): AsyncGenerator<Buffer> {
      for (let i = 0; i < 20 * 16; i++) {
        sent += 64 * 1024;
        yield pseudoRandom(64 * 1024, i + 1);
      }
    }
    await rejectsWith(call(env, PutObject, { method: 'PUT', bucket: b, bucketName: 'bkt', key: 'big', headers: { 'transfer-encoding': 'chunked' }, body: body() }), 'EntityTooLarge');
    assert.ok(sent < 12 * MiB, `stopped early (${sent} bytes read)`);
    assert.equal(diskBytes(join(env.dir, 'data')), 0);
    await rejectsWith(
      call(env, PutObject, { method: 'PUT', bucket: b, bucketName: 'bkt', key: 'big', headers: { 'content-length': String(5 * MiB) }, body: body() }),
      'EntityTooLarge',
    );
  } finally {
    await env.close();
  }
});
