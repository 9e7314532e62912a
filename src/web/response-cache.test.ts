import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { WebHandler } from './server.ts';
import { webTestEnv, listen, get } from './test-env.ts';

const stops: (() => Promise<void>)[] = [];
after(async () => {
  for (const s of stops) await s();
});

async function setup(microCacheMs?: number) {
  const env = await webTestEnv();
  const handler = new WebHandler(env.store, { rootDomain: 'web.test', index: 'index.html', microCacheMs });
  const { port, close } = await listen(createServer(handler.handle));
  stops.push(close);
  const site = await env.site('mcache', {});
  await env.put(site, 'index.html', 'v1');
  await env.put(site, 'app.js', 'plain');
  await env.put(site, 'app.js.br', 'BR');
  return { env, handler, port, site };
}

test('small pages are served from the micro-cache and a local write invalidates them at once', async () => {
  const { env, handler, port, site } = await setup();
  for (let i = 0; i < 3; i++) assert.equal((await get(port, 'mcache.web.test', '/')).body.toString(), 'v1');
  assert.equal(handler.cache.hits, 1, 'a page is admitted on its second request and served from the cache on the third');
  await env.put(site, 'index.html', 'v2');
  assert.equal((await get(port, 'mcache.web.test', '/')).body.toString(), 'v2', 'a stale page was served after a write');
  // Encodings are separate entries: a br client and a plain one never get each other's bytes.
  for (let i = 0; i < 3; i++) {
    assert.equal((await get(port, 'mcache.web.test', '/app.js', { 'accept-encoding': 'br' })).body.toString(), 'BR');
    assert.equal((await get(port, 'mcache.web.test', '/app.js')).body.toString(), 'plain');
  }
  // Conditional and range requests: 304 from the cached etag; ranges bypass the cache.
  await get(port, 'mcache.web.test', '/');
  const full = await get(port, 'mcache.web.test', '/');
  const etag = full.headers.etag as string;
  const nm = await get(port, 'mcache.web.test', '/', { 'if-none-match': etag });
  assert.equal(nm.status, 304);
  const part = await get(port, 'mcache.web.test', '/', { range: 'bytes=1-1' });
  assert.equal(part.status, 206);
  assert.equal(part.body.toString(), '2');
  // Removing the website drops its cached pages.
  await env.store.buckets.insert({ ...site, website: { t: env.store.ts(), v: null } });
  assert.equal((await get(port, 'mcache.web.test', '/')).status, 404);
});

test('entries expire after the maximum age', async () => {
  const { handler, port } = await setup(30);
  await get(port, 'mcache.web.test', '/');
  await get(port, 'mcache.web.test', '/');
  await new Promise((r) => setTimeout(r, 60));
  const hits = handler.cache.hits;
  await get(port, 'mcache.web.test', '/');
  assert.equal(handler.cache.hits, hits, 'an entry older than the maximum age was served');
});

test('pages requested once are not admitted: even traffic over many sites does not churn the cache', async () => {
  const { handler, port } = await setup();
  await get(port, 'mcache.web.test', '/');
  assert.equal(handler.cache.size, 0, 'a page requested once was cached');
  await get(port, 'mcache.web.test', '/');
  assert.equal(handler.cache.size, 1);
});
