// The console's object browser, layout, metrics and workers pages in a real browser (Debian's
// chromium driven by playwright-core) against a real node: upload two files into a folder, list
// them, download one and compare bytes, a share link fetched without the browser, delete; the
// layout page shows the node. Screenshots go to $GRENIER_CONSOLE_SHOTS (default /tmp/grenier-console).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { browserSkip, openBrowser, SHOTS, type Browser } from './lib/browser.ts';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { startNode, s3Client, type TestNode } from './lib/node.ts';


let node: TestNode;
let browser: Browser | undefined;
let ctx: import('playwright-core').BrowserContext;
let page: import('playwright-core').Page;
const problems: string[] = [];

before(async () => {
  if (browserSkip) return;
  node = await startNode();
  browser = await openBrowser({ width: 1200, defaultTimeoutMs: 15_000, acceptDownloads: true });
  ctx = browser.ctx;
  page = await ctx.newPage();
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('dialog', (d) => void d.accept());
  await page.goto(node.adminUrl + '/');
  await page.fill('#token', node.adminToken);
  await page.click('button[type=submit]');
  await page.waitForSelector('.zone .node');
});

/** Polls `check` (the page's CSP forbids the string predicates of waitForFunction) until it holds. */
async function until(what: string, check: () => Promise<boolean>, ms = 12_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((ok) => setTimeout(ok, 100));
  }
}

after(async () => {
  await browser?.close();
  await node?.stop();
});

test('object browser: upload two files into a folder, list, download, share link, delete', { skip: browserSkip, timeout: 120_000 }, async () => {
  const b = (await node.admin('CreateBucket', { globalAlias: 'photos' })) as { id: string };
  await node.admin('AllowBucketKey', { bucketId: b.id, accessKeyId: node.keyId, permissions: { read: true, write: true, owner: false } });
  const one = Buffer.from('the first file\n'.repeat(1000));
  const two = Buffer.from(Array.from({ length: 70_000 }, (_, i) => (i * 7) & 255));
  const hostile = '<img src=x onerror="window.pwned=1">.txt';

  await page.click('a[href="#/buckets"]');
  await page.click('tr[data-bucket="photos"] button');
  await page.click('section[aria-label="bucket photos"] a:has-text("Browse objects")');
  await page.waitForSelector('#objects');
  await page.fill('#upload-folder', 'holiday');
  await page.setInputFiles('#upload-files', [
    { name: 'one.txt', mimeType: 'text/plain', buffer: one },
    { name: 'two.bin', mimeType: 'application/octet-stream', buffer: two },
    { name: hostile, mimeType: 'text/plain', buffer: Buffer.from('x') },
  ]);
  await page.click('form[aria-label="Upload files"] button');
  // The upload moves into the folder it wrote to and lists it.
  await page.waitForSelector('tr[data-key="holiday/two.bin"]');
  assert.equal(await page.locator('#objects tbody tr[data-key]').count(), 3);
  assert.equal(await page.locator('#objects img').count(), 0, 'a hostile file name is text');
  assert.equal(await page.evaluate('window.pwned'), undefined);
  assert.match(decodeURIComponent(page.url()), /#\/objects\/photos\/holiday\/$/);
  await page.screenshot({ path: join(SHOTS, 'objects.png'), fullPage: true });

  // The top level shows the folder.
  await page.click('nav.crumbs a:has-text("photos")');
  await page.waitForSelector('tr[data-prefix="holiday/"]');
  await page.click('tr[data-prefix="holiday/"] a');
  await page.waitForSelector('tr[data-key="holiday/one.txt"]');

  const [download] = await Promise.all([page.waitForEvent('download'), page.click('tr[data-key="holiday/two.bin"] button:has-text("Download")')]);
  assert.equal(download.suggestedFilename(), 'two.bin');
  assert.deepEqual(readFileSync((await download.path())!), two, 'downloaded bytes are the uploaded bytes');

  await page.click('tr[data-key="holiday/one.txt"] button:has-text("Share")');
  await page.selectOption('#share-expiry', String(7 * 86400));
  await page.fill('#share-endpoint', node.s3Url);
  await page.click('form[aria-label="Share link"] button');
  await until('the share link', async () => (await page.inputValue('#share-link')).startsWith('http'));
  const link = await page.inputValue('#share-link');
  assert.match(link, /X-Amz-Expires=604800/);
  assert.ok(!link.includes(node.secret));
  const got = await fetch(link);
  assert.equal(got.status, 200);
  assert.deepEqual(Buffer.from(await got.arrayBuffer()), one, 'the share link serves the object to anyone');
  await page.screenshot({ path: join(SHOTS, 'objects-share.png'), fullPage: true });

  await page.click('tr[data-key="holiday/one.txt"] button:has-text("Delete")');
  await page.waitForSelector('tr[data-key="holiday/one.txt"]', { state: 'detached' });
  const s3 = s3Client(node);
  await assert.rejects(s3.send(new HeadObjectCommand({ Bucket: 'photos', Key: 'holiday/one.txt' })), (e: { name?: string }) => e.name === 'NotFound');
  await s3.send(new HeadObjectCommand({ Bucket: 'photos', Key: 'holiday/two.bin' }));
  s3.destroy();
  const audit = (await node.admin('ListAuditEvents')) as { events: { op: string; target: string }[] };
  assert.ok(audit.events.some((e) => e.op === 'ConsoleDeleteObject' && e.target.includes('holiday/one.txt')), 'the delete is in the audit log');
  assert.deepEqual(problems, []);
});

test('layout page: the node in the roles table, stage a change, preview drawn, apply with the version', { skip: browserSkip, timeout: 60_000 }, async () => {
  const me = (await node.admin('GetNodeInfo', undefined, 'node=self')) as { success: Record<string, unknown> };
  const id = Object.keys(me.success)[0]!;
  const before = (await node.admin('GetClusterLayout')) as { version: number };
  await page.click('a[href="#/layout"]');
  // A cluster of one runs without a role: the node is offered in the form.
  await page.waitForSelector(`#role-node option[value="${id}"]`, { state: "attached" });
  assert.match((await page.textContent('#layout-roles')) ?? '', /No node has a role yet/);
  await page.selectOption('#role-node', id);
  await page.fill('#role-zone', 'home-a');
  await page.fill('#role-capacity', '2GB');
  await page.fill('#role-tags', 'console, <b>bold</b>');
  await page.click('form[aria-label="Stage a role"] button[type=submit]');
  await page.waitForSelector(`#layout-staged tr[data-node="${id}"]`);
  await page.click('button:has-text("Preview")');
  await page.waitForSelector('#layout-chart rect.after');
  assert.match((await page.textContent('#preview-usable')) ?? '', /B/);
  await page.screenshot({ path: join(SHOTS, 'layout.png'), fullPage: true });
  await page.click(`button:has-text("Apply as version ${before.version + 1}")`);
  await page.waitForSelector(`#layout-history td:text-is("${before.version + 1}")`);
  await page.waitForSelector(`#layout-roles tr[data-node="${id}"]`);
  assert.match((await page.textContent(`#layout-roles tr[data-node="${id}"]`)) ?? '', /home-a.*2\.00 GB.*256/);
  await page.screenshot({ path: join(SHOTS, 'layout-applied.png'), fullPage: true });
  const after = (await node.admin('GetClusterLayout')) as { version: number; roles: { id: string; tags: string[] }[] };
  assert.equal(after.version, before.version + 1);
  assert.deepEqual(after.roles.find((r) => r.id === id)?.tags, ['console', '<b>bold</b>']);
  assert.equal(await page.locator('main b').count(), 0, 'a tag is text');
  assert.deepEqual(problems, []);
});

test('metrics page: sparklines from GetNodeMetricsSummary, sampled every 5 s; the polling is not audited', { skip: browserSkip, timeout: 60_000 }, async () => {
  await page.click('a[href="#/metrics"]');
  await page.waitForSelector('section[data-metric="memory"] svg.spark polyline', { state: 'attached' });
  // A second sample gives the first rates.
  await until('a request rate', async () => ((await page.textContent('section[data-metric="requests"] .now')) ?? '').endsWith('/s'));
  const s = (await node.admin('GetNodeMetricsSummary')) as { requests: { total: number; byApi: Record<string, number> }; memoryBytes: number };
  assert.ok(s.requests.total > 0 && (s.requests.byApi.s3 ?? 0) > 0, JSON.stringify(s));
  assert.ok(s.memoryBytes > 1_000_000);
  const audit = (await node.admin('ListAuditEvents')) as { events: { op: string }[] };
  assert.ok(!audit.events.some((e) => e.op === 'GetNodeMetricsSummary'));
  await page.screenshot({ path: join(SHOTS, 'metrics.png'), fullPage: true });
  assert.deepEqual(problems, []);
});

test('workers page: the list refreshes every 2 s, a repair launched is followed', { skip: browserSkip, timeout: 60_000 }, async () => {
  await page.click('a[href="#/workers"]');
  await page.waitForSelector('#workers tr[data-worker="block-scrub"]');
  const first = await page.textContent('p:has-text("Updated")');
  await until('a refresh within 2 s', async () => (await page.textContent('p:has-text("Updated")')) !== first, 4500);
  await page.selectOption('#repair-type', 'scrub');
  await page.click('form[aria-label="Launch a repair"] button');
  await page.waitForSelector('#workers tr.watched[data-worker="block-scrub"]');
  assert.match((await page.textContent('main')) ?? '', /scrub: launched block-scrub|already running: block-scrub/);
  await page.screenshot({ path: join(SHOTS, 'workers.png'), fullPage: true });
  const audit = (await node.admin('ListAuditEvents')) as { events: { op: string }[] };
  assert.ok(audit.events.some((e) => e.op === 'LaunchRepairOperation'));
  assert.deepEqual(problems, []);
});
