// CORS headers go on every answer of a bucket with rules, refusals included (a browser must see
// a 403 to read it), and an actual request naming Access-Control-Request-Method is matched on
// that method, as RGW does (s3-tests test_cors_origin_response).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { createS3Server } from './server.ts';
import { testEnv } from './ops/test-ctx.ts';
import { cannedGrants } from '../../model/acl.ts';
import type { CorsRule } from '../../model/bucket.ts';

const rule = (origin: string, method: string): CorsRule => ({ allowedOrigins: [origin], allowedMethods: [method], allowedHeaders: [], exposeHeaders: [] });

test('an anonymous PUT refused with 403 still carries the matching CORS headers', async () => {
  const env = await testEnv();
  const srv = createS3Server(env.store, { region: 'garage' });
  await new Promise<void>((ok) => srv.listen(0, '127.0.0.1', ok));
  const url = `http://127.0.0.1:${(srv.address() as AddressInfo).port}/corsb/bar`;
  try {
    const b = await env.bucket('corsb');
    const t = Date.now() + 1;
    await env.store.buckets.insert({ ...b, acl: { t, v: cannedGrants('public-read', env.accessKey.id, null) }, cors: { t, v: [rule('*suffix', 'GET'), rule('*.put', 'PUT')] } });
    const put = async (headers: Record<string, string>) => {
      const r = await fetch(url, { method: 'PUT', headers, body: '' });
      await r.text();
      return [r.status, r.headers.get('access-control-allow-origin'), r.headers.get('access-control-allow-methods')];
    };
    assert.deepEqual(await put({ origin: 'foo.suffix', 'access-control-request-method': 'GET' }), [403, 'foo.suffix', 'GET']);
    assert.deepEqual(await put({ origin: 'foo.suffix', 'access-control-request-method': 'PUT' }), [403, null, null]);
    assert.deepEqual(await put({ origin: 'foo.suffix' }), [403, null, null]);
    assert.deepEqual(await put({ origin: 'foo.put' }), [403, 'foo.put', 'PUT']);
  } finally {
    srv.close();
    await env.close();
  }
});
