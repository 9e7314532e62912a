// CompleteMultipartUpload's <Location> (and PostObject's) is https only when the client's own
// connection is TLS (forwarded.ts): a client-sent X-Forwarded-Proto is not believed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { childText } from '../xml.ts';
import { CompleteMultipartUpload, CreateMultipartUpload, UploadPart } from './multipart.ts';
import { fakeCtx, testEnv, type FakeRequest, type TestEnv } from './test-ctx.ts';
import type { Handler } from '../context.ts';
import { requestScheme } from '../forwarded.ts';

async function call(env: TestEnv, h: Handler, r: FakeRequest, tls: boolean) {
  const { ctx, res } = fakeCtx(env, r);
  // The socket a request came in on: encrypted when it is TLS to the client.
  Object.defineProperty(ctx.req, 'socket', { value: { encrypted: tls, remoteAddress: '127.0.0.1', destroyed: false, readableEnded: false, writable: true } });
  await h(ctx);
  return res;
}

async function completeOnce(env: TestEnv, key: string, tls: boolean, headers: Record<string, string>): Promise<string> {
  const b = await env.bucket('bkt');
  const base = { bucket: b, bucketName: 'bkt', key };
  const created = await call(env, CreateMultipartUpload, { ...base, method: 'POST', query: { uploads: '' } }, tls);
  const uploadId = childText(created.xml(), 'UploadId')!;
  const part = await call(env, UploadPart, { ...base, method: 'PUT', query: { uploadId, partNumber: '1' }, headers: { 'content-length': '1' }, body: 'x' }, tls);
  const etag = part.header('etag')!;
  const body = `<CompleteMultipartUpload><Part><ETag>${etag}</ETag><PartNumber>1</PartNumber></Part></CompleteMultipartUpload>`;
  const done = await call(env, CompleteMultipartUpload, { ...base, method: 'POST', query: { uploadId }, body, headers }, tls);
  assert.equal(done.status, 200, done.text());
  return childText(done.xml(), 'Location')!;
}

test('CompleteMultipartUpload Location: scheme from the connection, never from a client-sent X-Forwarded-Proto', async () => {
  const env = await testEnv();
  try {
    assert.equal(await completeOnce(env, 'a', false, { 'x-forwarded-proto': 'https' }), 'http://localhost:3900/bkt/a');
    assert.equal(await completeOnce(env, 'b', false, {}), 'http://localhost:3900/bkt/b');
    assert.equal(await completeOnce(env, 'c', true, {}), 'https://localhost:3900/bkt/c');
    assert.equal(await completeOnce(env, 'd', true, { 'x-forwarded-proto': 'http' }), 'https://localhost:3900/bkt/d');
  } finally {
    await env.close();
  }
});

test('requestScheme follows requestOrigin().secure', () => {
  const req = (encrypted: boolean, xfp?: string) => ({ socket: { encrypted }, headers: xfp ? { 'x-forwarded-proto': xfp } : {} }) as unknown as IncomingMessage;
  assert.equal(requestScheme(req(false, 'https')), 'http');
  assert.equal(requestScheme(req(true)), 'https');
});
