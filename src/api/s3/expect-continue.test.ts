// Expect: 100-continue is answered only once the request is authenticated and authorized: an
// anonymous PUT to a private bucket gets its 403 before sending the body, one to a
// public-read-write bucket gets 100 Continue (s3-tests test_100_continue).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { createS3Server } from './server.ts';
import { testEnv } from './ops/test-ctx.ts';
import { cannedGrants } from '../../model/acl.ts';

/** Sends the request head only and returns the first status line the server answers. */
function firstStatus(port: number, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => s.write(`PUT ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n`));
    let got = '';
    s.setTimeout(5000, () => (s.destroy(), reject(new Error(`no answer; got ${JSON.stringify(got)}`))));
    s.on('data', (d) => {
      got += d.toString('latin1');
      const i = got.indexOf('\r\n');
      if (i >= 0) {
        s.destroy();
        resolve(got.slice(0, i));
      }
    });
    s.on('error', reject);
  });
}

test('Expect: 100-continue: 403 before the body for a refused anonymous PUT, 100 once it is allowed', async () => {
  const env = await testEnv();
  const srv = createS3Server(env.store, { region: 'garage' });
  await new Promise<void>((ok) => srv.listen(0, '127.0.0.1', ok));
  const port = (srv.address() as AddressInfo).port;
  try {
    const b = await env.bucket('cont');
    assert.match(await firstStatus(port, '/cont/obj'), /^HTTP\/1\.1 403 /);
    await env.store.buckets.insert({ ...b, acl: { t: Date.now() + 1, v: cannedGrants('public-read-write', env.accessKey.id, null) } });
    assert.equal(await firstStatus(port, '/cont/obj'), 'HTTP/1.1 100 Continue');
  } finally {
    srv.close();
    await env.close();
  }
});

test('Expect: 100-continue from an SDK: a refused signed PUT answers at once, the next PUT on the client works', async () => {
  const { S3Client, PutObjectCommand } = await import('@aws-sdk/client-s3');
  const env = await testEnv();
  const srv = createS3Server(env.store, { region: 'garage' });
  await new Promise<void>((ok) => srv.listen(0, '127.0.0.1', ok));
  const port = (srv.address() as AddressInfo).port;
  let expecting = 0;
  srv.prependListener('checkContinue', () => expecting++);
  const c = new S3Client({
    endpoint: `http://127.0.0.1:${port}`, region: 'garage', forcePathStyle: true, maxAttempts: 1,
    credentials: { accessKeyId: env.accessKey.id, secretAccessKey: env.accessKey.secret },
  });
  try {
    await env.bucket('cont');
    const body = Buffer.alloc(3 * 1024 * 1024, 1); // over 2 MiB: the SDK sends Expect: 100-continue
    const t0 = Date.now();
    await assert.rejects(c.send(new PutObjectCommand({ Bucket: 'missing', Key: 'k', Body: body })), { name: 'NoSuchBucket' });
    assert.ok(Date.now() - t0 < 3000, `refused in ${Date.now() - t0} ms`);
    const r = await c.send(new PutObjectCommand({ Bucket: 'cont', Key: 'k', Body: body }));
    assert.ok(r.ETag);
    assert.equal(expecting, 2, 'both PUTs sent Expect: 100-continue');
  } finally {
    c.destroy();
    srv.close();
    await env.close();
  }
});
