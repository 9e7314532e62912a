// The console on a real 3-zone cluster in chromium: the map shows three zones with their node up,
// a node killed with SIGKILL turns red within 15 s (the page refreshes every 5 s), the banner
// says degraded, each node card shows its process's CPU and memory; a site owner sees their sites
// (one made theirs by AllowBucketKey on another node too) with usage bars and quotas.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { browserSkip, openBrowser, SHOTS, type Browser } from './lib/browser.ts';
import { startCluster, type Cluster } from './lib/cluster.ts';

/** What the console promises for a node that dies. */
const DOWN_VISIBLE_MS = 15_000;

let cluster: Cluster;
let browser: Browser | undefined;
let ctx: import('playwright-core').BrowserContext;

before(async () => {
  if (browserSkip) return;
  cluster = await startCluster({ zones: ['paris', 'lyon', 'nantes'] });
  browser = await openBrowser({ width: 1280, defaultTimeoutMs: 20_000 });
  ctx = browser.ctx;
});

after(async () => {
  await browser?.close();
  await cluster?.stop();
});

test('three zones on the map; a killed node turns red within 15 s', { skip: browserSkip, timeout: 180_000 }, async () => {
  const [a, , c] = cluster.nodes;
  const page = await ctx.newPage();
  await page.goto(a!.adminUrl + '/');
  await page.fill('#token', a!.adminToken);
  await page.click('button[type=submit]');
  // Polled from the test (the page's CSP refuses waitForFunction's string predicates). Just after
  // start a node may still be catching up, so the banner gets a few refreshes to say healthy.
  for (let i = 0; i < 150 && (await page.locator('.zone .node[data-up="true"]').count()) !== 3; i++) await page.waitForTimeout(100);
  assert.equal(await page.locator('.zone .node[data-up="true"]').count(), 3, 'three nodes up on the map');
  const zones = await page.$$eval('.zone', (els) => els.map((e) => e.getAttribute('data-zone')));
  assert.deepEqual(zones, ['lyon', 'nantes', 'paris']);
  await page.locator('#banner').filter({ hasText: /Cluster healthy/ }).waitFor({ timeout: 20_000 });
  // Each node's process as it reports it (node/info): CPU share and resident memory.
  for (const n of cluster.nodes) {
    const card = page.locator(`.node[data-node="${n.id}"]`);
    assert.match((await card.locator('dd.cpu').textContent()) ?? '', /^\d+(\.\d)?% of a core$/, `CPU of ${n.id.slice(0, 8)}`);
    assert.match((await card.locator('dd.rss').textContent()) ?? '', /^\d+(\.\d+)? [MG]B resident$/, `memory of ${n.id.slice(0, 8)}`);
  }
  await page.screenshot({ path: join(SHOTS, 'cluster-3-zones.png'), fullPage: true });
  // The README's picture (docs/console-cluster-map.png is a copy of one): the first screen only.
  await page.screenshot({ path: join(SHOTS, 'console-cluster-map.png') });

  const t0 = Date.now();
  await c!.kill('SIGKILL');
  await page.waitForSelector(`.node[data-node="${c!.id}"][data-up="false"]`, { timeout: DOWN_VISIBLE_MS });
  const ms = Date.now() - t0;
  console.log(`# killed node shown down after ${ms} ms`);
  assert.ok(ms <= DOWN_VISIBLE_MS);
  // A locator, not waitForFunction: the page's CSP (no unsafe-eval) refuses string predicates.
  await page.locator('#banner').filter({ hasText: /Cluster (degraded|unavailable)/ }).waitFor({ timeout: 10_000 });
  await page.screenshot({ path: join(SHOTS, 'cluster-node-down.png'), fullPage: true });
  await page.close();
});

test("a site owner sees their site's usage against its quota", { skip: browserSkip, timeout: 60_000 }, async () => {
  const a = cluster.nodes[0]!;
  const b = cluster.nodes[1]!;
  await a.admin('CreateSite', { domain: 'club.example.org', owner: a.keyId });
  // A site made theirs by AllowBucketKey on another node is in the owner's list too.
  const other = (await a.admin('CreateKey', { name: 'first-owner' })) as { accessKeyId: string };
  const shared = (await a.admin('CreateSite', { domain: 'shared.example.org', owner: other.accessKeyId })) as { bucketId: string };
  await b.admin('AllowBucketKey', { bucketId: shared.bucketId, accessKeyId: a.keyId, permissions: { owner: true } });
  const page = await ctx.newPage();
  await page.goto(a.adminUrl + '/#/login');
  await page.click('button[aria-pressed="false"]');
  await page.fill('#key-id', a.keyId);
  await page.fill('#key-secret', a.secret);
  await page.click('button[type=submit]');
  await page.waitForSelector('section[data-site="club.example.org"] [role=progressbar]');
  assert.match((await page.textContent('section[data-site="club.example.org"]')) ?? '', /of 50\.0 MB/);
  await page.waitForSelector('section[data-site="shared.example.org"] [role=progressbar]');
  await page.screenshot({ path: join(SHOTS, 'owner-sites.png'), fullPage: true });
  await page.close();
});
