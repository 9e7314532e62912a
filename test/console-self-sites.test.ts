// Self-service sites in the browser: an admin creates a key (its secret shown once) and allows
// another key 2 sites (Keys page); its owner creates
// one under the root domain from the Sites page, a hostile name is refused and shown as text, a
// custom domain becomes a request that the admin approves from the Sites page, and the third
// site is refused with the allowance's message.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { browserSkip, openBrowser, SHOTS, type Browser } from './lib/browser.ts';
import { startNode, type TestNode } from './lib/node.ts';

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
  if (as === 'admin') {
    await page.fill('#token', node.adminToken);
  } else {
    await page.click('button[aria-pressed="false"]');
    await page.fill('#key-id', node.keyId);
    await page.fill('#key-secret', node.secret);
  }
  await page.click('button[type=submit]');
  await page.click('a[href="#/sites"]');
  return { page, problems };
}

/** Polls for a notice or an error in the page (the CSP refuses waitForFunction's string predicates). */
async function outcome(page: Awaited<ReturnType<typeof login>>['page'], want: RegExp): Promise<string> {
  for (let i = 0; i < 100; i++) {
    const texts = await page.locator('main p.notice, main p.error').allTextContents();
    const hit = texts.find((t) => want.test(t));
    if (hit) return hit;
    await page.waitForTimeout(100);
  }
  throw new Error(`no message matching ${want} (page says: ${(await page.locator('main p.notice, main p.error').allTextContents()).join(' | ')})`);
}

test('an allowed owner creates a site, asks for a custom domain, an admin approves; over the allowance a clear refusal', { skip: browserSkip, timeout: 120_000 }, async () => {
  // The admin gives the allowance from the Keys page.
  const a = await login('admin');
  await a.page.click('a[href="#/keys"]');
  // A key created from the page: its secret shown once, then never again.
  await a.page.fill('#new-key', 'made in the browser');
  await a.page.click('form[aria-label="Create an access key"] button[type=submit]');
  const shown = (await a.page.locator('#new-secret').textContent())!.trim();
  const made = ((await node.admin('ListKeys')) as { id: string; name: string }[]).find((k) => k.name === 'made in the browser')!;
  assert.equal(((await node.admin('GetKeyInfo', undefined, `id=${made.id}&showSecretKey=true`)) as { secretAccessKey: string }).secretAccessKey, shown);
  await a.page.locator(`tr[data-key="${made.id}"] button`).click();
  await a.page.locator('section[aria-label="key made in the browser"]').waitFor();
  assert.equal(await a.page.locator('#new-secret').count(), 0, 'the secret is shown once');
  await a.page.locator(`tr[data-key="${node.keyId}"] button`).click();
  await a.page.fill(`#sites-max-${node.keyId}`, '2');
  await a.page.locator(`form[aria-label^="sites"] button[type=submit]`).click();
  await a.page.locator('label', { hasText: 'Sites it may create itself (has 0)' }).waitFor();
  for (let i = 0; i < 50 && ((await node.admin('GetKeyInfo', undefined, `id=${node.keyId}`)) as { sitesMax: number }).sitesMax !== 2; i++) await a.page.waitForTimeout(100);
  assert.equal(((await node.admin('GetKeyInfo', undefined, `id=${node.keyId}`)) as { sitesMax: number }).sitesMax, 2);

  const o = await login('owner');
  const form = o.page.locator('form[aria-label="Create a site"]');
  await form.waitFor();
  await o.page.fill('#new-site', 'my-blog');
  await form.locator('button[type=submit]').click();
  assert.match(await outcome(o.page, /created/), /Site my-blog\.web\.localhost created/);
  await o.page.locator('section[data-site="my-blog.web.localhost"]').waitFor();

  // A hostile name: refused by the node, its message rendered as text (no element made of it).
  const hostile = '<img src=x onerror=alert(1)>';
  await o.page.fill('#new-site', hostile);
  await form.locator('button[type=submit]').click();
  assert.match(await outcome(o.page, /bucket names may contain only/), /bucket names may contain only/);
  assert.equal(await o.page.locator('main img').count(), 0);

  // A custom domain: needs a reason, then becomes a request.
  await o.page.fill('#new-site', 'club.example.org');
  await form.locator('button[type=submit]').click();
  assert.match(await outcome(o.page, /custom domain/), /an admin must approve it/);
  await o.page.fill('#new-site', 'club.example.org');
  await o.page.fill('#new-site-why', 'the chess club');
  await form.locator('button[type=submit]').click();
  assert.match(await outcome(o.page, /Request for/), /Request for club\.example\.org sent/);
  await o.page.locator('tr', { hasText: 'club.example.org' }).locator('td', { hasText: 'pending' }).waitFor();
  await o.page.screenshot({ path: join(SHOTS, 'sites-self-service.png'), fullPage: true });

  // The admin approves it on the Sites page: the site exists, owned by the key.
  await a.page.click('a[href="#/sites"]');
  const row = a.page.locator('tr', { hasText: 'club.example.org' });
  await row.locator('td', { hasText: 'new site' }).waitFor();
  await row.locator('button:has-text("Approve")').click();
  await a.page.locator('section[data-site="club.example.org"]').waitFor();
  const info = (await node.admin('GetSiteInfo', undefined, 'site=club.example.org')) as { owners: string[] };
  assert.deepEqual(info.owners, [node.keyId]);

  // Two sites of two: the third is refused with the allowance's message.
  await o.page.fill('#new-site', 'third');
  await form.locator('button[type=submit]').click();
  assert.match(await outcome(o.page, /may create 2 sites/), /may create 2 sites and has 2/);
  assert.deepEqual([...a.problems, ...o.problems], []);
  await a.page.close();
  await o.page.close();
});
