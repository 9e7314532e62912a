import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { authenticate } from './index.ts';
import { AKID, T2013, lookup, rfc3986, sdkPresign, sdkSigner, s3err } from './testkit.ts';
import type { AuthRequest } from './types.ts';

// AWS docs, "Authenticating Requests: Using Query Parameters", example presigned GET.
const AWS_QUERY =
  'X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request' +
  '&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host' +
  '&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404';

function awsPresigned(query = AWS_QUERY): AuthRequest {
  return { method: 'GET', rawPath: '/test.txt', rawQuery: query, headers: { host: 'examplebucket.s3.amazonaws.com' } };
}

test('AWS example: presigned GET is accepted within its validity', () => {
  const r = authenticate(awsPresigned(), lookup, 'us-east-1', T2013 + 3600_000);
  assert.equal(r.accessKeyId, AKID);
  assert.deepEqual(r.payload, { kind: 'unsigned' });
  assert.equal(r.signing.seedSignature, 'aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404');
  // parameter order on the wire is irrelevant
  const shuffled = AWS_QUERY.split('&').reverse().join('&');
  authenticate(awsPresigned(shuffled), lookup, 'us-east-1', T2013 + 1000);
  // still valid at the last second
  authenticate(awsPresigned(), lookup, 'us-east-1', T2013 + 86400_000);
});

test('presigned: expired, not yet valid, too long, tampered', () => {
  assert.throws(() => authenticate(awsPresigned(), lookup, 'us-east-1', T2013 + 86400_000 + 1000), s3err('AccessDenied', /Request has expired/));
  assert.throws(() => authenticate(awsPresigned(), lookup, 'us-east-1', T2013 - 3600_000), s3err('AccessDenied', /not valid yet/));
  assert.throws(
    () => authenticate(awsPresigned(AWS_QUERY.replace('X-Amz-Expires=86400', 'X-Amz-Expires=604801')), lookup, 'us-east-1', T2013),
    s3err('AuthorizationQueryParametersError'),
  );
  assert.throws(
    () => authenticate(awsPresigned(AWS_QUERY.replace('X-Amz-Expires=86400', 'X-Amz-Expires=86401')), lookup, 'us-east-1', T2013),
    s3err('SignatureDoesNotMatch'),
  );
  assert.throws(() => authenticate(awsPresigned(AWS_QUERY.replace(/d404$/, 'd405')), lookup, 'us-east-1', T2013), s3err('SignatureDoesNotMatch'));
  assert.throws(() => authenticate(awsPresigned(AWS_QUERY + '&response-content-type=evil'), lookup, 'us-east-1', T2013), s3err('SignatureDoesNotMatch'));
  const otherPath = { ...awsPresigned(), rawPath: '/other.txt' };
  assert.throws(() => authenticate(otherPath, lookup, 'us-east-1', T2013), s3err('SignatureDoesNotMatch'));
  const otherHost = { ...awsPresigned(), headers: { host: 'evil.example' } };
  assert.throws(() => authenticate(otherHost, lookup, 'us-east-1', T2013), s3err('SignatureDoesNotMatch'));
  assert.throws(() => authenticate(awsPresigned(), lookup, 'eu-west-1', T2013), s3err('AuthorizationQueryParametersError', /expecting 'eu-west-1'/));
  assert.throws(() => authenticate(awsPresigned(), () => undefined, 'us-east-1', T2013), s3err('InvalidAccessKeyId'));
});

test('presigned: missing or wrong parameters', () => {
  for (const p of ['X-Amz-Credential', 'X-Amz-Date', 'X-Amz-Expires', 'X-Amz-SignedHeaders', 'X-Amz-Signature']) {
    const q = AWS_QUERY.split('&').filter((kv) => !kv.startsWith(p + '=')).join('&');
    assert.throws(() => authenticate(awsPresigned(q), lookup, 'us-east-1', T2013), s3err('AuthorizationQueryParametersError'), p);
  }
  assert.throws(
    () => authenticate(awsPresigned(AWS_QUERY.replace('AWS4-HMAC-SHA256', 'AWS4-HMAC-SHA1')), lookup, 'us-east-1', T2013),
    s3err('AuthorizationQueryParametersError'),
  );
  assert.throws(
    () => authenticate(awsPresigned(AWS_QUERY.replace('X-Amz-Expires=86400', 'X-Amz-Expires=-1')), lookup, 'us-east-1', T2013),
    s3err('AuthorizationQueryParametersError'),
  );
  const extraHeader = awsPresigned();
  extraHeader.headers['x-amz-acl'] = 'public-read';
  assert.throws(() => authenticate(extraHeader, lookup, 'us-east-1', T2013), s3err('AccessDenied', /not signed/));
});

test('oracle: URLs presigned by @smithy/signature-v4 verify, tampered or expired ones do not', async () => {
  const signer = sdkSigner('garage');
  const now = Date.UTC(2025, 5, 1, 12, 0, 0);
  for (let i = 0; i < 100; i++) {
    const key = ['photos', `img ${i}$€+=&.jpg`, '~a!b'].slice(0, randomInt(1, 4)).map(rfc3986).join('/');
    const expires = randomInt(1, 604800);
    const signedAt = now - randomInt(0, expires) * 1000;
    const query: Record<string, string> = i % 2 ? { 'response-content-disposition': 'attachment; filename="a b.txt"' } : {};
    // Like @aws-sdk/s3-request-presigner: the payload is declared unsigned (hoisted into the query).
    const headers: Record<string, string> = { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD', ...(i % 3 === 0 ? { 'content-type': 'image/jpeg' } : {}) };
    const method = i % 2 ? 'GET' : 'PUT';
    const req = await sdkPresign({ method, host: 'b.s3.local', path: '/' + key, query, headers }, new Date(signedAt), expires, signer);
    const r = authenticate(req, lookup, 'garage', now);
    assert.equal(r.payload.kind, 'unsigned');
    assert.throws(() => authenticate(req, lookup, 'garage', signedAt + expires * 1000 + 1000), s3err('AccessDenied', /expired/));
    assert.throws(() => authenticate({ ...req, method: method === 'GET' ? 'PUT' : 'GET' }, lookup, 'garage', now), s3err('SignatureDoesNotMatch'));
    assert.throws(
      () => authenticate({ ...req, rawQuery: req.rawQuery.replace(/X-Amz-Expires=\d+/, `X-Amz-Expires=${expires + 1}`) }, lookup, 'garage', now),
      s3err('SignatureDoesNotMatch'),
    );
  }
});

test('presigned: a hex x-amz-content-sha256 kept as a signed header is used as the payload hash', async () => {
  const sha = 'b'.repeat(64);
  const signer = sdkSigner('us-east-1');
  const signed = await signer.presign(
    { method: 'PUT', protocol: 'https:', hostname: 'h', path: '/b/k', query: {}, headers: { host: 'h', 'x-amz-content-sha256': sha } },
    { signingDate: new Date(T2013), expiresIn: 60, unhoistableHeaders: new Set(['x-amz-content-sha256']) },
  );
  const q = Object.entries(signed.query as Record<string, string>).map(([k, v]) => `${rfc3986(k)}=${rfc3986(v)}`).join('&');
  const req: AuthRequest = { method: 'PUT', rawPath: '/b/k', rawQuery: q, headers: { host: 'h', 'x-amz-content-sha256': sha } };
  assert.deepEqual(authenticate(req, lookup, 'us-east-1', T2013).payload, { kind: 'sha256', expected: sha });
});

test('presigned with a signed X-Amz-Content-Sha256 turns into a sha256-checked payload', async () => {
  const sha = 'a'.repeat(64);
  const req = await sdkPresign(
    { method: 'PUT', host: 'h', path: '/b/k', headers: { 'x-amz-content-sha256': sha } },
    new Date(T2013),
    60,
    sdkSigner('us-east-1'),
  );
  assert.match(req.rawQuery, /x-amz-content-sha256=a{64}/i);
  const r = authenticate(req, lookup, 'us-east-1', T2013);
  assert.deepEqual(r.payload, { kind: 'sha256', expected: sha });
});
