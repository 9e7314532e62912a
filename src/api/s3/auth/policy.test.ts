import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { parseFormUpload, verifyPostPolicy } from './policy.ts';
import { AKID, SECRET, collect, collectSettled, lookup, pieces, s3err, signingKeyOf } from './testkit.ts';

const NOW = Date.UTC(2025, 2, 1, 10, 0, 0);

function signedForm(conditions: unknown[], extra: Record<string, string> = {}, expiration = '2025-03-01T12:00:00.000Z') {
  const policy = Buffer.from(JSON.stringify({ expiration, conditions })).toString('base64');
  const key = signingKeyOf(SECRET, '20250301', 'garage');
  return {
    key: 'uploads/${filename}',
    'X-Amz-Algorithm': 'AWS4-HMAC-SHA256',
    'X-Amz-Credential': `${AKID}/20250301/garage/s3/aws4_request`,
    'X-Amz-Date': '20250301T095900Z',
    'Content-Type': 'image/png',
    Policy: policy,
    'X-Amz-Signature': createHmac('sha256', key).update(policy).digest('hex'),
    ...extra,
  };
}

const BASE_CONDITIONS = [
  { bucket: 'photos' },
  ['starts-with', '$key', 'uploads/'],
  { 'x-amz-algorithm': 'AWS4-HMAC-SHA256' },
  { 'x-amz-credential': `${AKID}/20250301/garage/s3/aws4_request` },
  { 'x-amz-date': '20250301T095900Z' },
  ['starts-with', '$Content-Type', 'image/'],
  ['content-length-range', 1, 1000],
];

test('POST policy: a correctly signed form passes, ${filename} substituted', () => {
  const r = verifyPostPolicy(signedForm(BASE_CONDITIONS), lookup, 'garage', NOW, 500, { bucket: 'photos', filename: 'cat.png' });
  assert.deepEqual(r, { accessKeyId: AKID, key: 'uploads/cat.png', contentLengthRange: { min: 1, max: 1000 } });
  // without a size yet, the range is returned for the caller to enforce while streaming
  const r2 = verifyPostPolicy(signedForm(BASE_CONDITIONS), lookup, 'garage', NOW, undefined, { bucket: 'photos', filename: 'x.png' });
  assert.deepEqual(r2.contentLengthRange, { min: 1, max: 1000 });
});

test('POST policy: signature, expiry and identity failures', () => {
  const ctx = { bucket: 'photos', filename: 'cat.png' };
  const f = signedForm(BASE_CONDITIONS);
  assert.throws(() => verifyPostPolicy({ ...f, 'X-Amz-Signature': f['X-Amz-Signature'].replace(/.$/, (c) => (c === '0' ? '1' : '0')) }, lookup, 'garage', NOW, 5, ctx), s3err('SignatureDoesNotMatch'));
  const tampered = Buffer.from(JSON.stringify({ expiration: '2030-01-01T00:00:00Z', conditions: BASE_CONDITIONS })).toString('base64');
  assert.throws(() => verifyPostPolicy({ ...f, Policy: tampered }, lookup, 'garage', NOW, 5, ctx), s3err('SignatureDoesNotMatch'));
  assert.throws(() => verifyPostPolicy(f, () => SECRET + 'x', 'garage', NOW, 5, ctx), s3err('SignatureDoesNotMatch'));
  assert.throws(() => verifyPostPolicy(f, () => undefined, 'garage', NOW, 5, ctx), s3err('InvalidAccessKeyId'));
  assert.throws(() => verifyPostPolicy(f, lookup, 'garage', Date.UTC(2025, 2, 1, 12, 0, 1), 5, ctx), s3err('AccessDenied', /expired/));
  assert.throws(() => verifyPostPolicy(f, lookup, 'us-east-1', NOW, 5, ctx), s3err('InvalidArgument', /expecting 'us-east-1'/));
  const { Policy: _p, 'X-Amz-Signature': _s, ...anon } = f;
  assert.throws(() => verifyPostPolicy(anon, lookup, 'garage', NOW, 5, ctx), s3err('AccessDenied'));
  const { key: _k, ...noKey } = f;
  assert.throws(() => verifyPostPolicy(noKey, lookup, 'garage', NOW, 5, ctx), s3err('InvalidArgument', /key/));
  assert.throws(() => verifyPostPolicy({ ...f, AWSAccessKeyId: AKID, Signature: 'x' }, lookup, 'garage', NOW, 5, ctx), s3err('InvalidRequest'));
});

test('POST policy: conditions', () => {
  const ctx = { bucket: 'photos', filename: 'cat.png' };
  const check = (conds: unknown[], extra: Record<string, string> = {}, c = ctx, size = 5) => verifyPostPolicy(signedForm(conds, extra), lookup, 'garage', NOW, size, c);
  assert.throws(() => check(BASE_CONDITIONS, {}, { bucket: 'other', filename: 'cat.png' }), s3err('AccessDenied', /bucket/));
  assert.throws(() => check(BASE_CONDITIONS, { key: 'elsewhere/${filename}' }), s3err('AccessDenied', /key/));
  assert.throws(() => check(BASE_CONDITIONS, { 'Content-Type': 'text/html' }), s3err('AccessDenied', /content-type/));
  assert.throws(() => check(BASE_CONDITIONS, { 'Content-Type': 'image/png, text/html' }), s3err('AccessDenied', /content-type/));
  assert.throws(() => check(BASE_CONDITIONS, {}, ctx, 1001), s3err('EntityTooLarge'));
  assert.throws(() => check(BASE_CONDITIONS, {}, ctx, 0), s3err('EntityTooSmall'));
  // every field must be covered by a condition, except the exempt ones
  assert.throws(() => check(BASE_CONDITIONS, { 'x-amz-meta-owner': 'me' }), s3err('AccessDenied', /Extra input fields: x-amz-meta-owner/));
  check([...BASE_CONDITIONS, ['eq', '$x-amz-meta-owner', 'me']], { 'x-amz-meta-owner': 'me' });
  assert.throws(() => check([...BASE_CONDITIONS, ['eq', '$x-amz-meta-owner', 'me']], { 'x-amz-meta-owner': 'you' }), s3err('AccessDenied'));
  check([...BASE_CONDITIONS, ['starts-with', '$success_action_status', '']], { success_action_status: '201' });
  check(BASE_CONDITIONS, { 'x-ignore-tracking': 'abc' });
  const noAlgCond = BASE_CONDITIONS.filter((c) => !(typeof c === 'object' && 'x-amz-algorithm' in (c as object)));
  assert.throws(() => check(noAlgCond), s3err('AccessDenied', /x-amz-algorithm/));
  // malformed policies
  assert.throws(() => check([...BASE_CONDITIONS, ['matches', '$key', '.*']]), s3err('InvalidArgument'));
  assert.throws(() => check([...BASE_CONDITIONS, ['content-length-range', 10, 1]]), s3err('InvalidArgument'));
  assert.throws(() => verifyPostPolicy(signedForm(BASE_CONDITIONS, {}, 'tomorrow'), lookup, 'garage', NOW, 5, ctx), s3err('InvalidArgument'));
});

// ---------------------------------------------------------------- multipart/form-data

const BOUNDARY = '----WebKitFormBoundary7MA4YWxkTrZu0gW';
function multipart(parts: { name: string; value: Buffer | string; filename?: string; type?: string }[], boundary = BOUNDARY): Buffer {
  const out: Buffer[] = [Buffer.from('preamble to ignore\r\n')];
  for (const p of parts) {
    let head = `--${boundary}\r\nContent-Disposition: form-data; name="${p.name}"`;
    if (p.filename !== undefined) head += `; filename="${p.filename}"`;
    head += '\r\n';
    if (p.type) head += `Content-Type: ${p.type}\r\n`;
    out.push(Buffer.from(head + '\r\n'), Buffer.from(p.value), Buffer.from('\r\n'));
  }
  out.push(Buffer.from(`--${boundary}--\r\n`));
  return Buffer.concat(out);
}

const CT = `multipart/form-data; boundary=${BOUNDARY}`;
// File content designed to contain near-misses of the delimiter.
const FILE = Buffer.concat([Buffer.from(`x\r\n--${BOUNDARY.slice(0, -1)}y\r\n-`), randomBytes(50), Buffer.from('\r\n--')]);

test('form upload: fields before the file, file streamed, later fields ignored; every split offset', async () => {
  const body = multipart([
    { name: 'key', value: 'uploads/${filename}' },
    { name: 'X-Amz-Meta-Note', value: 'multi\r\nline' },
    { name: 'file', value: FILE, filename: 'cat "1".png'.replace(/"/g, '\\"'), type: 'image/png' },
    { name: 'after', value: 'ignored' },
  ]);
  for (let i = 0; i <= body.length; i++) {
    const up = await parseFormUpload(pieces(body, [i]), CT);
    assert.deepEqual(up.fields, { key: 'uploads/${filename}', 'x-amz-meta-note': 'multi\r\nline' });
    assert.equal(up.filename, 'cat "1".png');
    assert.equal(up.fileContentType, 'image/png');
    assert.ok((await collect(up.file)).equals(FILE), `split at ${i}`);
  }
});

test('form upload: a large file is streamed with back-pressure', async () => {
  const big = randomBytes(3 * 1024 * 1024);
  const body = multipart([{ name: 'key', value: 'k' }, { name: 'file', value: big, filename: 'b.bin' }]);
  let pulled = 0;
  let off = 0;
  const src = new Readable({
    read() {
      if (off >= body.length) return void this.push(null);
      const n = Math.min(10007, body.length - off);
      pulled += n;
      this.push(body.subarray(off, (off += n)));
    },
  });
  const up = await parseFormUpload(src, `multipart/form-data; boundary="${BOUNDARY}"`);
  up.file.pause();
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
  assert.ok(pulled < 512 * 1024, `pulled ${pulled} before anyone read the file`);
  assert.ok((await collect(up.file)).equals(big));
});

test('form upload: malformed inputs', async () => {
  await assert.rejects(parseFormUpload(pieces(Buffer.from('x'), []), 'application/json'), s3err('MalformedPOSTRequest'));
  await assert.rejects(parseFormUpload(pieces(Buffer.from('x'), []), 'multipart/form-data'), s3err('MalformedPOSTRequest'));
  await assert.rejects(parseFormUpload(pieces(multipart([{ name: 'key', value: 'k' }]), []), CT), s3err('InvalidArgument', /file/));
  const noDisposition = Buffer.from(`--${BOUNDARY}\r\nContent-Type: text/plain\r\n\r\nx\r\n--${BOUNDARY}--\r\n`);
  await assert.rejects(parseFormUpload(pieces(noDisposition, []), CT), s3err('MalformedPOSTRequest'));
  await assert.rejects(parseFormUpload(pieces(multipart([{ name: 'key', value: 'x'.repeat(100_000) }]), []), CT), s3err('MalformedPOSTRequest'));
  const truncated = multipart([{ name: 'key', value: 'k' }, { name: 'file', value: FILE, filename: 'f' }]);
  const up = await parseFormUpload(pieces(truncated.subarray(0, truncated.length - 60), []), CT);
  s3err('IncompleteBody')((await collectSettled(up.file)).error);
  await assert.rejects(parseFormUpload(pieces(truncated.subarray(0, 40), []), CT), s3err('MalformedPOSTRequest'));
});
