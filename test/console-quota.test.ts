// Quotas in the browser (issue 10's "Tests in a real browser"): an owner raises their site's quota
// to 200 MB from the Sites page, is told that more needs an admin, asks for 1 GB with a reason
// (a hostile one: shown as text to the admin too), and an admin approves it from the Sites page.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { browserSkip, openBrowser, SHOTS, type Browser } from './lib/browser.ts';
import { startNode, type TestNode } from './lib/node.ts';

const SITE = 'quota.example.org';
let node: TestNode;
let browser: Browser | undefined;

before(async () => {
  if (browserSkip) return;
  node = await startNode();
  browser = await openBrowser({ width: 1200, defaultTimeoutMs: 20_000 });
});

after(async () => {
  await browser?.close();
  await node?.stop();
});

async function login(as: 'admin' | 'owner') {
  const page = await browser!.ctx.newPage();
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('dialog', (d) => void d.accept());
  await page.goto(node.adminUrl + '/#/login');
  if (as === 'admin') await page.fill('#token', node.adminToken);
  else {
    await page.click('button[aria-pressed="false"]');
    await page.fill('#key-id', node.keyId);
    await page.fill('#key-secret', node.secret);
  }
  await page.click('button[type=submit]');
  await page.click('a[href="#/sites"]');
  await page.locator(`section[data-site="${SITE}"] [role=progressbar]`).waitFor();
  return { page, problems };
}

const maxSize = async () => ((await node.admin('GetSiteInfo', undefined, `site=${SITE}`)) as { quotas: { maxSize: number } }).quotas.maxSize;

test('an owner raises the quota to 200 MB, asks for 1 GB, an admin approves it', { skip: browserSkip, timeout: 120_000 }, async () => {
  const info = (await node.admin('CreateSite', { domain: SITE, owner: node.keyId })) as { bucketId: string };
  const o = await login('owner');
  const card = o.page.locator(`section[data-site="${SITE}"]`);
  await o.page.fill(`#quota-${info.bucketId}`, '200MB');
  await card.locator('button:has-text("Set quota")').click();
  await card.filter({ hasText: 'of 200.0 MB' }).waitFor();
  assert.equal(await maxSize(), 200_000_000);

  await o.page.fill(`#quota-${info.bucketId}`, '300MB');
  await card.locator('button:has-text("Set quota")').click();
  await card.locator('p.error', { hasText: /200 MB themselves.*approval/ }).waitFor();
  assert.equal(await maxSize(), 200_000_000, 'nothing changed');

  const hostile = '<img src=x onerror="window.pwned=1">';
  await o.page.fill(`#req-${info.bucketId}`, '1GB');
  await o.page.fill(`#why-${info.bucketId}`, hostile);
  await card.locator('button:has-text("Request more")').click();
  await card.locator('p.notice', { hasText: 'Request sent' }).waitFor();
  const mine = o.page.locator('tr', { hasText: SITE });
  await mine.locator('td', { hasText: 'pending' }).waitFor();
  assert.equal(await mine.locator('td', { hasText: hostile }).count(), 1, 'the reason as text');
  assert.equal(await o.page.locator('main img').count(), 0);

  const a = await login('admin');
  const row = a.page.locator('tr', { hasText: SITE });
  await row.locator('td', { hasText: hostile }).waitFor();
  assert.equal(await a.page.locator('main img').count(), 0, 'the hostile reason is text for the admin too');
  assert.ok(!((await a.page.textContent('main')) ?? '').includes('null'), 'no stray "null" on the page');
  await a.page.screenshot({ path: join(SHOTS, 'sites-quota-request.png'), fullPage: true });
  await row.locator('button:has-text("Approve")').click();
  await a.page.locator(`section[data-site="${SITE}"]`).filter({ hasText: 'of 1.00 GB' }).waitFor();
  assert.equal(await maxSize(), 1_000_000_000);
  assert.equal(await a.page.evaluate(() => (globalThis as { pwned?: number }).pwned), undefined);

  // The owner sees the decision.
  await o.page.reload();
  await o.page.click('a[href="#/sites"]').catch(() => undefined);
  await o.page.locator('tr', { hasText: SITE }).locator('td', { hasText: 'approved' }).waitFor();
  assert.deepEqual([...o.problems, ...a.problems], []);
  await o.page.close();
  await a.page.close();
});
