// PostObject (browser form uploads) against a real server: a SigV4-signed policy accepts the
// upload, and a tampered policy, a key outside the policy or a file too large are refused.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { connect } from 'node:net';
import { CreateBucketCommand, GetObjectCommand, GetObjectTaggingCommand, HeadObjectCommand, PutBucketPolicyCommand } from '@aws-sdk/client-s3';
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

/** A SigV2-signed form (AWSAccessKeyId + base64 HMAC-SHA1 signature), as the ceph suite and older SDKs send. */
function formV2(fields: [string, string][], conditions: unknown[], body: Buffer | string, opts: { expiration?: string; secret?: string; filename?: string } = {}): FormData {
  const policy = Buffer.from(JSON.stringify({ expiration: opts.expiration ?? new Date(Date.now() + 600_000).toISOString(), conditions })).toString('base64');
  const signature = createHmac('sha1', opts.secret ?? node.secret).update(policy).digest('base64');
  const f = new FormData();
  for (const [k, v] of fields) f.append(k, v);
  f.append('AWSAccessKeyId', node.keyId);
  f.append('signature', signature);
  f.append('policy', policy);
  f.append('file', new Blob([body]), opts.filename ?? 'file');
  return f;
}

async function post(bucket: string, f: FormData): Promise<{ status: number; text: string; headers: Headers }> {
  const r = await fetch(`${node.s3Url}/${bucket}`, { method: 'POST', body: f, redirect: 'manual' });
  return { status: r.status, text: await r.text(), headers: r.headers };
}

const V2_CONDITIONS = (bucket: string, max = 5 * 1024 * 1024) => [
  { bucket },
  ['starts-with', '$key', 'foo'],
  { acl: 'private' },
  ['starts-with', '$Content-Type', 'text/plain'],
  ['content-length-range', 0, max],
];

test('a SigV2-signed policy is accepted, larger than a block, case-insensitive fields; a bad v2 signature is 403', async () => {
  const body = Buffer.alloc(3 * 1024 * 1024 + 17, 'foo');
  const fields: [string, string][] = [['kEy', 'foo.txt'], ['aCl', 'private'], ['Content-Type', 'text/plain']];
  const ok = await post('forms', formV2(fields, V2_CONDITIONS('forms'), body));
  assert.equal(ok.status, 204, ok.text);
  const got = await s3Client(node).send(new GetObjectCommand({ Bucket: 'forms', Key: 'foo.txt' }));
  assert.ok(Buffer.from(await got.Body!.transformToByteArray()).equals(body));
  const bad = await post('forms', formV2(fields, V2_CONDITIONS('forms'), 'x', { secret: 'wrong' }));
  assert.equal(bad.status, 403, bad.text);
  assert.match(bad.text, /SignatureDoesNotMatch/);
});

test('policy documents: an empty condition and a non-ISO expiration are 400, a failed eq is 403', async () => {
  const fields: [string, string][] = [['key', 'foo.txt'], ['acl', 'private'], ['Content-Type', 'text/plain']];
  const empty = await post('forms', formV2(fields, [{}], 'bar'));
  assert.equal(empty.status, 400, empty.text);
  const date = await post('forms', formV2(fields, V2_CONDITIONS('forms'), 'bar', { expiration: '2099-01-01 12:00:00.000000+00:00' }));
  assert.equal(date.status, 400, date.text);
  const eq = await post('forms', formV2([...fields, ['x-amz-meta-foo', 'barclamp']], [...V2_CONDITIONS('forms'), ['eq', '$x-amz-meta-foo', '']], 'bar'));
  assert.equal(eq.status, 403, eq.text);
});

test('anonymous POST: refused on a private bucket; on a public-read-write bucket stored with its acl, tags and metadata', async () => {
  const c = s3Client(node);
  await c.send(new CreateBucketCommand({ Bucket: 'public-forms', ACL: 'public-read-write' }));
  const anon = (bucket: string, extra: [string, string][] = []) => {
    const f = new FormData();
    for (const [k, v] of [['key', 'foo.txt'], ['acl', 'public-read'], ['Content-Type', 'text/plain'], ...extra]) f.append(k!, v!);
    f.append('file', new Blob(['bar']), 'file');
    return f;
  };
  const refused = await post('forms', anon('forms'));
  assert.equal(refused.status, 403, refused.text);
  const tagging = '<Tagging><TagSet><Tag><Key>0</Key><Value>0</Value></Tag><Tag><Key>1</Key><Value>1</Value></Tag></TagSet></Tagging>';
  const ok = await post('public-forms', anon('public-forms', [['tagging', tagging], ['x-amz-meta-who', 'anon'], ['success_action_status', '201']]));
  assert.equal(ok.status, 201, ok.text);
  // S3's PostResponse has no namespace (clients find <Key> without one).
  assert.match(ok.text, /<PostResponse><Location>[^<]*<\/Location><Bucket>public-forms<\/Bucket><Key>foo.txt<\/Key>/);
  const tags = await c.send(new GetObjectTaggingCommand({ Bucket: 'public-forms', Key: 'foo.txt' }));
  assert.deepEqual(tags.TagSet, [{ Key: '0', Value: '0' }, { Key: '1', Value: '1' }]);
  const head = await c.send(new HeadObjectCommand({ Bucket: 'public-forms', Key: 'foo.txt' }));
  assert.equal(head.Metadata?.who, 'anon');
  // acl=public-read: anyone may read it.
  const pub = await fetch(`${node.s3Url}/public-forms/foo.txt`);
  assert.equal(pub.status, 200);
  assert.equal(await pub.text(), 'bar');
  // An invalid success_action_status is 204 with no body.
  const odd = await post('public-forms', anon('public-forms', [['success_action_status', '404']]));
  assert.equal(odd.status, 204, odd.text);
  assert.equal(odd.text, '');
});

test('form fields are bounded before the file: too many fields, a control character in a stored field', async () => {
  const many: [string, string][] = [['key', 'foo.txt']];
  for (let i = 0; i < 70; i++) many.push([`x-ignore-${i}`, 'v']);
  const r = await post('forms', formV2(many, V2_CONDITIONS('forms'), 'bar'));
  assert.equal(r.status, 400, r.text);
  assert.match(r.text, /MaxPostPreDataLengthExceeded/);
  const crlf = await post('forms', formV2([['key', 'foo-crlf'], ['acl', 'private'], ['Content-Type', 'text/plain'], ['x-amz-meta-foo', 'a\r\nb']], [...V2_CONDITIONS('forms'), ['starts-with', '$x-amz-meta-foo', '']], 'bar'));
  assert.equal(crlf.status, 400, crlf.text);
  assert.match(crlf.text, /InvalidArgument/);
});

/** Sends a raw form the way python requests does (the whole body, then reads): the status line,
 *  and the error of the write if the server stopped reading (EPIPE / ECONNRESET). */
function sendWhole(bucket: string, fields: [string, string][], fileBytes: number): Promise<{ status: string; writeError?: string }> {
  const B = 'xxPOSTxBOUNDARYxx';
  const parts = fields.map(([n, v]) => `--${B}\r\nContent-Disposition: form-data; name="${n}"\r\n\r\n${v}\r\n`).join('');
  const body = Buffer.concat([Buffer.from(`${parts}--${B}\r\nContent-Disposition: form-data; name="file"; filename="f"\r\n\r\n`), Buffer.alloc(fileBytes, 'a'), Buffer.from(`\r\n--${B}--\r\n`)]);
  const u = new URL(node.s3Url);
  return new Promise((resolve) => {
    const out: Buffer[] = [];
    let writeError: string | undefined;
    const s = connect(Number(u.port), u.hostname, () => {
      s.write(`POST /${bucket} HTTP/1.1\r\nHost: ${u.host}\r\nContent-Type: multipart/form-data; boundary=${B}\r\nContent-Length: ${body.length}\r\n\r\n`);
      s.write(body, (e) => {
        if (e) writeError = e.message;
      });
    });
    s.setTimeout(15_000, () => s.destroy());
    s.on('data', (c: Buffer) => out.push(c));
    s.on('error', (e) => (writeError ??= e.message));
    s.on('close', () => resolve({ status: Buffer.concat(out).toString('latin1').split('\r\n')[0] ?? '', ...(writeError ? { writeError } : {}) }));
  });
}

test('a refused form upload of a few MiB is read to its end: the client sees the answer, not a reset', async () => {
  const policy = Buffer.from(JSON.stringify({ expiration: new Date(Date.now() + 600_000).toISOString(), conditions: [{ bucket: 'forms' }, ['starts-with', '$key', ''], ['content-length-range', 0, 1024]] })).toString('base64');
  const signature = createHmac('sha1', node.secret).update(policy).digest('base64');
  const signed: [string, string][] = [['key', 'big'], ['AWSAccessKeyId', node.keyId], ['signature', signature], ['policy', policy]];
  const tooLarge = await sendWhole('forms', signed, 6 * 1024 * 1024);
  assert.deepEqual(tooLarge, { status: 'HTTP/1.1 400 Bad Request' });
  // Another first character (a signature starting with 'A' stayed valid: 1 run in 64 failed with 400).
  const badSignature = await sendWhole('forms', signed.map(([k, v]) => [k, k === 'signature' ? (v[0] === 'A' ? 'B' : 'A') + v.slice(1) : v]), 6 * 1024 * 1024);
  assert.deepEqual(badSignature, { status: 'HTTP/1.1 403 Forbidden' });
});

test('a bucket policy decides form uploads as it does PutObject: a public prefix for anonymous forms, an explicit Deny for signed ones', async () => {
  const c = s3Client(node);
  await c.send(new CreateBucketCommand({ Bucket: 'policy-forms' }));
  const policy = {
    Version: '2012-10-17',
    Statement: [
      { Effect: 'Allow', Principal: '*', Action: 's3:PutObject', Resource: 'arn:aws:s3:::policy-forms/open/*' },
      { Effect: 'Deny', Principal: '*', Action: 's3:PutObject', Resource: 'arn:aws:s3:::policy-forms/denied/*' },
    ],
  };
  await c.send(new PutBucketPolicyCommand({ Bucket: 'policy-forms', Policy: JSON.stringify(policy) }));
  const anon = (key: string) => {
    const f = new FormData();
    f.append('key', key);
    f.append('file', new Blob(['x']), 'f');
    return f;
  };
  assert.equal((await post('policy-forms', anon('open/a'))).status, 204);
  assert.equal((await post('policy-forms', anon('closed/a'))).status, 403);
  const signed = (key: string) => formV2([['key', key]], [{ bucket: 'policy-forms' }, ['starts-with', '$key', '']], 'x');
  assert.equal((await post('policy-forms', signed('closed/a'))).status, 204, 'the owner key needs no policy');
  const denied = await post('policy-forms', signed('denied/a'));
  assert.equal(denied.status, 403, denied.text);
  assert.match(denied.text, /bucket policy/);
});
