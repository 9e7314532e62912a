// The console's files from the admin listener: security headers on every answer, revalidation,
// only known file names (no path reaches the disk), and the owner signature computed by the
// page's code (WebCrypto and the fallback) equal to the one the node checks.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { startTestAdmin, type TestAdmin } from '../src/api/admin/testkit.ts';
import { sign } from '../src/api/admin/site-auth.ts';
import { sha256Hex as nodeSha256 } from '../src/util/hash.ts';
// The browser module is plain ES: Node runs it as is.
import { hmacHex, ownerHeaders, sha256Hex } from '../src/console/assets/sign.js';

let t: TestAdmin;
before(async () => {
  t = await startTestAdmin();
});
after(async () => {
  await t.close();
});

/** A raw GET, so paths such as /console/../x reach the server unnormalized. */
function raw(path: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  const u = new URL(t.url);
  return new Promise((ok, fail) => {
    const req = request({ host: u.hostname, port: u.port, path, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (body += c));
      res.on('end', () => ok({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', fail);
    req.end();
  });
}

test('the page and its files carry a strict CSP, no framing, and revalidate by ETag', async () => {
  const page = await raw('/');
  assert.equal(page.status, 200);
  assert.match(String(page.headers['content-type']), /^text\/html/);
  assert.match(page.body, /<script type="module" src="\/console\/app.js"><\/script>/);
  assert.doesNotMatch(page.body, /<script>(?!<)/, 'no inline script');
  const csp = String(page.headers['content-security-policy']);
  assert.match(csp, /default-src 'self'/);
  assert.match(csp, /frame-ancestors 'none'/);
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
  assert.equal(page.headers['x-frame-options'], 'DENY');
  assert.equal(page.headers['x-content-type-options'], 'nosniff');
  const js = await raw('/console/app.js');
  assert.equal(js.status, 200);
  assert.match(String(js.headers['content-type']), /^text\/javascript/);
  const again = await raw('/console/app.js', { 'if-none-match': String(js.headers.etag) });
  assert.equal(again.status, 304);
  assert.equal(again.body, '');
  const meta = await raw('/console/meta.json');
  assert.deepEqual(JSON.parse(meta.body), { webUrl: null });
});

test('only the console files are served: traversal and unknown names are 404', async () => {
  for (const p of ['/console/../package.json', '/console/%2e%2e/package.json', '/console/serve.ts', '/console/assets/app.js', '/console/.hidden.js', '/console/APP.JS', '/console/x.json'])
    assert.equal((await raw(p)).status, 404, p);
  const post = await fetch(`${t.url}/console/app.js`, { method: 'POST' });
  assert.equal(post.status, 405);
});

test("the page's signature is the node's: WebCrypto and the plain-JS fallback agree with node:crypto", async () => {
  for (const s of ['', 'abc', 'é'.repeat(100), 'x'.repeat(1000)]) {
    assert.equal(await sha256Hex(s), nodeSha256(s));
    assert.equal(await sha256Hex(s, { forceJs: true }), nodeSha256(s));
  }
  const secret = 'f'.repeat(64);
  const long = 'k'.repeat(100); // longer than a block: hashed first
  for (const key of [secret, long]) assert.equal(await hmacHex(key, 'message', { forceJs: true }), await hmacHex(key, 'message'));
  const date = new Date('2030-01-02T03:04:05.000Z');
  for (const opts of [undefined, { forceJs: true }]) {
    const node = 'd'.repeat(64);
    const h = await ownerHeaders('GKabc', secret, 'post', '/v2/RollbackSite?site=a.org', '{}', node, date, opts);
    assert.equal(h['x-grenier-signature'], sign(secret, 'POST', '/v2/RollbackSite?site=a.org', date.toISOString(), nodeSha256('{}'), node));
    assert.equal(h['x-grenier-node'], node);
    assert.equal(h['x-grenier-content-sha256'], nodeSha256('{}'));
  }
});
