// PostObject (browser form uploads) against a real server: a SigV4-signed policy accepts the
// upload, and a tampered policy, a key outside the policy or a file too large are refused.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { CreateBucketCommand, GetObjectCommand } from '@aws-sdk/client-s3';
import { startNode, s3Client, type TestNode } from './lib/node.ts';
import { deriveSigningKey, formatAmzDate } from '../src/api/s3/auth/sigv4.ts';

let node: TestNode;
before(async () => {
  node = await startNode();
  await s3Client(node).send(new CreateBucketCommand({ Bucket: 'forms' }));
});
after(async () => node?.stop());

function form(opts: { key: string; body: Buffer; maxSize?: number; tamper?: boolean; secret?: string; extra?: Record<string, string> }): FormData {
  const now = Date.now();
  const amzDate = formatAmzDate(now);
  const day = amzDate.slice(0, 8);
  const credential = `${node.keyId}/${day}/${node.region}/s3/aws4_request`;
  const policy = {
    expiration: new Date(now + 600_000).toISOString(),
    conditions: [
      { bucket: 'forms' },
      ['starts-with', '$key', 'uploads/'],
      ['starts-with', '$Content-Type', 'text/'],
      ['content-length-range', 0, opts.maxSize ?? 1024 * 1024],
      { 'x-amz-algorithm': 'AWS4-HMAC-SHA256' },
      { success_action_status: '201' },
      { 'x-amz-credential': credential },
      { 'x-amz-date': amzDate },
      ...Object.entries(opts.extra ?? {}).map(([k, v]) => ({ [k]: v })),
    ],
  };
  const policyB64 = Buffer.from(JSON.stringify(policy)).toString('base64');
  const key = deriveSigningKey(opts.secret ?? node.secret, day, node.region, 's3');
  const signature = createHmac('sha256', key).update(policyB64).digest('hex');
  const f = new FormData();
  f.append('key', opts.key);
  f.append('policy', opts.tamper ? Buffer.from(JSON.stringify({ ...policy, expiration: '2099-01-01T00:00:00Z' })).toString('base64') : policyB64);
  f.append('x-amz-algorithm', 'AWS4-HMAC-SHA256');
  f.append('x-amz-credential', credential);
  f.append('x-amz-date', amzDate);
  f.append('x-amz-signature', signature);
  f.append('Content-Type', 'text/plain');
  for (const [k, v] of Object.entries(opts.extra ?? {})) f.append(k, v);
  f.append('success_action_status', '201');
  f.append('file', new Blob([opts.body]), 'hello.txt');
  return f;
}

test('a signed form upload stores the file, with its metadata', async () => {
  const body = Buffer.from('hello from a browser form\n');
  const r = await fetch(`${node.s3Url}/forms`, { method: 'POST', body: form({ key: 'uploads/${filename}', body, extra: { 'x-amz-meta-origin': 'form' } }) });
  const text = await r.text();
  assert.equal(r.status, 201, text);
  assert.match(text, /<Key>uploads\/hello.txt<\/Key>/);
  const got = await s3Client(node).send(new GetObjectCommand({ Bucket: 'forms', Key: 'uploads/hello.txt' }));
  assert.equal(await got.Body!.transformToString(), body.toString());
  assert.equal(got.ContentType, 'text/plain');
  assert.equal(got.Metadata?.origin, 'form');
});

test('tampered policy, wrong secret, key outside the policy and oversize files are refused', async () => {
  const body = Buffer.from('x'.repeat(100));
  const cases: [string, FormData, number, RegExp][] = [
    ['tampered policy', form({ key: 'uploads/a', body, tamper: true }), 403, /SignatureDoesNotMatch/],
    ['wrong secret', form({ key: 'uploads/a', body, secret: 'f'.repeat(64) }), 403, /SignatureDoesNotMatch/],
    ['key outside policy', form({ key: 'elsewhere/a', body }), 403, /AccessDenied/],
    ['too large', form({ key: 'uploads/big', body: Buffer.alloc(2048), maxSize: 1024 }), 400, /EntityTooLarge/],
  ];
  for (const [what, f, status, code] of cases) {
    const r = await fetch(`${node.s3Url}/forms`, { method: 'POST', body: f });
    const text = await r.text();
    assert.equal(r.status, status, `${what}: ${text}`);
    assert.match(text, code, what);
  }
  const list = await fetch(`${node.s3Url}/forms/uploads/big`);
  assert.equal(list.status, 403, 'anonymous GET still refused');
});
