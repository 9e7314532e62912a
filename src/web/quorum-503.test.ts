// A website read whose quorum is unreachable is the cluster's state, not a server bug: the
// visitor gets 503 with Retry-After (as the S3 API answers), never 500.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { QuorumError } from '../model/errors.ts';
import { WebHandler } from './server.ts';
import { webTestEnv, listen, get } from './test-env.ts';

const ROOT = 'q.test';

test('web request with the read quorum unavailable gets 503 with Retry-After, not 500', async () => {
  const env = await webTestEnv();
  const handler = new WebHandler(env.store, { rootDomain: ROOT, index: 'index.html', microCacheMs: 0 });
  const { port, close } = await listen(createServer(handler.handle));
  after(async () => {
    await close();
    await env.close();
  });
  const b = await env.site('blog');
  await env.put(b, 'index.html', '<h1>home</h1>');
  assert.equal((await get(port, `blog.${ROOT}`, '/')).status, 200);
  // The object table read fails the way a read with too few replicas up does.
  env.store.objects.get = async () => {
    throw new QuorumError('read object', { successes: 0, needed: 2, nodes: 3, failedSets: [0], failures: [] });
  };
  const r = await get(port, `blog.${ROOT}`, '/');
  assert.equal(r.status, 503);
  assert.ok(Number(r.headers['retry-after']) > 0, `Retry-After: ${r.headers['retry-after']}`);
  assert.equal(r.headers['cache-control'], 'no-store');
  assert.match(r.text, /503/);
});
