// PostObject's form authentication and policy conditions: SigV4 and SigV2 signatures, anonymous
// forms, the policy document's shape (expiration, conditions) and each condition kind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { S3Error } from '../errors.ts';
import { AKID, SECRET, lookup, signingKeyOf } from '../auth/testkit.ts';
import { POST_POLICY_BYTES_MAX, verifyPostForm } from './post-policy.ts';

const NOW = Date.UTC(2025, 2, 1, 10, 0, 0);
const CTX = { bucket: 'photos', filename: 'cat.png' };
const EXP = '2025-03-01T12:00:00Z';
const code = (c: string, re?: RegExp) => (e: unknown) => e instanceof S3Error && e.code === c && (!re || re.test(e.message));

function lower(o: Record<string, string>): Map<string, string> {
  return new Map(Object.entries(o).map(([k, v]) => [k.toLowerCase(), v]));
}

function v2(conditions: unknown, fields: Record<string, string>, opts: { expiration?: unknown; secret?: string; doc?: unknown } = {}): Map<string, string> {
  const policy = Buffer.from(JSON.stringify(opts.doc ?? { expiration: opts.expiration ?? EXP, conditions })).toString('base64');
  const signature = createHmac('sha1', opts.secret ?? SECRET).update(policy).digest('base64');
  return lower({ ...fields, AWSAccessKeyId: AKID, Signature: signature, Policy: policy });
}

function v4(conditions: unknown[], fields: Record<string, string>): Map<string, string> {
  const policy = Buffer.from(JSON.stringify({ expiration: EXP, conditions })).toString('base64');
  const key = signingKeyOf(SECRET, '20250301', 'garage');
  return lower({
    ...fields,
    'X-Amz-Algorithm': 'AWS4-HMAC-SHA256',
    'X-Amz-Credential': `${AKID}/20250301/garage/s3/aws4_request`,
    'X-Amz-Date': '20250301T095900Z',
    Policy: policy,
    'X-Amz-Signature': createHmac('sha256', key).update(policy).digest('hex'),
  });
}

const COND = [{ bucket: 'photos' }, ['starts-with', '$key', 'up/'], { acl: 'private' }, ['starts-with', '$Content-Type', 'image/'], ['content-length-range', 1, 1000]];
const FIELDS = { Key: 'up/${filename}', Acl: 'private', 'Content-Type': 'image/png' };
const check = (f: Map<string, string>, ctx = CTX) => verifyPostForm(f, lookup, 'garage', NOW, ctx);

test('SigV2 and SigV4 forms pass, ${filename} substituted, the range returned', () => {
  assert.deepEqual(check(v2(COND, FIELDS)), { accessKeyId: AKID, key: 'up/cat.png', contentLengthRange: { min: 1, max: 1000 } });
  const v4cond = [...COND, { 'x-amz-algorithm': 'AWS4-HMAC-SHA256' }, { 'x-amz-credential': `${AKID}/20250301/garage/s3/aws4_request` }, { 'x-amz-date': '20250301T095900Z' }];
  assert.equal(check(v4(v4cond, FIELDS)).accessKeyId, AKID);
});

test('signatures: wrong secret, unknown key, missing signature, tampered policy', () => {
  assert.throws(() => check(v2(COND, FIELDS, { secret: 'nope' })), code('SignatureDoesNotMatch'));
  assert.throws(() => verifyPostForm(v2(COND, FIELDS), () => undefined, 'garage', NOW, CTX), code('InvalidAccessKeyId'));
  const f = v2(COND, FIELDS);
  f.delete('signature');
  assert.throws(() => check(f), code('InvalidArgument', /signature/));
  const t = v2(COND, FIELDS);
  t.set('policy', Buffer.from(JSON.stringify({ expiration: '2099-01-01T00:00:00Z', conditions: [] })).toString('base64'));
  assert.throws(() => check(t), code('SignatureDoesNotMatch'));
  const onlyPolicy = lower({ ...FIELDS, Policy: 'e30=' });
  assert.throws(() => check(onlyPolicy), code('InvalidArgument'));
});

test('anonymous forms: no policy to check, a key still required', () => {
  assert.deepEqual(check(lower({ key: 'a/${filename}', acl: 'public-read', 'x-whatever': '1' })), { key: 'a/cat.png' });
  assert.throws(() => check(lower({ acl: 'public-read' })), code('InvalidArgument', /key/));
  assert.throws(() => check(lower({ key: '${filename}' }), { bucket: 'photos', filename: '' }), code('InvalidArgument', /empty/));
});

test('the policy document: expiration as ISO 8601 UTC, conditions an array, bounded size', () => {
  for (const expiration of ['2025-03-01 12:00:00+00:00', '2025-03-01T12:00:00', 'tomorrow', 1740830400000])
    assert.throws(() => check(v2(COND, FIELDS, { expiration })), code('InvalidPolicyDocument'), String(expiration));
  assert.throws(() => check(v2(undefined, FIELDS, { doc: { conditions: COND } })), code('InvalidPolicyDocument'));
  assert.ok(check(v2(COND, FIELDS, { expiration: '2025-03-01T12:00:00.123Z' })));
  assert.throws(() => check(v2(COND, FIELDS, { expiration: '2025-03-01T09:00:00Z' })), code('AccessDenied', /expired/));
  assert.throws(() => check(v2(undefined, FIELDS, { doc: { EXPIRATION: EXP, conditions: COND } })), code('InvalidPolicyDocument'));
  assert.throws(() => check(v2(undefined, FIELDS, { doc: { expiration: EXP, CONDITIONS: COND } })), code('InvalidPolicyDocument'));
  assert.throws(() => check(v2(undefined, FIELDS, { doc: [] })), code('InvalidPolicyDocument'));
  const pad = 'p'.repeat(POST_POLICY_BYTES_MAX);
  assert.throws(() => check(v2([...COND, ['starts-with', '$x-ignore-pad', pad]], FIELDS)), code('InvalidPolicyDocument', /larger/));
});

test('conditions: case-insensitive names and operators, literal values, bucket from the URL, every field covered', () => {
  const mixed = [{ bUcKeT: 'photos' }, ['StArTs-WiTh', '$KeY', 'up/'], { AcL: 'private' }, ['STARTS-WITH', '$CoNtEnT-TyPe', 'image/']];
  assert.ok(check(v2(mixed, FIELDS)));
  // "\$" is not an escape: the value is compared as written.
  assert.equal(check(v2([...COND.slice(0, 1), ['starts-with', '$key', '\\$up'], ...COND.slice(2)], { ...FIELDS, key: '\\$up.txt' })).key, '\\$up.txt');
  assert.throws(() => check(v2(COND, FIELDS), { ...CTX, bucket: 'other' }), code('AccessDenied', /bucket/));
  assert.throws(() => check(v2(COND, { ...FIELDS, 'x-amz-meta-a': '1' })), code('AccessDenied', /Extra input fields: x-amz-meta-a/));
  assert.ok(check(v2(COND, { ...FIELDS, 'x-ignore-a': '1' })));
  assert.throws(() => check(v2([...COND, ['eq', '$x-amz-meta-a', '']], { ...FIELDS, 'x-amz-meta-a': 'b' })), code('AccessDenied'));
  assert.throws(() => check(v2([...COND, ['starts-with', '$x-amz-meta-a', 'b']], FIELDS)), code('AccessDenied'));
  // Each listed Content-Type must match the prefix.
  assert.throws(() => check(v2(COND, { ...FIELDS, 'Content-Type': 'image/png, text/html' })), code('AccessDenied'));
});

test('malformed conditions are 400', () => {
  const bad: unknown[] = [
    {},
    { a: 'x', b: 'y' },
    { acl: 1 },
    ['eq', 'key', 'up/'],
    ['eq', '$key'],
    ['matches', '$key', 'x'],
    ['content-length-range', 0],
    ['content-length-range', -1, 0],
    ['content-length-range', 10, 1],
    ['content-length-range', null, 10],
    ['content-length-range', '', 10],
    'acl',
    null,
  ];
  for (const c of bad) assert.throws(() => check(v2([...COND, c], FIELDS)), code('InvalidPolicyDocument'), JSON.stringify(c));
  assert.deepEqual(check(v2([...COND.slice(0, 4), ['content-length-range', '5', 10]], FIELDS)).contentLengthRange, { min: 5, max: 10 });
});
