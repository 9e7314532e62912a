// A 503 from the S3 API (too few replicas reachable, SlowDown) tells the client when to come back:
// a small Retry-After, on GET (XML body) and HEAD (no body) alike.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { createS3Server } from './server.ts';
import { S3Error, RETRY_AFTER_SECS } from './errors.ts';
import { testEnv } from './ops/test-ctx.ts';
import { QuorumError } from '../../model/errors.ts';

test('S3 answers 503 (quorum unreachable) with Retry-After, on GET and HEAD', async () => {
  const env = await testEnv();
  const srv = createS3Server(env.store, { region: 'garage' });
  await new Promise<void>((ok) => srv.listen(0, '127.0.0.1', ok));
  const url = `http://127.0.0.1:${(srv.address() as AddressInfo).port}/qb/k`;
  try {
    // The bucket lookup fails the way a read with too few replicas up does.
    env.store.bucketByName = async () => {
      throw new QuorumError('read bucket alias', { successes: 0, needed: 2, nodes: 3, failedSets: [0], failures: [] });
    };
    for (const method of ['GET', 'HEAD']) {
      const r = await fetch(url, { method });
      const text = await r.text();
      assert.equal(r.status, 503, `${method}: ${text}`);
      assert.equal(r.headers.get('retry-after'), String(RETRY_AFTER_SECS), method);
      if (method === 'GET') assert.match(text, /<Code>ServiceUnavailable<\/Code>/);
    }
  } finally {
    srv.close();
    await env.close();
  }
});

test('every 503 S3Error carries Retry-After (1..5 s); other errors do not', () => {
  for (const code of ['ServiceUnavailable', 'SlowDown']) {
    const e = new S3Error(code, 'busy');
    assert.equal(e.status, 503, code);
    const secs = Number(e.headers['retry-after']);
    assert.ok(secs >= 1 && secs <= 5, `${code}: Retry-After ${e.headers['retry-after']}`);
  }
  assert.equal(new S3Error('NoSuchKey', 'x').headers['retry-after'], undefined);
  assert.equal(new S3Error('InternalError', 'x').headers['retry-after'], undefined);
});
