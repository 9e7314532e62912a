// The site workflow's indexes (model/site-index.ts): an owner's paged site list names every site
// whose bucket gives the key the owner flag, however it got it (CreateSite, AllowBucketKey, an
// entry merged from a peer, a database written before the index); GetSiteInfo counts pending
// quota requests without reading every request; a site keeps its last 100 decided requests and at
// most 10 pending ones.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { ADMIN_TOKEN, startTestAdmin, type TestAdmin } from '../src/api/admin/testkit.ts';
import { listSitePage } from '../src/api/admin/console/site-list.ts';
import { newBucket, type Bucket } from '../src/model/bucket.ts';
import type { SiteEntry } from '../src/model/site.ts';
import type { Alias } from '../src/model/alias.ts';
import { Store } from '../src/model/store.ts';

let t: TestAdmin;
before(async () => {
  t = await startTestAdmin();
});
after(async () => {
  await t.close();
});

function api(op: string, body?: unknown, query = ''): Promise<{ status: number; json: any }> {
  return new Promise((ok, fail) => {
    const req = request(
      `${t.url}/v2/${op}${query ? `?${query}` : ''}`,
      { method: body === undefined ? 'GET' : 'POST', agent: false, headers: { authorization: `Bearer ${ADMIN_TOKEN}` } },
      (res) => {
        const parts: Buffer[] = [];
        res.on('data', (c: Buffer) => parts.push(c));
        res.once('end', () => ok({ status: res.statusCode ?? 0, json: JSON.parse(Buffer.concat(parts).toString('utf8') || '{}') }));
        res.once('error', fail);
      },
    );
    req.once('error', fail);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

async function ok(op: string, body?: unknown, query = ''): Promise<any> {
  const r = await api(op, body, query);
  assert.equal(r.status, 200, `${op}: ${JSON.stringify(r.json)}`);
  return r.json;
}

async function ownerList(keyId: string): Promise<string[]> {
  const out: string[] = [];
  let start: string | null = null;
  for (let n = 0; n < 100; n++) {
    const q = new URLSearchParams(`limit=50${start !== null ? `&start=${encodeURIComponent(start)}` : ''}`);
    const r = await listSitePage(t.store, { admin: false, keyId }, q);
    out.push(...r.sites.map((s) => s.domain));
    if (r.nextStart === null) return out;
    start = r.nextStart;
  }
  throw new Error('the pages do not end');
}

test('a site whose owner flag came through AllowBucketKey (or a peer) is in the owner’s list; taken away, it leaves', async () => {
  const a = await ok('CreateKey', { name: 'alice' });
  const b = await ok('CreateKey', { name: 'bob' });
  const site = await ok('CreateSite', { domain: 'shared.example.org', owner: a.accessKeyId });
  await ok('CreateSite', { domain: 'alone.example.org', owner: a.accessKeyId });
  assert.deepEqual(await ownerList(a.accessKeyId), ['alone.example.org', 'shared.example.org']);
  assert.deepEqual(await ownerList(b.accessKeyId), []);
  await ok('AllowBucketKey', { bucketId: site.bucketId, accessKeyId: b.accessKeyId, permissions: { owner: true } });
  assert.deepEqual(await ownerList(b.accessKeyId), ['shared.example.org'], 'made owner by AllowBucketKey');
  await ok('DenyBucketKey', { bucketId: site.bucketId, accessKeyId: b.accessKeyId, permissions: { owner: true } });
  assert.deepEqual(await ownerList(b.accessKeyId), []);
  // A grant made on another node arrives as a merged entry (a peer's put or anti-entropy).
  const cur = (await t.store.bucketById(site.bucketId))!;
  t.store.buckets.local.insert({ ...cur, keys: { ...cur.keys, [b.accessKeyId]: { t: t.store.ts(), v: { read: true, write: false, owner: true } } } });
  assert.deepEqual(await ownerList(b.accessKeyId), ['shared.example.org'], 'a replicated grant');
  await ok('DeleteSite', {}, 'site=shared.example.org');
  assert.deepEqual(await ownerList(b.accessKeyId), []);
  assert.deepEqual(await ownerList(a.accessKeyId), ['alone.example.org']);
});

test('a database written before the index: the owners’ lists are complete once it is built (in chunks, kept across a restart)', async () => {
  const dir = t.config.metadata_dir + '-old';
  const open = () => new Store({ metadataDir: dir, dataDir: t.config.data_dir + '-old', blockSize: 1 << 20, compression: 'none', dataFsync: false, metadataFsync: false, inlineThreshold: 3072 });
  let store = open();
  const KEY = 'GK' + 'c'.repeat(24);
  const want: string[] = [];
  for (let i = 0; i < 2500; i += 500) {
    const bs: Bucket[] = [];
    const as: Alias[] = [];
    const ss: SiteEntry[] = [];
    for (let j = i; j < i + 500; j++) {
      const ts = store.ts();
      const name = `old${String(j).padStart(4, '0')}.example.org`;
      const b = newBucket(store.newUuid() + store.newUuid(), ts);
      b.aliases[name] = { t: ts, v: true };
      if (j % 97 === 0) {
        b.keys[KEY] = { t: ts, v: { read: true, write: true, owner: true } };
        want.push(name);
      }
      bs.push(b);
      as.push({ name, bucket: { t: ts, v: b.id }, given: { t: ts, v: b.id } });
      ss.push({ bucket: b.id, domain: name, created: ts, deleted: { t: ts, v: false }, deploys: { t: ts, v: { current: null, previous: null } } });
    }
    await store.buckets.insertMany(bs);
    await store.aliases.insertMany(as);
    await store.sites.insertMany(ss);
  }
  // What an older version left: the same tables, no index.
  const idx = store.db.tree<unknown>('site_index');
  store.db.transaction(() => {
    for (const { key } of [...idx.range()]) idx.remove(key);
  });
  await store.close();
  store = open();
  try {
    const r = await listSitePage(store, { admin: false, keyId: KEY }, new URLSearchParams('limit=200'));
    assert.deepEqual(
      r.sites.map((s) => s.domain),
      want,
    );
    await store.close();
    store = open();
    const t0 = performance.now();
    const again = await listSitePage(store, { admin: false, keyId: KEY }, new URLSearchParams('limit=200'));
    console.log(`# owner page after a restart (index built): ${(performance.now() - t0).toFixed(1)} ms`);
    assert.equal(again.sites.length, want.length);
  } finally {
    await store.close();
  }
});

test('GetSiteInfo counts pending requests without reading every request; 10 pending at most, the last 100 decided kept', async () => {
  const k = await ok('CreateKey', { name: 'quota-owner' });
  const site = await ok('CreateSite', { domain: 'many.example.org', owner: k.accessKeyId });
  await ok('CreateSite', { domain: 'other.example.org', owner: k.accessKeyId });
  for (let i = 0; i < 3; i++) await ok('CreateQuotaRequest', { bytes: '1GB', reason: `other ${i}` }, 'site=other.example.org');
  const ids: string[] = [];
  for (let i = 0; i < 10; i++) ids.push((await ok('CreateQuotaRequest', { bytes: '1GB', reason: `r${i}` }, 'site=many.example.org')).id);
  const eleventh = await api('CreateQuotaRequest', { bytes: '1GB', reason: 'one too many' }, 'site=many.example.org');
  assert.equal(eleventh.status, 409, JSON.stringify(eleventh.json));
  assert.equal(eleventh.json.code, 'TooManyPendingRequests');
  // The count comes from the index: the request table is not scanned.
  const range = t.store.quotaRequests.range;
  let scans = 0;
  t.store.quotaRequests.range = (...a) => {
    scans++;
    return range.apply(t.store.quotaRequests, a);
  };
  try {
    assert.equal((await ok('GetSiteInfo', undefined, 'site=many.example.org')).pendingQuotaRequests, 10);
    assert.equal((await ok('GetSiteInfo', undefined, 'site=other.example.org')).pendingQuotaRequests, 3);
    assert.equal(scans, 0, 'GetSiteInfo read the quota request table');
  } finally {
    t.store.quotaRequests.range = range;
  }
  // 130 decisions over the site's life: the newest 100 are kept, the older ones expire.
  for (let round = 0; round < 13; round++) {
    for (const id of ids.splice(0)) await ok('DenyQuotaRequest', { reason: 'no' }, `id=${id}`);
    assert.equal((await ok('GetSiteInfo', undefined, 'site=many.example.org')).pendingQuotaRequests, 0);
    if (round < 12) for (let i = 0; i < 10; i++) ids.push((await ok('CreateQuotaRequest', { bytes: '1GB', reason: `round ${round} ${i}` }, 'site=many.example.org')).id);
  }
  const all = (await ok('ListQuotaRequests')) as { site: string; state: string; reason: string }[];
  const many = all.filter((r) => r.site === 'many.example.org');
  assert.equal(many.length, 100, 'decided requests kept per site');
  assert.ok(!many.some((r) => r.reason === 'r0'), 'the oldest expired');
  assert.ok(many.some((r) => r.reason === 'round 11 9'), 'the newest kept');
  assert.equal(all.filter((r) => r.site === 'other.example.org').length, 3, 'other sites untouched');
});
