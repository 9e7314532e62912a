// CleanupIncompleteUploads over the admin API: aborts a bucket's unfinished uploads older than the
// given age, gives back their usage, and answers Garage's shape and errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN_TOKEN, startTestAdmin } from './testkit.ts';
import type { Store } from '../../model/store.ts';

async function call(url: string, op: string, body: unknown): Promise<{ status: number; json: any }> {
  const r = await fetch(`${url}/v2/${op}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: r.status, json: await r.json() };
}

/** An unfinished upload of `key` started at `ts`, with one part of `size` bytes. */
async function openUpload(store: Store, bucket: string, key: string, ts: number, size: number): Promise<string> {
  const uploadId = store.newUuid();
  const part = store.newUuid();
  await store.mpus.insert({ uploadId, bucket, key, deleted: false, parts: { [`1:${ts}`]: { part: 1, ts, version: part, etag: 'e', size } } });
  await store.objects.insert({
    bucket,
    key,
    versions: [{ uuid: uploadId, ts, state: 'uploading', nullVersion: true, deleteMarker: false, multipart: true, meta: { size: 0, etag: '', headers: [] }, uploaded: { '1': { ts, version: part, size } } }],
  });
  return uploadId;
}

test('CleanupIncompleteUploads aborts the uploads older than olderThanSecs and releases their usage', async () => {
  const a = await startTestAdmin();
  try {
    const created = await call(a.url, 'CreateBucket', { globalAlias: 'uploads-bkt' });
    assert.equal(created.status, 200, JSON.stringify(created.json));
    const id = created.json.id as string;
    const now = Date.now();
    await openUpload(a.store, id, 'old-1', now - 7200_000, 1000);
    await openUpload(a.store, id, 'old-2', now - 7200_000, 500);
    await openUpload(a.store, id, 'young', now, 250);
    assert.deepEqual(a.store.counters.get(id), { objects: 3, bytes: 1750 });

    const r = await call(a.url, 'CleanupIncompleteUploads', { bucketId: id, olderThanSecs: 3600 });
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.deepEqual(r.json, { uploadsDeleted: 2 });
    assert.deepEqual(a.store.counters.get(id), { objects: 1, bytes: 250 });
    assert.deepEqual((await call(a.url, 'CleanupIncompleteUploads', { bucketId: id, olderThanSecs: 3600 })).json, { uploadsDeleted: 0 });

    const bad = await call(a.url, 'CleanupIncompleteUploads', { bucketId: id, olderThanSecs: -1 });
    assert.equal(bad.status, 400);
    const missing = await call(a.url, 'CleanupIncompleteUploads', { bucketId: 'f'.repeat(64), olderThanSecs: 0 });
    assert.equal(missing.status, 404);
  } finally {
    await a.close();
  }
});
