// Serving deployed sites: paths resolve through the current manifest (types, index, error
// document, precompressed variants, dir redirect), switches and rollbacks are seen by the next
// request, sites without a deploy serve plain keys, and the manifest cache stays bounded.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import { createKey } from '../model/bucket-ops.ts';
import { createSite, findSite, publishDeploy, putBlob, rollback, type ManifestFile } from '../model/site.ts';
import { WebHandler } from './server.ts';
import { DeployResolver } from './deploys.ts';
import { webTestEnv, listen, get, type WebTestEnv } from './test-env.ts';

let env: WebTestEnv;
let port: number;
let stop: () => Promise<void>;
let handler: WebHandler;

before(async () => {
  env = await webTestEnv();
  handler = new WebHandler(env.store, { rootDomain: 'web.test', index: 'index.html' });
  ({ port, close: stop } = await listen(createServer(handler.handle)));
});
after(async () => {
  await stop();
  await env.close();
});

async function deployFiles(domain: string, files: Record<string, string | [string, string]>): Promise<string> {
  const ref = await findSite(env.store, domain);
  const manifest: Record<string, ManifestFile> = {};
  for (const [p, v] of Object.entries(files)) {
    const [body, type] = Array.isArray(v) ? v : [v, 'text/html; charset=utf-8'];
    const b = Buffer.from(body);
    const sha256 = createHash('sha256').update(b).digest('hex');
    await putBlob(env.store, ref, sha256, (async function* () { yield b; })(), b.length);
    manifest[p] = { sha256, size: b.length, type };
  }
  return (await publishDeploy(env.store, await findSite(env.store, domain), manifest)).id;
}

test('a deployed site serves through its manifest; publish and rollback show on the next request', async () => {
  const k = await createKey(env.store, 'o');
  const ref = await createSite(env.store, 'deployed.test', k, { indexDocument: 'index.html', errorDocument: '404.html' });
  // Before any deploy, plain keys are served (a site filled over S3 keeps working).
  await env.put(ref.bucket, 'index.html', 'plain key');
  assert.equal((await get(port, 'deployed.test', '/')).text, 'plain key');

  await deployFiles('deployed.test', {
    'index.html': 'v1 home',
    'docs/index.html': 'docs',
    'app.js': ['console.log(1)', 'text/javascript'],
    'app.js.gz': ['GZ', 'application/gzip'],
    '404.html': 'custom 404',
    'same.txt': ['v1 home', 'text/plain'],
  });
  const home = await get(port, 'deployed.test', '/');
  assert.equal(home.text, 'v1 home');
  assert.equal(home.headers['content-type'], 'text/html; charset=utf-8');
  const same = await get(port, 'deployed.test', '/same.txt');
  assert.equal(same.text, 'v1 home');
  assert.equal(same.headers['content-type'], 'text/plain', 'one blob, the type of each path');
  assert.equal(same.headers.etag, home.headers.etag);
  const gz = await get(port, 'deployed.test', '/app.js', { 'accept-encoding': 'gzip' });
  assert.equal(gz.text, 'GZ');
  assert.equal(gz.headers['content-encoding'], 'gzip');
  assert.equal(gz.headers['content-type'], 'text/javascript');
  assert.equal((await get(port, 'deployed.test', '/docs')).headers.location, '/docs/');
  const lost = await get(port, 'deployed.test', '/plain-only');
  assert.equal(lost.status, 404);
  assert.equal(lost.text, 'custom 404');
  assert.equal((await get(port, 'deployed.test', '/index.html', { 'if-none-match': home.headers.etag! })).status, 304);

  await deployFiles('deployed.test', { 'index.html': 'v2 home' });
  assert.equal((await get(port, 'deployed.test', '/')).text, 'v2 home');
  assert.equal((await get(port, 'deployed.test', '/docs/')).status, 404, 'files of the old deploy are gone from the new one');
  await rollback(env.store, await findSite(env.store, 'deployed.test'));
  assert.equal((await get(port, 'deployed.test', '/')).text, 'v1 home');
  assert.equal((await get(port, 'deployed.test', '/docs/')).text, 'docs');
});

test('manifest cache: loaded once per deploy, bounded by file count', async () => {
  const k = await createKey(env.store, 'o2');
  const ids: string[] = [];
  for (let i = 0; i < 4; i++) {
    await createSite(env.store, `s${i}.test`, k, { indexDocument: 'index.html' });
    const files: Record<string, string> = {};
    for (let j = 0; j < 10; j++) files[`p${j}.html`] = `site ${i} page ${j}`;
    ids.push(await deployFiles(`s${i}.test`, files));
  }
  const r = new DeployResolver(env.store, { maxFiles: 25 });
  const site = async (i: number) => (await findSite(env.store, `s${i}.test`)).bucket.id;
  for (let round = 0; round < 3; round++) {
    const x = await r.lookup(await site(0), 'p3.html');
    assert.equal(x.kind, 'file');
  }
  assert.equal(r.loads, 1, 'one load for repeated requests');
  assert.deepEqual(await r.lookup(await site(0), 'nope.html'), { kind: 'missing' });
  for (let i = 1; i < 4; i++) await r.lookup(await site(i), 'p0.html');
  await new Promise((res) => setImmediate(res));
  assert.ok(r.cachedFiles <= 25, `cache holds ${r.cachedFiles} files, bound 25`);
  assert.equal(r.loads, 4);
  await r.lookup(await site(0), 'p0.html');
  assert.equal(r.loads, 5, 'the least recently used manifest was evicted and is reloaded');
  const none = await createSite(env.store, 'empty.test', k, { indexDocument: 'index.html' });
  assert.deepEqual(await r.lookup(none.bucket.id, 'index.html'), { kind: 'none' });
});
