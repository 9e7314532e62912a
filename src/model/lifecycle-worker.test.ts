// The lifecycle worker on a real store with a manual clock: expiration (delete in an unversioned
// bucket, delete marker in a versioned one), noncurrent expiration keeping the newest, expired
// delete markers, aborted uploads, filters, object lock respected, and the bounded pass resuming
// from its stored cursor after a restart.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { Handler } from '../api/s3/context.ts';
import { DeleteObject, PutObject } from '../api/s3/ops/object.ts';
import { CreateMultipartUpload } from '../api/s3/ops/multipart.ts';
import { fakeCtx, testEnv, type TestEnv } from '../api/s3/ops/test-ctx.ts';
import type { Bucket } from './bucket.ts';
import { currentVersion, liveVersion } from './object.ts';
import { DAY_MS, dueAt, type LifecycleRule } from './lifecycle.ts';
import { lifecycleDayMs, lifecyclePass, type LifecycleOptions } from './lifecycle-worker.ts';
import { Store } from './store.ts';

const T0 = Date.UTC(2024, 0, 10, 10, 30);
const DAY = 1000; // a shortened day, as GRENIER_LIFECYCLE_DAY_SECS gives
const OPTS: LifecycleOptions = { intervalMs: DAY, dayMs: DAY };

function manualClock() {
  const c = { t: T0, now: () => c.t, sleep: () => new Promise<void>(() => {}) };
  return c;
}

async function call(env: TestEnv, h: Handler, b: Bucket, key: string, more: { method?: string; headers?: Record<string, string>; body?: string; query?: Record<string, string> } = {}) {
  const { ctx, res } = fakeCtx(env, { method: more.method ?? 'PUT', bucket: b, bucketName: 'lc', key, headers: more.headers, body: more.body, query: more.query });
  await h(ctx);
  return res;
}

const put = (env: TestEnv, b: Bucket, key: string, body = 'abc', headers: Record<string, string> = {}) =>
  call(env, PutObject, b, key, { headers: { 'content-length': String(body.length), ...headers }, body });

async function setup(rules: LifecycleRule[], versioning: Bucket['versioning']['v'] = null) {
  const clock = manualClock();
  const env = await testEnv({ clock });
  let b = await env.bucket('lc');
  b = await env.store.buckets.insert({ ...b, versioning: { t: T0, v: versioning }, lifecycle: { t: T0, v: { rules } } });
  return { env, clock, b };
}

const rule = (r: Partial<LifecycleRule>): LifecycleRule => ({ id: 'r', enabled: true, filter: { form: 'legacy', prefix: '', tags: [] }, ...r });

test('dueAt: a real day rounds up to the next midnight UTC (AWS); a test day does not', () => {
  assert.equal(dueAt(T0, 1, DAY_MS), Date.UTC(2024, 0, 12));
  assert.equal(dueAt(Date.UTC(2024, 0, 10), 1, DAY_MS), Date.UTC(2024, 0, 11));
  assert.equal(dueAt(T0, 3, 10_000), T0 + 30_000);
  assert.equal(lifecycleDayMs({}), DAY_MS);
  assert.equal(lifecycleDayMs({ GRENIER_LIFECYCLE_DAY_SECS: '10' }), 10_000);
  assert.throws(() => lifecycleDayMs({ GRENIER_LIFECYCLE_DAY_SECS: '0' }), /GRENIER_LIFECYCLE_DAY_SECS/);
});

test('unversioned bucket: Expiration Days deletes the matching objects once due, the rest stay', async () => {
  const { env, clock, b } = await setup([rule({ filter: { form: 'legacy', prefix: 'expire1/', tags: [] }, expiration: { days: 1 } }), rule({ id: 'r3', filter: { form: 'legacy', prefix: 'expire3/', tags: [] }, expiration: { days: 3 } })]);
  try {
    for (const k of ['expire1/a', 'expire1/b', 'keep/a', 'expire3/a']) await put(env, b, k);
    clock.t += DAY / 2;
    assert.equal((await lifecyclePass(env.store, OPTS)).expired, 0);
    clock.t += DAY;
    const st = await lifecyclePass(env.store, OPTS);
    assert.equal(st.expired, 2);
    assert.equal(liveVersion(await env.store.objects.get(b.id, 'expire1/a')), undefined);
    assert.ok(liveVersion(await env.store.objects.get(b.id, 'keep/a')));
    assert.ok(liveVersion(await env.store.objects.get(b.id, 'expire3/a')));
    assert.equal((await env.store.usage(b.id)).objects, 2);
    clock.t += 2 * DAY;
    assert.equal((await lifecyclePass(env.store, OPTS)).expired, 1);
    assert.equal(liveVersion(await env.store.objects.get(b.id, 'expire3/a')), undefined);
    // Nothing more to do: a pass again changes nothing.
    clock.t += DAY;
    assert.deepEqual(await lifecyclePass(env.store, OPTS), { buckets: 1, scanned: 4, expired: 0, removed: 0, aborted: 0, resuming: 0 });
  } finally {
    await env.close();
  }
});

test('versioned bucket: expiration adds a delete marker; noncurrent versions go after NoncurrentDays, keeping NewerNoncurrentVersions', async () => {
  const { env, clock, b } = await setup([rule({ expiration: { days: 10 }, noncurrent: { days: 1, newer: 1 } })], 'Enabled');
  try {
    for (let i = 0; i < 4; i++) {
      await put(env, b, 'k', `v${i}`);
      clock.t += 10;
    }
    clock.t += DAY;
    const st = await lifecyclePass(env.store, OPTS);
    // v0 and v1 go (noncurrent for a day, beyond the newest noncurrent one); v2 is kept, v3 is current.
    assert.equal(st.removed, 2);
    const o = (await env.store.objects.get(b.id, 'k'))!;
    assert.deepEqual(o.versions.filter((v) => v.state === 'complete').map((v) => v.meta?.size), [2, 2]);
    clock.t += 10 * DAY;
    assert.equal((await lifecyclePass(env.store, OPTS)).expired, 1);
    const o2 = (await env.store.objects.get(b.id, 'k'))!;
    assert.equal(currentVersion(o2)!.deleteMarker, true);
    assert.equal(currentVersion(o2)!.nullVersion, false);
    assert.equal(o2.versions.filter((v) => v.state === 'complete' && !v.deleteMarker).length, 2, 'the expired version stays, noncurrent');
  } finally {
    await env.close();
  }
});

test('a locked version is never removed (legal hold), an unlocked one is', async () => {
  const { env, clock, b } = await setup([rule({ noncurrent: { days: 1 } })], 'Enabled');
  try {
    await put(env, b, 'held', 'a');
    await put(env, b, 'free', 'a');
    clock.t += 10;
    await put(env, b, 'held', 'b');
    await put(env, b, 'free', 'b');
    const held = (await env.store.objects.get(b.id, 'held'))!.versions[0]!;
    await env.store.objects.insert({ bucket: b.id, key: 'held', versions: [{ ...held, legalHold: { t: clock.t, v: true } }] });
    clock.t += 2 * DAY;
    assert.equal((await lifecyclePass(env.store, OPTS)).removed, 1);
    assert.equal((await env.store.objects.get(b.id, 'held'))!.versions.filter((v) => v.state === 'complete').length, 2);
    assert.equal((await env.store.objects.get(b.id, 'free'))!.versions.filter((v) => v.state === 'complete').length, 1);
  } finally {
    await env.close();
  }
});

test('ExpiredObjectDeleteMarker removes a delete marker left alone; AbortIncompleteMultipartUpload aborts old uploads', async () => {
  const { env, clock, b } = await setup([rule({ expiration: { expiredObjectDeleteMarker: true }, abortUploadDays: 2 }), rule({ id: 'n', noncurrent: { days: 1 } })], 'Enabled');
  try {
    await put(env, b, 'k');
    clock.t += 10;
    await call(env, DeleteObject, b, 'k', { method: 'DELETE' });
    const created = await call(env, CreateMultipartUpload, b, 'big', { method: 'POST', query: { uploads: '' } });
    assert.equal(created.status, 200);
    clock.t += DAY + 10;
    // First the noncurrent version goes; the marker is then alone and goes on the next pass.
    assert.equal((await lifecyclePass(env.store, OPTS)).removed, 1);
    clock.t += DAY;
    const st = await lifecyclePass(env.store, OPTS);
    assert.equal(st.removed, 1);
    assert.equal(st.aborted, 1);
    const o = await env.store.objects.get(b.id, 'k');
    assert.equal(o?.versions.filter((v) => v.state === 'complete').length ?? 0, 0);
    const up = (await env.store.objects.get(b.id, 'big'))!;
    assert.ok(up.versions.every((v) => v.state === 'aborted'));
  } finally {
    await env.close();
  }
});

test('Expiration Days also removes a delete marker left alone once it is that old (s3-tests test_lifecycle_deletemarker_expiration_with_days_tag)', async () => {
  const { env, clock, b } = await setup([rule({ noncurrent: { days: 1 }, expiration: { days: 5 } })], 'Enabled');
  try {
    await put(env, b, 'k');
    await call(env, DeleteObject, b, 'k', { method: 'DELETE' });
    clock.t += 2 * DAY;
    assert.equal((await lifecyclePass(env.store, OPTS)).removed, 1);
    clock.t += 2 * DAY;
    assert.equal((await lifecyclePass(env.store, OPTS)).removed, 0, 'the marker is not 5 days old yet');
    clock.t += 2 * DAY;
    assert.equal((await lifecyclePass(env.store, OPTS)).removed, 1);
    assert.equal((await env.store.objects.get(b.id, 'k'))?.versions.filter((v) => v.state === 'complete').length ?? 0, 0);
  } finally {
    await env.close();
  }
});

test('tag and size filters select what they say', async () => {
  const { env, clock, b } = await setup([
    rule({ id: 't', filter: { form: 'filter', tags: [['class', 'tmp']] }, expiration: { days: 1 } }),
    rule({ id: 's', filter: { form: 'and', prefix: 'size/', tags: [], sizeGt: 3, sizeLt: 10 }, expiration: { days: 1 } }),
  ]);
  try {
    await put(env, b, 'tagged', 'x', { 'x-amz-tagging': 'class=tmp&o=1' });
    await put(env, b, 'other-tag', 'x', { 'x-amz-tagging': 'class=keep' });
    await put(env, b, 'size/small', 'abc');
    await put(env, b, 'size/mid', 'abcdef');
    await put(env, b, 'size/large', 'abcdefghijk');
    clock.t += 2 * DAY;
    assert.equal((await lifecyclePass(env.store, OPTS)).expired, 2);
    const live = async (k: string) => liveVersion(await env.store.objects.get(b.id, k)) !== undefined;
    assert.deepEqual([await live('tagged'), await live('other-tag'), await live('size/small'), await live('size/mid'), await live('size/large')], [false, true, true, false, true]);
  } finally {
    await env.close();
  }
});

test('a pass reads at most entriesPerPass entries per bucket; the cursor in the metadata DB survives a restart', async () => {
  const { env, clock, b } = await setup([rule({ expiration: { days: 1 } })]);
  const opts = { ...OPTS, entriesPerPass: 3 };
  let store: Store | undefined;
  try {
    for (let i = 0; i < 7; i++) await put(env, b, `k${i}`);
    clock.t += 2 * DAY;
    const first = await lifecyclePass(env.store, opts);
    assert.deepEqual([first.scanned, first.expired, first.resuming], [3, 3, 1]);
    assert.ok(liveVersion(await env.store.objects.get(b.id, 'k3')));
    // Restart: a new Store over the same metadata directory continues after k2.
    await env.store.close();
    store = new Store({ metadataDir: join(env.dir, 'meta'), dataDir: join(env.dir, 'data'), blockSize: 1024 * 1024, compression: 'none', dataFsync: false, metadataFsync: false, inlineThreshold: 3072, clock });
    const second = await lifecyclePass(store, opts);
    assert.deepEqual([second.scanned, second.expired, second.resuming], [3, 3, 1]);
    assert.equal(liveVersion(await store.objects.get(b.id, 'k5')), undefined);
    assert.ok(liveVersion(await store.objects.get(b.id, 'k6')));
    const third = await lifecyclePass(store, opts);
    assert.deepEqual([third.scanned, third.expired, third.resuming], [1, 1, 0]);
    // Done for this interval: the next pass skips the bucket until the interval has passed.
    assert.equal((await lifecyclePass(store, opts)).buckets, 0);
    clock.t += DAY;
    assert.equal((await lifecyclePass(store, opts)).buckets, 1);
  } finally {
    await store?.close();
    (env.store as { close(): Promise<void> }).close = async () => {};
    await env.close();
  }
});

test('disabled rules, and buckets this node is not responsible for, are left alone', async () => {
  const { env, clock, b } = await setup([rule({ enabled: false, expiration: { days: 1 } })]);
  try {
    await put(env, b, 'k');
    clock.t += 2 * DAY;
    assert.equal((await lifecyclePass(env.store, OPTS)).buckets, 0);
    await env.store.buckets.insert({ ...b, lifecycle: { t: T0 + 1, v: { rules: [rule({ expiration: { days: 1 } })] } } });
    assert.equal((await lifecyclePass(env.store, { ...OPTS, responsible: () => false })).buckets, 0);
    assert.ok(liveVersion(await env.store.objects.get(b.id, 'k')));
    assert.equal((await lifecyclePass(env.store, OPTS)).expired, 1);
  } finally {
    await env.close();
  }
});
