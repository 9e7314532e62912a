// ListBuckets by pages (?limit=&start=&search=, api/admin/bucket-list.ts): every bucket listed
// once across the pages, search by alias substring and id prefix, bad parameters refused, the
// unpaged answer unchanged (Garage's array) — and a page at 50,000 buckets costs about what it
// costs at 500 (timings printed); the console shows page 1 of 50,000, the next one, and a search.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { get as httpGet } from 'node:http';
import { ADMIN_TOKEN, startTestAdmin, type TestAdmin } from '../src/api/admin/testkit.ts';
import { newBucket, type Bucket } from '../src/model/bucket.ts';
import { bucketAliases, createBucket } from '../src/model/bucket-ops.ts';
import { listBucketPage } from '../src/api/admin/bucket-list.ts';
import fc from 'fast-check';
import { generateKeyPair, type AccessKey } from '../src/model/key.ts';
import { join } from 'node:path';
import { browserSkip, openBrowser, SHOTS } from './lib/browser.ts';

let t: TestAdmin;
before(async () => {
  t = await startTestAdmin();
});
after(async () => {
  await t.close();
});

/** One GET on a fresh connection (a kept-alive one may be closed by the server while the test fills
 *  the tables for seconds, and reusing it then is an ECONNRESET race, not a finding). */
function api(op: string, query = ''): Promise<{ status: number; json: any }> {
  return new Promise((ok, fail) => {
    const req = httpGet(`${t.url}/v2/${op}${query ? `?${query}` : ''}`, { agent: false, headers: { authorization: `Bearer ${ADMIN_TOKEN}` } }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.once('end', () => {
        let json: unknown;
        try {
          json = JSON.parse(Buffer.concat(parts).toString('utf8'));
        } catch {
          json = undefined;
        }
        ok({ status: res.statusCode ?? 0, json });
      });
      res.once('error', fail);
    });
    req.once('error', fail);
  });
}

/** Inserts buckets straight through the tables (50,000 CreateBucket calls would take minutes). */
export async function fillBuckets(admin: TestAdmin, names: string[]): Promise<void> {
  const store = admin.store;
  for (let i = 0; i < names.length; i += 1000) {
    const bs: Bucket[] = [];
    const as = [];
    for (const name of names.slice(i, i + 1000)) {
      const ts = store.ts();
      const b = newBucket(store.newUuid() + store.newUuid(), ts);
      b.aliases[name] = { t: ts, v: true };
      bs.push(b);
      as.push({ name, bucket: { t: ts, v: b.id }, given: { t: ts, v: b.id } });
    }
    await store.buckets.insertMany(bs);
    await store.aliases.insertMany(as);
  }
}

async function allPages(query: string, limit: number): Promise<{ ids: string[]; pages: number }> {
  const ids: string[] = [];
  let start: string | null = null;
  let pages = 0;
  do {
    const r = await api('ListBuckets', `limit=${limit}${query}${start !== null ? `&start=${encodeURIComponent(start)}` : ''}`);
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.ok(r.json.buckets.length <= limit);
    ids.push(...r.json.buckets.map((b: { id: string }) => b.id));
    start = r.json.nextStart;
    pages++;
    assert.ok(pages < 1000, 'the pages end');
  } while (start !== null);
  return { ids, pages };
}

test('paged ListBuckets lists every live bucket once; search by alias substring and id prefix; bad parameters are 400', async () => {
  const store = t.store;
  await fillBuckets(t, Array.from({ length: 25 }, (_, i) => `page-${String(i).padStart(2, '0')}`));
  // A bucket with two global aliases, one with only a local alias, a deleted one.
  const two = await createBucket(store, 'twin-a');
  await t.store.aliases.insert({ name: 'twin-b', bucket: { t: store.ts(), v: two.id } });
  await store.buckets.insert({ ...(await store.bucketById(two.id))!, aliases: { ...two.aliases, 'twin-b': { t: store.ts(), v: true } } });
  const loner = newBucket(store.newUuid() + store.newUuid(), store.ts());
  await store.buckets.insert(loner);
  const k = { id: 'GK' + 'c'.repeat(24) };
  const r0 = await fetch(`${t.url}/v2/ImportKey`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN_TOKEN}` }, body: JSON.stringify({ accessKeyId: k.id, secretAccessKey: 'd'.repeat(64), name: 'loc' }) });
  assert.equal(r0.status, 200, await r0.text());
  // A page lists the local aliases of keys with a permission entry on the bucket (bucket-list.ts).
  const allow = await fetch(`${t.url}/v2/AllowBucketKey`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN_TOKEN}` }, body: JSON.stringify({ bucketId: loner.id, accessKeyId: k.id, permissions: { read: true } }) });
  assert.equal(allow.status, 200, await allow.text());
  const add = await fetch(`${t.url}/v2/AddBucketAlias`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN_TOKEN}` }, body: JSON.stringify({ bucketId: loner.id, localAlias: 'mine', accessKeyId: k.id }) });
  assert.equal(add.status, 200, await add.text());
  const gone = await createBucket(store, 'gone');
  const del = await fetch(`${t.url}/v2/DeleteBucket?id=${gone.id}`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN_TOKEN}` }, body: '{}' });
  assert.equal(del.status, 200);

  const full = await api('ListBuckets');
  assert.ok(Array.isArray(full.json), 'no parameter: the Garage array');
  const expected = full.json.map((b: { id: string }) => b.id).sort();
  assert.equal(expected.length, 27);
  for (const limit of [1, 4, 100]) {
    const { ids, pages } = await allPages('', limit);
    assert.deepEqual([...ids].sort(), expected, `limit ${limit}: each bucket once`);
    assert.equal(new Set(ids).size, ids.length);
    if (limit === 4) assert.equal(pages, 7);
  }
  const first = await api('ListBuckets', 'limit=3');
  assert.deepEqual(first.json.buckets.map((b: { globalAliases: string[] }) => b.globalAliases[0]), ['page-00', 'page-01', 'page-02'], 'in name order');
  const lonerItem = (await allPages('', 100)).ids.indexOf(loner.id);
  assert.ok(lonerItem >= 0);
  const lastPage = await api('ListBuckets', 'limit=1000');
  const l = lastPage.json.buckets.find((b: { id: string }) => b.id === loner.id);
  assert.deepEqual(l.localAliases, [{ accessKeyId: k.id, alias: 'mine' }]);
  assert.deepEqual(lastPage.json.buckets.find((b: { id: string }) => b.id === two.id).globalAliases, ['twin-a', 'twin-b']);
  assert.equal(lastPage.json.nextStart, null);

  const s = await allPages('&search=ge-1', 2);
  assert.equal(s.ids.length, 10, 'page-10 … page-19');
  assert.equal((await allPages('&search=TWIN-B', 5)).ids.join(), two.id, 'case-insensitive, the second alias matches');
  assert.deepEqual((await allPages(`&search=${loner.id.slice(0, 8)}`, 5)).ids, [loner.id], 'id prefix');
  assert.deepEqual((await allPages('&search=nothing-like-it', 5)).ids, []);
  assert.equal((await allPages('&search=page-1', 3)).ids.length, 10, 'prefix');
  assert.equal((await allPages('&search=win', 1)).ids.join(), two.id, 'two matching aliases: listed once');
  assert.equal((await allPages('&search=twin', 1)).ids.join(), two.id, 'two matching prefixes: listed once');
  const mix = await createBucket(store, 'xx-mix');
  await store.aliases.insert({ name: 'mix-yy', bucket: { t: store.ts(), v: mix.id } });
  await store.buckets.insert({ ...(await store.bucketById(mix.id))!, aliases: { ...mix.aliases, 'mix-yy': { t: store.ts(), v: true } } });
  assert.deepEqual((await allPages('&search=mix', 1)).ids, [mix.id], 'a prefix match and a substring match: listed once');
  const first2 = await api('ListBuckets', 'limit=2&search=page');
  assert.equal(first2.json.nextStart.slice(0, 2), 'p:');
  assert.equal((await api('ListBuckets', `limit=2&start=${encodeURIComponent(first2.json.nextStart)}`)).status, 400, 'a search token without its search');

  for (const q of ['limit=0', 'limit=1001', 'limit=x', 'start=zzz', `search=${'a'.repeat(65)}`]) {
    const r = await api('ListBuckets', q);
    assert.equal(r.status, 400, q);
    assert.equal(r.json.code, 'InvalidRequest', q);
  }
});

/** Median ms of `n` requests for a page. */
async function pageMs(query: string, n = 15): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const r = await api('ListBuckets', query);
    times.push(performance.now() - t0);
    assert.equal(r.status, 200);
  }
  return times.sort((a, b) => a - b)[Math.floor(n / 2)]!;
}

test('a page at 50,000 buckets costs about what it costs at 500', { timeout: 120_000 }, async () => {
  const admin = await startTestAdmin();
  const saved = t;
  t = admin;
  try {
    const name = (i: number) => `scale-${String(i).padStart(6, '0')}`;
    await fillBuckets(admin, Array.from({ length: 500 }, (_, i) => name(i * 100)));
    const mid = (await api('ListBuckets', 'limit=100')).json.nextStart;
    const small = { first: await pageMs('limit=100'), next: await pageMs(`limit=100&start=${encodeURIComponent(mid)}`), search: await pageMs('limit=100&search=scale-0001') };
    const t0 = performance.now();
    const rest: string[] = [];
    for (let i = 0; i < 50_000; i++) if (i % 100 !== 0) rest.push(name(i));
    await fillBuckets(admin, rest);
    const fillMs = performance.now() - t0;
    const page = (await api('ListBuckets', 'limit=100')).json;
    assert.equal(page.buckets.length, 100);
    const mid2 = (await api('ListBuckets', 'limit=1000&start=' + encodeURIComponent('a:scale-025000'))).json.nextStart;
    const large = {
      first: await pageMs('limit=100'),
      next: await pageMs(`limit=100&start=${encodeURIComponent(mid2)}`),
      search: await pageMs('limit=100&search=scale-0001'),
    };
    const sub = (await api('ListBuckets', 'limit=100&search=-0499')).json;
    const w0 = performance.now();
    assert.equal((await api('ListBuckets')).json.length, 50_000);
    const wholeMs = performance.now() - w0;
    console.log(`ListBuckets page of 100: 500 buckets first ${small.first.toFixed(1)} ms, later ${small.next.toFixed(1)} ms, search ${small.search.toFixed(1)} ms; 50,000 buckets (filled in ${(fillMs / 1000).toFixed(1)} s) first ${large.first.toFixed(1)} ms, later ${large.next.toFixed(1)} ms, search ${large.search.toFixed(1)} ms; the whole unpaged list ${wholeMs.toFixed(0)} ms`);
    // 10,000 keys (sites' owners) must not weigh on a page either: local aliases are read from the
    // keys a page's buckets name, not from every key.
    const keys: AccessKey[] = [];
    for (let i = 0; i < 10_000; i++) {
      const ts = admin.store.ts();
      const p = generateKeyPair();
      keys.push({ id: p.id, secret: p.secret, created: ts, name: { t: ts, v: `owner-${i}` }, deleted: { t: ts, v: false }, allowCreateBucket: { t: ts, v: false } });
    }
    for (let i = 0; i < keys.length; i += 1000) await admin.store.keys.insertMany(keys.slice(i, i + 1000));
    const withKeys = await pageMs('limit=100');
    console.log(`with 10,000 keys more: first page ${withKeys.toFixed(1)} ms`);
    for (const k of ['first', 'next'] as const) assert.ok(large[k] <= 3 * small[k] + 25, `${k} page: ${large[k]} ms at 50,000 vs ${small[k]} ms at 500`);
    assert.ok(withKeys <= 3 * small.first + 25, `first page with 10,000 keys: ${withKeys} ms vs ${small.first} ms`);
    // A substring search reads at most LIST_BUCKETS_SCAN_MAX names per request and says where to go on.
    assert.ok(sub.buckets.length <= 100);
    assert.ok(sub.nextStart !== null, 'a substring search over 50,000 names continues');
  } finally {
    t = saved;
    await admin.close();
  }
});

test('the console pages through 50,000 buckets and searches them on the node', { skip: browserSkip, timeout: 120_000 }, async () => {
  const admin = await startTestAdmin();
  const browser = await openBrowser({ width: 1200, defaultTimeoutMs: 15_000 });
  try {
    await fillBuckets(admin, Array.from({ length: 50_000 }, (_, i) => `web-${String(i).padStart(6, '0')}`));
    const page = await browser.ctx.newPage();
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    const asked: string[] = [];
    page.on('request', (r) => {
      if (r.url().includes('/v2/ListBuckets')) asked.push(new URL(r.url()).search);
    });
    await page.goto(admin.url + '/');
    await page.fill('#token', ADMIN_TOKEN);
    await page.click('button[type=submit]');
    await page.waitForSelector('a[href="#/buckets"]');
    const t0 = performance.now();
    await page.click('a[href="#/buckets"]');
    await page.waitForSelector('tr[data-bucket="web-000000"]');
    const firstMs = performance.now() - t0;
    const names = async () => page.locator('#buckets tbody tr').evaluateAll((rs) => rs.map((r) => r.getAttribute('data-bucket')));
    assert.equal((await names()).length, 50);
    assert.equal((await names())[49], 'web-000049');
    const t1 = performance.now();
    await page.click('button:has-text("Next →")');
    await page.waitForSelector('tr[data-bucket="web-000050"]');
    const nextMs = performance.now() - t1;
    assert.match((await page.textContent('.pager')) ?? '', /page 2/);
    await page.screenshot({ path: join(SHOTS, 'buckets-50k.png'), fullPage: true });
    await page.click('button:has-text("← Previous")');
    await page.waitForSelector('tr[data-bucket="web-000000"]');
    assert.ok(await page.locator('button:has-text("← Previous")').isDisabled(), 'no page before the first');
    const t2 = performance.now();
    await page.fill('#bucket-search', 'web-04999');
    for (let i = 0; i < 100 && (await page.locator('#buckets tbody tr').count()) !== 10; i++) await page.waitForTimeout(100);
    const searchMs = performance.now() - t2;
    assert.deepEqual(await names(), Array.from({ length: 10 }, (_, i) => `web-04999${i}`));
    assert.ok(asked.every((q) => /limit=50/.test(q)), `every request asks for one page: ${asked.join(' ')}`);
    console.log(`console at 50,000 buckets: first page shown in ${firstMs.toFixed(0)} ms, next page in ${nextMs.toFixed(0)} ms, search (200 ms debounce included) in ${searchMs.toFixed(0)} ms`);
    assert.deepEqual(problems, []);
  } finally {
    await browser.close();
    await admin.close();
  }
});

test('property: pages with any limit and scan budget list exactly the matching buckets, each once', { timeout: 120_000 }, async () => {
  const admin = await startTestAdmin();
  const store = admin.store;
  let run = 0;
  try {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ names: fc.uniqueArray(fc.stringMatching(/^[abc1]{1,4}$/), { maxLength: 3 }), deleted: fc.boolean() }), { maxLength: 8 }),
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 1, max: 7 }),
        fc.constantFrom('', 'a', 'b1', 'c', '1', 'ab', 'x'),
        async (specs, limit, budget, search) => {
          run++;
          for (const [i, spec] of specs.entries()) {
            const ts = store.ts();
            const b = newBucket(store.newUuid() + store.newUuid(), ts);
            // Unique names per run and bucket: the model never lets two buckets share an alias.
            for (const n of spec.names) {
              const name = `${n}-${run}-${i}`;
              b.aliases[name] = { t: ts, v: true };
              await store.aliases.insert({ name, bucket: { t: ts, v: b.id } });
            }
            if (spec.deleted) b.deleted = { t: ts, v: true };
            await store.buckets.insert(b);
          }
          const live = await store.liveBuckets();
          const expected = live
            .filter((b) => search === '' || bucketAliases(b).some((a) => a.includes(search)) || (/^[0-9a-f]+$/.test(search) && b.id.startsWith(search)))
            .map((b) => b.id)
            .sort();
          const got: string[] = [];
          let start: string | null = null;
          for (let pages = 0; ; pages++) {
            assert.ok(pages < 2000, 'the pages end');
            const q = new URLSearchParams({ limit: String(limit) });
            if (search) q.set('search', search);
            if (start !== null) q.set('start', start);
            const p = await listBucketPage(store, q, budget);
            assert.ok(p.buckets.length <= limit);
            got.push(...p.buckets.map((b) => b.id));
            start = p.nextStart;
            if (start === null) break;
          }
          assert.equal(new Set(got).size, got.length, 'no bucket twice');
          assert.deepEqual([...got].sort(), expected);
        },
      ),
      { numRuns: 40 },
    );
  } finally {
    await admin.close();
  }
});
