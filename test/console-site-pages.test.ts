// ListSites by pages (?limit=&start=&search=, api/admin/console/site-list.ts): every site once
// across the pages, in domain order, for admins; owners page through theirs only; search by
// prefix and substring; bad parameters 400; the unpaged answer unchanged — and a page at 50,000
// sites costs about what it costs at 500 (timings printed). The console's Sites page pages them.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { get as httpGet } from 'node:http';
import { join } from 'node:path';
import { ADMIN_TOKEN, startTestAdmin, type TestAdmin } from '../src/api/admin/testkit.ts';
import { newBucket, type Bucket } from '../src/model/bucket.ts';
import type { SiteEntry } from '../src/model/site.ts';
import type { Alias } from '../src/model/alias.ts';
import type { AccessKey } from '../src/model/key.ts';
import { listSitePage } from '../src/api/admin/console/site-list.ts';
import { browserSkip, openBrowser, SHOTS } from './lib/browser.ts';

let t: TestAdmin;
before(async () => {
  t = await startTestAdmin();
});
after(async () => {
  await t.close();
});

function api(admin: TestAdmin, op: string, query = ''): Promise<{ status: number; json: any }> {
  return new Promise((ok, fail) => {
    const req = httpGet(`${admin.url}/v2/${op}${query ? `?${query}` : ''}`, { agent: false, headers: { authorization: `Bearer ${ADMIN_TOKEN}` } }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.once('end', () => ok({ status: res.statusCode ?? 0, json: JSON.parse(Buffer.concat(parts).toString('utf8')) }));
      res.once('error', fail);
    });
    req.once('error', fail);
  });
}

/** Sites straight through the tables (50,000 CreateSite calls would take minutes); `owner(i)`
 *  names the key owning site i, if any, which gets the site in its index as CreateSite does. */
async function fillSites(admin: TestAdmin, names: string[], owner: (i: number) => string | undefined = () => undefined): Promise<void> {
  const store = admin.store;
  for (let i = 0; i < names.length; i += 1000) {
    const bs: Bucket[] = [];
    const as: Alias[] = [];
    const ss: SiteEntry[] = [];
    names.slice(i, i + 1000).forEach((name, j) => {
      const ts = store.ts();
      const b = newBucket(store.newUuid() + store.newUuid(), ts);
      b.aliases[name] = { t: ts, v: true };
      b.website = { t: ts, v: { indexDocument: 'index.html' } };
      const k = owner(i + j);
      if (k) b.keys[k] = { t: ts, v: { read: true, write: true, owner: true } };
      bs.push(b);
      as.push({ name, bucket: { t: ts, v: b.id }, given: { t: ts, v: b.id } });
      ss.push({ bucket: b.id, domain: name, created: ts, deleted: { t: ts, v: false }, deploys: { t: ts, v: { current: null, previous: null } } });
    });
    await store.buckets.insertMany(bs);
    await store.aliases.insertMany(as);
    await store.sites.insertMany(ss);
    for (const b of bs) for (const k of Object.keys(b.keys)) await indexSite(admin, k, b.id);
  }
}

async function indexSite(admin: TestAdmin, keyId: string, bucketId: string): Promise<void> {
  const ts = admin.store.ts();
  const k: AccessKey = (await admin.store.key(keyId)) ?? { id: keyId, secret: 'f'.repeat(64), created: ts, name: { t: ts, v: 'owner' }, deleted: { t: ts, v: false }, allowCreateBucket: { t: ts, v: false } };
  await admin.store.keys.insert({ ...k, ownSites: { ...(k.ownSites ?? {}), [bucketId]: { t: ts, v: 'given' } } });
}

const KEY = 'GK' + 'e'.repeat(24);

async function allPages(p: Parameters<typeof listSitePage>[1], query: string, budget: number): Promise<string[]> {
  const out: string[] = [];
  let start: string | null = null;
  for (let n = 0; ; n++) {
    assert.ok(n < 2000, 'the pages end');
    const q = new URLSearchParams(query + (start !== null ? `&start=${encodeURIComponent(start)}` : ''));
    const r = await listSitePage(t.store, p, q, budget);
    out.push(...r.sites.map((s) => s.domain));
    if (r.nextStart === null) return out;
    start = r.nextStart;
  }
}

test('paged ListSites: each site once in domain order, owners only theirs, search, bad parameters 400', async () => {
  const names = Array.from({ length: 60 }, (_, i) => `s${String(i).padStart(2, '0')}.example.org`);
  await fillSites(t, names, (i) => (i % 7 === 0 ? KEY : undefined));
  // A plain bucket (no site) and a deleted site are not listed.
  const plain = newBucket(t.store.newUuid() + t.store.newUuid(), t.store.ts());
  plain.aliases['s30-plain.example.org'] = { t: t.store.ts(), v: true };
  await t.store.buckets.insert(plain);
  await t.store.aliases.insert({ name: 's30-plain.example.org', bucket: { t: t.store.ts(), v: plain.id } });
  const gone = (await t.store.sites.range('site')).find((s) => s.domain === 's59.example.org')!;
  await t.store.sites.insert({ ...gone, deleted: { t: t.store.ts(), v: true } });
  const live = names.filter((n) => n !== 's59.example.org');

  for (const [limit, budget] of [[1, 2000], [7, 5], [200, 3], [200, 2000]] as const) {
    assert.deepEqual(await allPages({ admin: true }, `limit=${limit}`, budget), live, `limit ${limit}, budget ${budget}`);
  }
  const mine = live.filter((_, i) => i % 7 === 0);
  for (const budget of [1, 4, 2000]) assert.deepEqual(await allPages({ admin: false, keyId: KEY }, 'limit=3', budget), mine, `owner, budget ${budget}`);
  assert.deepEqual(await allPages({ admin: false, keyId: KEY }, 'limit=3&search=s2', 1), mine.filter((n) => n.includes('s2')));
  // The index names a site the key no longer owns (its owner flag was taken away): not listed.
  const first = (await t.store.bucketByName(mine[0]!))!;
  await t.store.buckets.insert({ ...first, keys: { ...first.keys, [KEY]: { t: t.store.ts(), v: { read: true, write: true, owner: false } } } });
  assert.deepEqual(await allPages({ admin: false, keyId: KEY }, 'limit=3', 1), mine.slice(1));
  await assert.rejects(listSitePage(t.store, { admin: false, keyId: KEY }, new URLSearchParams('start=a:x')), /not a token/, "an admin listing's token");
  assert.deepEqual(await allPages({ admin: false, keyId: 'GK' + 'f'.repeat(24) }, 'limit=3', 10), []);
  // Prefix first, then the other domains containing it.
  assert.deepEqual(await allPages({ admin: true }, 'limit=5&search=s1', 4), live.filter((n) => n.startsWith('s1')));
  assert.deepEqual(await allPages({ admin: true }, 'limit=5&search=5.example', 6), ['s05.example.org', 's15.example.org', 's25.example.org', 's35.example.org', 's45.example.org', 's55.example.org']);

  const page1 = await api(t, 'ListSites', 'limit=2');
  assert.equal(page1.status, 200);
  assert.deepEqual(page1.json.sites.map((s: any) => s.domain), ['s00.example.org', 's01.example.org']);
  assert.equal(typeof page1.json.nextStart, 'string');
  assert.equal(page1.json.sites[0].usage.bytes, 0);
  const unpaged = await api(t, 'ListSites');
  assert.ok(Array.isArray(unpaged.json), 'no parameter: the array the CLI reads');
  assert.equal(unpaged.json.length, live.length);
  for (const q of ['limit=0', 'limit=201', 'limit=x', 'start=zz', 'start=p:x', `search=${'a'.repeat(254)}`]) assert.equal((await api(t, 'ListSites', q)).status, 400, q);
});

async function pageMs(admin: TestAdmin, query: string, n = 7): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const r = await api(admin, 'ListSites', query);
    times.push(performance.now() - t0);
    assert.equal(r.status, 200);
  }
  return times.sort((a, b) => a - b)[Math.floor(n / 2)]!;
}

/** The 50,000-site node, filled once by the timing test and read by the browser test. */
let big: TestAdmin | undefined;
after(async () => {
  await big?.close();
});
const name = (i: number) => `site-${String(i).padStart(6, '0')}.example.org`;

test('a page at 50,000 sites costs about what it costs at 500', { timeout: 120_000 }, async () => {
  const admin = (big = await startTestAdmin());
  {
    await fillSites(admin, Array.from({ length: 500 }, (_, i) => name(i * 100)));
    const small = { first: await pageMs(admin, 'limit=20'), search: await pageMs(admin, 'limit=20&search=site-0001') };
    const rest: string[] = [];
    for (let i = 0; i < 50_000; i++) if (i % 100 !== 0) rest.push(name(i));
    const t0 = performance.now();
    // One owner with 2 sites among the 50,000, the last ones.
    await fillSites(admin, rest, (i) => (i >= rest.length - 2 ? KEY : undefined));
    const fillMs = performance.now() - t0;
    const large = {
      first: await pageMs(admin, 'limit=20'),
      later: await pageMs(admin, `limit=20&start=${encodeURIComponent('a:' + name(25_000))}`),
      search: await pageMs(admin, 'limit=20&search=site-0001'),
    };
    // An owner's pages read the index on their key: one request, whatever the number of sites.
    const o0 = performance.now();
    const mine: string[] = [];
    let hops = 0;
    for (let start: string | null = ''; start !== null; hops++) {
      const r = await listSitePage(admin.store, { admin: false, keyId: KEY }, new URLSearchParams(`limit=20${start ? `&start=${encodeURIComponent(start)}` : ''}`));
      mine.push(...r.sites.map((x) => x.domain));
      start = r.nextStart;
    }
    const ownerMs = performance.now() - o0;
    assert.deepEqual(mine, [name(49_998), name(49_999)]);
    console.log(`an owner's 2 sites among 50,000: ${hops} requests, ${ownerMs.toFixed(0)} ms in all`);
    assert.equal(hops, 1);
    assert.ok(ownerMs < 200, `an owner's page: ${ownerMs} ms`);
    console.log(
      `ListSites page of 20: 500 sites first ${small.first.toFixed(1)} ms, search ${small.search.toFixed(1)} ms; 50,000 sites (filled in ${(fillMs / 1000).toFixed(1)} s) ` +
        `first ${large.first.toFixed(1)} ms, later ${large.later.toFixed(1)} ms, search ${large.search.toFixed(1)} ms`,
    );
    assert.ok(large.first <= 3 * small.first + 25, `first page: ${large.first} ms at 50,000 vs ${small.first} ms at 500`);
    assert.ok(large.later <= 3 * small.first + 25, `later page: ${large.later} ms at 50,000 vs ${small.first} ms at 500`);
    assert.ok(large.search <= 3 * small.search + 25, `search: ${large.search} ms at 50,000 vs ${small.search} ms at 500`);
    assert.ok(large.first < 200 && large.later < 200, 'under 200 ms');
  }
});

test('the console pages through 50,000 sites', { skip: browserSkip, timeout: 120_000 }, async () => {
  assert.ok(big, 'the timing test filled the 50,000 sites');
  const admin = big;
  const browser = await openBrowser({ width: 1200, defaultTimeoutMs: 15_000 });
  try {
    const page = await browser.ctx.newPage();
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    await page.goto(admin.url + '/');
    await page.fill('#token', ADMIN_TOKEN);
    await page.click('button[type=submit]');
    await page.waitForSelector('a[href="#/sites"]');
    const t0 = performance.now();
    await page.click('a[href="#/sites"]');
    await page.waitForSelector('section[data-site="site-000019.example.org"]');
    const firstMs = performance.now() - t0;
    assert.equal(await page.locator('#sites section[data-site]').count(), 20);
    const t1 = performance.now();
    await page.click('button:has-text("Next →")');
    await page.waitForSelector('section[data-site="site-000020.example.org"]');
    const nextMs = performance.now() - t1;
    assert.equal(await page.locator('section[data-site="site-000000.example.org"]').count(), 0);
    await page.fill('#site-search', 'site-04999');
    await page.waitForSelector('section[data-site="site-049990.example.org"]');
    for (let i = 0; i < 100 && (await page.locator('#sites section[data-site]').count()) !== 10; i++) await page.waitForTimeout(100);
    assert.equal(await page.locator('#sites section[data-site]').count(), 10);
    await page.screenshot({ path: join(SHOTS, 'sites-50k.png'), fullPage: true });
    console.log(`console Sites page at 50,000 sites: first page drawn in ${firstMs.toFixed(0)} ms, next in ${nextMs.toFixed(0)} ms`);
    assert.deepEqual(problems, []);
  } finally {
    await browser.close();
  }
});
