// Website serving over real HTTP on 127.0.0.1 against a real Store: resolution, documents,
// redirects, caching, ranges, precompressed variants, invalidation and metrics.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import { removeAlias, deleteBucket } from '../model/bucket-ops.ts';
import { apiRequests } from '../util/metrics.ts';
import { WebHandler, createWebServer } from './server.ts';
import { webTestEnv, listen, get, type WebTestEnv } from './test-env.ts';
import type { Bucket } from '../model/bucket.ts';

let env: WebTestEnv;
let port: number;
let stop: () => Promise<void>;
let handler: WebHandler;
let blog: Bucket;
const ROOT = 'web.test';
const BLOG = `blog.${ROOT}`;
const BIG = Buffer.from(Array.from({ length: 5000 }, (_, i) => i % 251));

before(async () => {
  env = await webTestEnv();
  handler = new WebHandler(env.store, { rootDomain: ROOT, index: 'index.html' });
  ({ port, close: stop } = await listen(createServer(handler.handle)));
  blog = await env.site('blog', { errorDocument: 'errors/404.html', cacheControl: 'public, max-age=60' }, ['example.org']);
  await env.put(blog, 'index.html', '<h1>home</h1>');
  await env.put(blog, 'docs/index.html', '<h1>docs</h1>');
  await env.put(blog, 'docs/page.html', 'page', { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-cache' });
  await env.put(blog, 'errors/404.html', '<h1>custom not found</h1>', { 'content-type': 'text/html' });
  await env.put(blog, 'big.bin', BIG, { 'content-type': 'application/x-custom' });
  await env.put(blog, 'app.js', 'console.log("plain")');
  await env.put(blog, 'app.js.br', 'BROTLI-BYTES');
  await env.put(blog, 'app.js.gz', 'GZIP-BYTES');
  await env.put(blog, 'style.css', 'body{}');
  await env.put(blog, 'style.css.gz', 'GZ-CSS');
  for (const ext of ['svg', 'png', 'wasm', 'woff2', 'json', 'mjs', 'avif', 'unknownext']) await env.put(blog, `f.${ext}`, 'x');
  await env.put(blog, 'moved.html', '', { 'x-amz-website-redirect-location': 'https://elsewhere.test/new' });
});

after(async () => {
  await stop();
  await env.close();
});

test('index document for / and dir/, with the site Cache-Control', async () => {
  const r = await get(port, BLOG, '/');
  assert.equal(r.status, 200);
  assert.equal(r.text, '<h1>home</h1>');
  assert.equal(r.headers['content-type'], 'text/html; charset=utf-8');
  assert.equal(r.headers['cache-control'], 'public, max-age=60');
  assert.equal(r.headers['accept-ranges'], 'bytes');
  assert.equal(r.headers['content-length'], '13');
  const d = await get(port, BLOG, '/docs/');
  assert.equal(d.status, 200);
  assert.equal(d.text, '<h1>docs</h1>');
});

test('host resolution: own domain alias, root-domain subdomain, port, case and trailing dot', async () => {
  for (const host of ['example.org', 'EXAMPLE.org:8080', 'example.org.', `Blog.${ROOT}.:80`, `blog.${ROOT}`]) {
    const r = await get(port, host, '/');
    assert.equal(r.status, 200, host);
    assert.equal(r.text, '<h1>home</h1>', host);
  }
});

test('unknown host, root domain itself and a bucket without website access get a clear 404', async () => {
  await env.site('private', null);
  for (const host of ['nothing.invalid', ROOT, `private.${ROOT}`, `nope.${ROOT}`]) {
    const r = await get(port, host, '/');
    assert.equal(r.status, 404, host);
    assert.match(r.text, /No website is configured for the host/);
    assert.ok(r.text.includes(host.toLowerCase()), host);
  }
  const bad = await get(port, '<script>', '/');
  assert.equal(bad.status, 400);
  assert.ok(!bad.text.includes('<script>'));
});

test('dir without slash redirects to dir/ (302) when dir/index exists, keeping the query', async () => {
  const r = await get(port, BLOG, '/docs?x=1');
  assert.equal(r.status, 302);
  assert.equal(r.headers.location, '/docs/?x=1');
  // "//evil.example" must not become a protocol-relative redirect to another host.
  await env.put(blog, '/evil.example/index.html', 'x');
  const open = await get(port, BLOG, '//evil.example');
  assert.equal(open.status, 404);
  assert.equal(open.headers.location, undefined);
  assert.equal((await get(port, BLOG, '//evil.example/')).text, 'x', 'the key itself is reachable');
  const page = await get(port, BLOG, '/docs/page.html');
  assert.equal(page.text, 'page');
  assert.equal(page.headers['cache-control'], 'no-cache', 'the object cache-control wins over the site one');
});

test('missing key: the error document with status 404; no listing of a directory without index', async () => {
  const r = await get(port, BLOG, '/nope.html');
  assert.equal(r.status, 404);
  assert.equal(r.text, '<h1>custom not found</h1>');
  assert.equal(r.headers['content-type'], 'text/html');
  const dir = await get(port, BLOG, '/errors/');
  assert.equal(dir.status, 404);
  assert.equal(dir.text, '<h1>custom not found</h1>');
  const h = await get(port, BLOG, '/nope.html', {}, 'HEAD');
  assert.equal(h.status, 404);
  assert.equal(h.body.length, 0);

  const bare = await env.site('bare', {});
  await env.put(bare, 'a/b.txt', 'b');
  const p = await get(port, `bare.${ROOT}`, '/a/');
  assert.equal(p.status, 404);
  assert.match(p.text, /There is no page at this address/);
  assert.ok(!p.text.includes('b.txt'), 'never a listing');
  const root = await get(port, `bare.${ROOT}`, '/');
  assert.equal(root.status, 404);
});

test('path attacks are refused with 400 and never resolve elsewhere', async () => {
  for (const path of ['/../index.html', '/docs/../index.html', '/%2e%2e/index.html', '/docs/%2E%2E/index.html', '/./index.html', '/index.html%00', '/%00', '/docs%2Fpage.html', '/docs%2fpage.html', '/%zz', '/%', '/%c3%28', '/a\\..\\b']) {
    const r = await get(port, BLOG, path);
    assert.equal(r.status, 400, path);
    assert.match(r.text, /cannot be served/, path);
  }
  // A key that merely contains dots is fine.
  await env.put(blog, 'a..b/x.txt', 'dots');
  assert.equal((await get(port, BLOG, '/a..b/x.txt')).text, 'dots');
  // Percent-decoding happens once: %2525 is the key "%25", not "%".
  await env.put(blog, '%25', 'literal');
  assert.equal((await get(port, BLOG, '/%2525')).text, 'literal');
  await env.put(blog, 'sp ace/é.txt', 'utf8');
  assert.equal((await get(port, BLOG, '/sp%20ace/%C3%A9.txt')).text, 'utf8');
});

test('methods other than GET and HEAD: 405 with Allow', async () => {
  for (const m of ['POST', 'PUT', 'DELETE', 'OPTIONS']) {
    const r = await get(port, BLOG, '/', {}, m);
    assert.equal(r.status, 405, m);
    assert.equal(r.headers.allow, 'GET, HEAD');
  }
});

test('HEAD returns the headers of GET without a body', async () => {
  const g = await get(port, BLOG, '/big.bin');
  const h = await get(port, BLOG, '/big.bin', {}, 'HEAD');
  assert.equal(h.status, 200);
  assert.equal(h.body.length, 0);
  assert.equal(h.headers['content-length'], '5000');
  assert.equal(h.headers.etag, g.headers.etag);
  assert.equal(h.headers['content-type'], 'application/x-custom');
  assert.equal(h.headers['last-modified'], g.headers['last-modified']);
});

test('multi-block body streams intact', async () => {
  const r = await get(port, BLOG, '/big.bin');
  assert.equal(r.status, 200);
  assert.ok(r.body.equals(BIG));
  assert.equal(r.headers.etag, `"${createHash('md5').update(BIG).digest('hex')}"`);
});

test('ETag / If-None-Match and If-Modified-Since give 304; If-Match mismatch gives 412', async () => {
  const r = await get(port, BLOG, '/index.html');
  const etag = r.headers.etag!;
  assert.match(etag, /^"[0-9a-f]{32}"$/);
  const a = await get(port, BLOG, '/index.html', { 'if-none-match': etag });
  assert.equal(a.status, 304);
  assert.equal(a.body.length, 0);
  assert.equal(a.headers.etag, etag);
  assert.equal((await get(port, BLOG, '/index.html', { 'if-none-match': '"other", ' + etag })).status, 304);
  assert.equal((await get(port, BLOG, '/index.html', { 'if-none-match': '"other"' })).status, 200);
  const lm = r.headers['last-modified']!;
  assert.equal((await get(port, BLOG, '/index.html', { 'if-modified-since': lm })).status, 304);
  assert.equal((await get(port, BLOG, '/index.html', { 'if-modified-since': new Date(Date.parse(lm) - 5000).toUTCString() })).status, 200);
  // If-None-Match takes precedence over If-Modified-Since.
  assert.equal((await get(port, BLOG, '/index.html', { 'if-none-match': '"other"', 'if-modified-since': lm })).status, 200);
  assert.equal((await get(port, BLOG, '/index.html', { 'if-match': '"other"' })).status, 412);
  assert.equal((await get(port, BLOG, '/index.html', { 'if-match': etag })).status, 200);
});

test('Range: 206 with Content-Range across blocks, suffix ranges, 416 when unsatisfiable, If-Range', async () => {
  const r = await get(port, BLOG, '/big.bin', { range: 'bytes=1000-2999' });
  assert.equal(r.status, 206);
  assert.equal(r.headers['content-range'], 'bytes 1000-2999/5000');
  assert.equal(r.headers['content-length'], '2000');
  assert.ok(r.body.equals(BIG.subarray(1000, 3000)));
  const s = await get(port, BLOG, '/big.bin', { range: 'bytes=-10' });
  assert.equal(s.status, 206);
  assert.ok(s.body.equals(BIG.subarray(4990)));
  const open = await get(port, BLOG, '/big.bin', { range: 'bytes=4999-' });
  assert.deepEqual([...open.body], [BIG[4999]]);
  const bad = await get(port, BLOG, '/big.bin', { range: 'bytes=5000-' });
  assert.equal(bad.status, 416);
  assert.equal(bad.headers['content-range'], 'bytes */5000');
  const whole = await get(port, BLOG, '/big.bin', { range: 'bytes=0-1,5-6' });
  assert.equal(whole.status, 200, 'multi-range is served whole');
  const etag = r.headers.etag!;
  assert.equal((await get(port, BLOG, '/big.bin', { range: 'bytes=0-9', 'if-range': etag })).status, 206);
  assert.equal((await get(port, BLOG, '/big.bin', { range: 'bytes=0-9', 'if-range': '"stale"' })).status, 200);
});

test('precompressed variants: br preferred, then gzip, original otherwise; Vary and type of the original', async () => {
  const br = await get(port, BLOG, '/app.js', { 'accept-encoding': 'gzip, deflate, br' });
  assert.equal(br.text, 'BROTLI-BYTES');
  assert.equal(br.headers['content-encoding'], 'br');
  assert.equal(br.headers['content-type'], 'text/javascript; charset=utf-8');
  assert.equal(br.headers.vary, 'Accept-Encoding');
  const gz = await get(port, BLOG, '/app.js', { 'accept-encoding': 'gzip' });
  assert.equal(gz.text, 'GZIP-BYTES');
  assert.equal(gz.headers['content-encoding'], 'gzip');
  assert.notEqual(gz.headers.etag, br.headers.etag, 'each representation has its own ETag');
  const refused = await get(port, BLOG, '/app.js', { 'accept-encoding': 'br;q=0, gzip;q=0.5' });
  assert.equal(refused.text, 'GZIP-BYTES');
  const plain = await get(port, BLOG, '/app.js', { 'accept-encoding': 'identity' });
  assert.equal(plain.text, 'console.log("plain")');
  assert.equal(plain.headers['content-encoding'], undefined);
  assert.equal(plain.headers.vary, 'Accept-Encoding');
  const none = await get(port, BLOG, '/app.js');
  assert.equal(none.text, 'console.log("plain")');
  const onlyGz = await get(port, BLOG, '/style.css', { 'accept-encoding': 'br, gzip' });
  assert.equal(onlyGz.text, 'GZ-CSS');
  assert.equal(onlyGz.headers['content-encoding'], 'gzip');
  assert.equal(onlyGz.headers['content-type'], 'text/css; charset=utf-8');
  const star = await get(port, BLOG, '/app.js', { 'accept-encoding': '*' });
  assert.equal(star.headers['content-encoding'], 'br');
  const cond = await get(port, BLOG, '/app.js', { 'accept-encoding': 'br', 'if-none-match': br.headers.etag! });
  assert.equal(cond.status, 304);
  const ranged = await get(port, BLOG, '/app.js', { 'accept-encoding': 'br', range: 'bytes=0-5' });
  assert.equal(ranged.text, 'BROTLI');
});

test('Content-Type: guessed from the extension when stored as generic binary, stored one otherwise', async () => {
  const want: Record<string, string> = {
    svg: 'image/svg+xml',
    png: 'image/png',
    wasm: 'application/wasm',
    woff2: 'font/woff2',
    json: 'application/json',
    mjs: 'text/javascript; charset=utf-8',
    avif: 'image/avif',
    unknownext: 'application/octet-stream',
  };
  for (const [ext, type] of Object.entries(want)) assert.equal((await get(port, BLOG, `/f.${ext}`)).headers['content-type'], type, ext);
  assert.equal((await get(port, BLOG, '/big.bin')).headers['content-type'], 'application/x-custom');
});

test('x-amz-website-redirect-location on an object gives 301', async () => {
  const r = await get(port, BLOG, '/moved.html');
  assert.equal(r.status, 301);
  assert.equal(r.headers.location, 'https://elsewhere.test/new');
});

test('RedirectAllRequestsTo: 301 to the host, keeping path and query', async () => {
  await env.site('old-site', { redirectAllRequestsTo: { hostName: 'new.example', protocol: 'https' } });
  const r = await get(port, `old-site.${ROOT}`, '/a/b.html?q=1');
  assert.equal(r.status, 301);
  assert.equal(r.headers.location, 'https://new.example/a/b.html?q=1');
  await env.site('old-two', { redirectAllRequestsTo: { hostName: 'new2.example' } });
  const h = await get(port, `old-two.${ROOT}`, '/', { 'x-forwarded-proto': 'https' }, 'HEAD');
  assert.equal(h.headers.location, 'https://new2.example/');
  assert.equal((await get(port, `old-two.${ROOT}`, '/')).headers.location, 'http://new2.example/');
});

test('RoutingRules: prefix replace, replace key, error-code condition, redirect code, first match wins', async () => {
  const b = await env.site('rules', {
    routingRules: [
      { condition: { keyPrefixEquals: 'docs/' }, redirect: { replaceKeyPrefixWith: 'documents/' } },
      { condition: { keyPrefixEquals: 'docs/' }, redirect: { replaceKeyWith: 'never.html' } },
      { condition: { keyPrefixEquals: 'old.html' }, redirect: { replaceKeyWith: 'new.html', httpRedirectCode: '302', hostName: 'other.example', protocol: 'https' } },
      { condition: { httpErrorCodeReturnedEquals: '404', keyPrefixEquals: 'img/' }, redirect: { hostName: 'images.example', replaceKeyPrefixWith: 'report-404/' } },
    ],
  });
  await env.put(b, 'img/present.png', 'png');
  const host = `rules.${ROOT}:1234`;
  const a = await get(port, host, '/docs/x/y.html');
  assert.equal(a.status, 301);
  assert.equal(a.headers.location, `http://${host}/documents/x/y.html`);
  const c = await get(port, host, '/old.html');
  assert.equal(c.status, 302);
  assert.equal(c.headers.location, 'https://other.example/new.html');
  // Error-code rules apply only after the lookup failed with that code.
  const present = await get(port, host, '/img/present.png');
  assert.equal(present.status, 200);
  const missing = await get(port, host, '/img/missing.png');
  assert.equal(missing.status, 301);
  assert.equal(missing.headers.location, 'http://images.example/report-404/missing.png');
  const other = await get(port, host, '/else.png');
  assert.equal(other.status, 404);
});

test('invalidation: website config changes, disabling, alias removal and new aliases are seen at once', async () => {
  const b = await env.site('live', {}, ['live.example']);
  await env.put(b, 'index.html', 'one');
  await env.put(b, 'home.htm', 'two');
  const host = `live.${ROOT}`;
  assert.equal((await get(port, host, '/')).text, 'one');
  assert.equal((await get(port, 'live.example', '/')).text, 'one');
  await env.setWebsite(b, { indexDocument: 'home.htm' });
  assert.equal((await get(port, host, '/')).text, 'two');
  assert.equal((await get(port, 'live.example', '/')).text, 'two');
  await env.setWebsite(b, null);
  assert.equal((await get(port, host, '/')).status, 404);
  await env.setWebsite(b, {});
  assert.equal((await get(port, host, '/')).text, 'one');
  // Deleting an alias: that host stops serving; the other still serves.
  await removeAlias(env.store, (await env.store.bucketById(b.id))!, 'live.example');
  const gone = await get(port, 'live.example', '/');
  assert.equal(gone.status, 404);
  assert.match(gone.text, /No website is configured/);
  assert.equal((await get(port, host, '/')).text, 'one');
  // A host first seen as unknown (cached negatively) serves as soon as the alias exists.
  assert.equal((await get(port, 'later.example', '/')).status, 404);
  const { addAlias } = await import('../model/bucket-ops.ts');
  await addAlias(env.store, (await env.store.bucketById(b.id))!, 'later.example');
  assert.equal((await get(port, 'later.example', '/')).text, 'one');
  // Deleting the bucket.
  const gone2 = await env.site('gone', {});
  assert.equal((await get(port, `gone.${ROOT}`, '/')).status, 404);
  assert.match((await get(port, `gone.${ROOT}`, '/')).text, /no page/);
  await deleteBucket(env.store, (await env.store.bucketById(gone2.id))!);
  assert.match((await get(port, `gone.${ROOT}`, '/')).text, /No website is configured/);
});

test('metrics count web requests by operation and status', async () => {
  const count = async (op: string, status: string) =>
    (await apiRequests.get()).values.find((v) => v.labels.api === 'web' && v.labels.op === op && v.labels.status === status)?.value ?? 0;
  const g0 = await count('GetObject', '200');
  const n0 = await count('NoSuchWebsite', '404');
  const r0 = await count('Redirect', '302');
  await get(port, BLOG, '/');
  await get(port, 'unknown.invalid', '/');
  await get(port, BLOG, '/docs');
  assert.equal(await count('GetObject', '200'), g0 + 1);
  assert.equal(await count('NoSuchWebsite', '404'), n0 + 1);
  assert.equal(await count('Redirect', '302'), r0 + 1);
});

test('createWebServer returns a server that is not yet listening and serves once bound', async () => {
  const s = createWebServer(new WebHandler(env.store, { index: 'index.html', rootDomain: ROOT }));
  assert.equal(s.listening, false);
  const l = await listen(s);
  try {
    assert.equal((await get(l.port, 'example.org', '/')).text, '<h1>home</h1>');
  } finally {
    await l.close();
  }
});

test('bodies stream with back-pressure: a paused client holds the server back; an aborted one leaves it healthy', { timeout: 60_000 }, async () => {
  const { request } = await import('node:http');
  const e2 = await webTestEnv({ blockSize: 256 * 1024 });
  const h2 = new WebHandler(e2.store, { index: 'index.html' });
  const l = await listen(createServer(h2.handle));
  try {
    const b = await e2.site('stream', {});
    const size = 32 * 1024 * 1024;
    const data = Buffer.alloc(size);
    for (let i = 0; i < size; i += 4096) data.writeUInt32BE(i, i);
    await e2.put(b, 'big.bin', data);
    const bs = e2.store.blocks.store;
    const orig = bs.get.bind(bs);
    let reads = 0;
    bs.get = (hash: Buffer) => {
      reads++;
      return orig(hash);
    };
    const host = 'stream';
    // Paused: after a pause, far fewer than the 128 blocks have been read.
    const res = await new Promise<import('node:http').IncomingMessage>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: l.port, path: '/big.bin', headers: { host }, agent: false }, resolve);
      req.on('error', reject);
      req.end();
    });
    res.pause();
    await new Promise((r) => setTimeout(r, 400));
    const whilePaused = reads;
    assert.ok(whilePaused < 64, `${whilePaused} of 128 blocks read while the client was paused`);
    const hash = createHash('md5');
    let got = 0;
    await new Promise<void>((resolve, reject) => {
      res.on('data', (c: Buffer) => {
        hash.update(c);
        got += c.length;
      });
      res.on('end', resolve);
      res.on('error', reject);
      res.resume();
    });
    assert.equal(got, size);
    assert.equal(hash.digest('hex'), createHash('md5').update(data).digest('hex'));
    // Aborted mid-body: the server carries on serving.
    await new Promise<void>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: l.port, path: '/big.bin', headers: { host }, agent: false }, (r) => {
        r.once('data', () => {
          req.destroy();
          resolve();
        });
      });
      req.on('error', (err) => ((err as NodeJS.ErrnoException).code === 'ECONNRESET' ? undefined : reject(err)));
      req.end();
    });
    const after = await get(l.port, host, '/big.bin', { range: 'bytes=0-3' });
    assert.equal(after.status, 206);
    assert.equal(after.body.readUInt32BE(0), 0);
  } finally {
    await l.close();
    await e2.close();
  }
});
