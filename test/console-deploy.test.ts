// Deploy from the browser (console page-deploy.js) against a real node: a site owner logs in with
// their key, deploys a folder of 3 files, redeploys with 1 changed file — the audit log shows that
// only that one blob was sent — and the web port serves the new content, the deploy's 404.html for
// a missing page, and the old content again after a rollback from the page.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { browserSkip, openBrowser, SHOTS, type Browser } from './lib/browser.ts';
import { startNode, type TestNode } from './lib/node.ts';

const SITE = 'browser-deploy.example';
let node: TestNode;
let browser: Browser | undefined;
let work: string;

before(async () => {
  if (browserSkip) return;
  work = mkdtempSync(join(tmpdir(), 'grenier-deploy-'));
  node = await startNode();
  browser = await openBrowser({ width: 1200, defaultTimeoutMs: 20_000 });
});

after(async () => {
  await browser?.close();
  await node?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

/** GET on the web port with the site's Host (a fresh connection each time). */
function web(path: string): Promise<{ status: number; text: string; type: string | undefined }> {
  const u = new URL(node.webUrl);
  return new Promise((ok, fail) => {
    const req = request({ host: u.hostname, port: u.port, path, headers: { host: SITE }, agent: false, timeout: 5000 }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.once('end', () => ok({ status: res.statusCode ?? 0, text: Buffer.concat(parts).toString('utf8'), type: res.headers['content-type'] }));
    });
    req.once('error', fail);
    req.once('timeout', () => req.destroy(new Error('timed out')));
    req.end();
  });
}

function folder(name: string, files: Record<string, string>): string {
  const dir = join(work, name);
  for (const [p, text] of Object.entries(files)) {
    mkdirSync(join(dir, p, '..'), { recursive: true });
    writeFileSync(join(dir, p), text);
  }
  return dir;
}

async function blobUploads(): Promise<number> {
  const r = (await node.admin('ListAuditEvents', undefined, 'op=PutSiteBlob&limit=1000')) as { events: { op: string; status: number }[] };
  return r.events.filter((e) => e.op === 'PutSiteBlob' && e.status === 200).length;
}

/** A page logged in as the site's owner (or an admin), and a deploy through its Sites card. */
async function ownerPage(bucketId: string, init?: () => void, as: 'owner' | 'admin' = 'owner') {
  const page = await browser!.ctx.newPage();
  if (init) await page.addInitScript(init);
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('dialog', (d) => void d.accept());
  const sent: string[] = [];
  page.on('request', (r) => {
    if (r.url().includes('/v2/')) sent.push(JSON.stringify(r.headers()) + r.url());
  });
  await page.goto(node.adminUrl + '/#/login');
  if (as === 'admin') {
    await page.fill('#token', node.adminToken);
    await page.click('button[type=submit]');
    await page.click('a[href="#/sites"]');
  } else {
    await page.click('button[aria-pressed="false"]');
    await page.fill('#key-id', node.keyId);
    await page.fill('#key-secret', node.secret);
    await page.click('button[type=submit]');
  }
  const card = page.locator(`section[data-site="${SITE}"]`);
  await card.waitFor();
  const deployFrom = async (dir: string) => {
    await page.setInputFiles(`#deploy-${bucketId}`, dir);
    const prev = await page.locator('main p.notice').textContent({ timeout: 100 }).catch(() => null);
    await card.locator('button:has-text("Deploy folder")').click();
    // Polled from the test: the page's CSP refuses waitForFunction's string predicates.
    for (let i = 0; i < 200; i++) {
      const now = await page.locator('main p.notice').textContent({ timeout: 100 }).catch(() => null);
      if (now !== null && now !== prev && now.includes(`to ${SITE}`)) return;
      const err = await card.locator('p.error').textContent({ timeout: 100 }).catch(() => null);
      if (err) throw new Error(`the page says: ${err}`);
      await page.waitForTimeout(100);
    }
    throw new Error('no deploy notice within 20 s');
  };
  return { page, card, problems, sent, deployFrom };
}

test('an owner deploys a folder from the browser, redeploys one changed file, rolls back', { skip: browserSkip, timeout: 120_000 }, async () => {
  const info = (await node.admin('CreateSite', { domain: SITE, owner: node.keyId })) as { bucketId: string };
  const v1 = folder('v1', { 'index.html': '<h1>version one</h1>', 'css/style.css': 'h1 { color: teal }', '404.html': '<p>lost in the attic</p>' });
  const v2 = folder('v2', { 'index.html': '<h1>version two</h1>', 'css/style.css': 'h1 { color: teal }', '404.html': '<p>lost in the attic</p>' });

  const { page, card, problems, sent, deployFrom } = await ownerPage(info.bucketId);
  const before1 = await blobUploads();
  await deployFrom(v1);
  assert.match((await page.textContent('main p.notice')) ?? '', /3 files, 3 sent/);
  assert.equal((await blobUploads()) - before1, 3, 'the first deploy sends its 3 files');
  assert.equal((await web('/')).text, '<h1>version one</h1>');
  assert.equal((await web('/css/style.css')).text, 'h1 { color: teal }');
  // The page sends no type: the web server names it from the path, as for the CLI's deploys.
  assert.equal((await web('/')).type, 'text/html; charset=utf-8');
  assert.equal((await web('/css/style.css')).type, 'text/css; charset=utf-8');
  const first = (await node.admin('GetSiteInfo', undefined, `site=${SITE}`)) as { currentDeploy: { id: string } };

  const before2 = await blobUploads();
  await deployFrom(v2);
  assert.match((await page.textContent('main p.notice')) ?? '', /3 files, 1 sent/);
  assert.equal((await blobUploads()) - before2, 1, 'the redeploy sends only the changed file');
  assert.equal((await web('/')).text, '<h1>version two</h1>');
  const lost = await web('/no/such/page');
  assert.equal(lost.status, 404);
  assert.equal(lost.text, '<p>lost in the attic</p>', "the deploy's 404.html is the error page");
  const second = (await node.admin('GetSiteInfo', undefined, `site=${SITE}`)) as { currentDeploy: { id: string }; previousDeploy: { id: string } };
  assert.equal(second.previousDeploy.id, first.currentDeploy.id);
  await card.locator('dd', { hasText: second.currentDeploy.id }).waitFor();
  await page.screenshot({ path: join(SHOTS, 'sites-deploy.png'), fullPage: true });

  await card.locator('button:has-text("Roll back to previous deploy")').click();
  for (let i = 0; i < 50 && (await web('/')).text !== '<h1>version one</h1>'; i++) await page.waitForTimeout(100);
  assert.equal((await web('/')).text, '<h1>version one</h1>', 'rollback serves the first deploy again');
  assert.ok(sent.every((s) => !s.includes(node.secret)), 'the secret never leaves the page');
  assert.ok(sent.filter((s) => s.includes('PutSiteBlob')).every((s) => s.includes('x-grenier-signature')));
  assert.deepEqual(problems, []);
  await page.close();
});

test('over plain HTTP on a LAN address (no crypto.subtle) the page hashes and signs in JS', { skip: browserSkip, timeout: 60_000 }, async () => {
  const info = (await node.admin('GetSiteInfo', undefined, `site=${SITE}`)) as { bucketId: string };
  const v3 = folder('v3', { 'index.html': '<h1>version three</h1>', 'css/style.css': 'h1 { color: teal }', '404.html': '<p>lost in the attic</p>', 'new.txt': 'x'.repeat(70_000) });
  const { page, problems, deployFrom } = await ownerPage(info.bucketId, () => {
    Object.defineProperty(globalThis.crypto, 'subtle', { value: undefined });
  });
  assert.equal(await page.evaluate(() => globalThis.crypto.subtle), undefined);
  const before = await blobUploads();
  await deployFrom(v3);
  assert.match((await page.textContent('main p.notice')) ?? '', /4 files, 2 sent/);
  assert.equal((await blobUploads()) - before, 2);
  assert.equal((await web('/')).text, '<h1>version three</h1>');
  assert.equal((await web('/new.txt')).text, 'x'.repeat(70_000), 'the JS hash names the blob right (the node checks it)');
  assert.deepEqual(problems, []);
  await page.close();
});

test('an admin deploys to any site from the Sites page', { skip: browserSkip, timeout: 60_000 }, async () => {
  const info = (await node.admin('GetSiteInfo', undefined, `site=${SITE}`)) as { bucketId: string };
  const v4 = folder('v4', { 'index.html': '<h1>by the admins</h1>' });
  const { page, problems, deployFrom } = await ownerPage(info.bucketId, undefined, 'admin');
  await deployFrom(v4);
  assert.match((await page.textContent('main p.notice')) ?? '', /1 file, 1 sent/);
  assert.equal((await web('/')).text, '<h1>by the admins</h1>');
  assert.equal((await web('/css/style.css')).status, 404, 'files of the old deploy are gone from the new one');
  assert.deepEqual(problems, []);
  await page.close();
});
