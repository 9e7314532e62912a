// The console's Front page in a real browser against a real node with a front: a route to a live
// local server shows its upstream "up", a route to a closed loopback port shows "down" with the
// error (from ListUpstreamHealth), each as text; a certificate whose order failed shows that failure
// as its renewal state.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { browserSkip, openBrowser, SHOTS, type Browser } from './lib/browser.ts';
import { startNode, freePort, type TestNode } from './lib/node.ts';

let node: TestNode;
let browser: Browser | undefined;
let live: Server;
let liveUrl: string;
let deadUrl: string;

before(async () => {
  if (browserSkip) return;
  live = createServer((_q, r) => r.end('ok'));
  await new Promise<void>((ok) => live.listen(0, '127.0.0.1', ok));
  liveUrl = `http://127.0.0.1:${(live.address() as AddressInfo).port}`;
  deadUrl = `http://127.0.0.1:${await freePort()}`;
  node = await startNode({
    extraConfig: ['[front]', `http_bind_addr = "127.0.0.1:${await freePort()}"`, `https_bind_addr = "127.0.0.1:${await freePort()}"`, 'acme_directory = "https://127.0.0.1:9/directory"', 'auto_certificates = false', 'health_check_interval_secs = 1'].join('\n'),
  });
  await node.admin('AddRoute', { host: 'live.example.test', upstreams: [liveUrl] });
  await node.admin('AddRoute', { host: 'dead.example.test', upstreams: [deadUrl] });
  // An order against a CA that is not there (port 9): the certificate's renewal state is that failure.
  await node.admin('IssueCertificate', { host: 'live.example.test' }).catch(() => undefined);
  // The node's own view first: the page must show what the API says once the checks ran.
  for (let i = 0; i < 80; i++) {
    const r = await node.admin('ListUpstreamHealth');
    if (r.upstreams?.some((u: any) => u.url === deadUrl && !u.up)) break;
    await new Promise((ok) => setTimeout(ok, 100));
  }
  browser = await openBrowser({ width: 1200, defaultTimeoutMs: 15_000 });
});

after(async () => {
  await browser?.close();
  await node?.stop();
  live?.closeAllConnections();
  await new Promise((ok) => (live ? live.close(ok) : ok(undefined)));
});

test('the Front page shows each upstream up or down, with the last error', { skip: browserSkip, timeout: 60_000 }, async () => {
  const page = await browser!.ctx.newPage();
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  await page.goto(node.adminUrl + '/');
  await page.fill('#token', node.adminToken);
  await page.click('button[type=submit]');
  await page.waitForSelector('.zone .node');
  await page.click('a[href="#/front"]');
  await page.waitForSelector('#routes .upstream');
  const rows = await page.locator('#routes tbody tr').allTextContents();
  const dead = rows.find((t) => t.includes('dead.example.test')) ?? '';
  const up = rows.find((t) => t.includes('live.example.test')) ?? '';
  assert.match(dead, new RegExp(`${deadUrl.replace(/[.]/g, '\\.')} down since \\d{4}-`), dead);
  assert.match(dead, /ECONNREFUSED|refused/i);
  assert.match(up, / up since \d{4}-/, up);
  assert.ok(!/down/.test(up), up);
  assert.equal(await page.locator('#routes .error').first().textContent(), 'down');
  const cert = (await page.locator('#certs tbody tr').allTextContents()).find((t) => t.includes('live.example.test')) ?? '';
  assert.match(await page.locator('#certs tbody tr', { hasText: 'live.example.test' }).locator('td.renewal').textContent() ?? '', /^failed \d{4}-.+: .+/, cert);
  await page.screenshot({ path: join(SHOTS, 'front-health.png'), fullPage: true });
  assert.deepEqual(problems, []);
  await page.close();
});
