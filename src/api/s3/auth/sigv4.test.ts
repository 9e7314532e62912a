import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomInt } from 'node:crypto';
import { authenticate, hasCredentials } from './index.ts';
import { canonicalHeaderValue, canonicalQuery, canonicalUri, parseQuery } from './sigv4.ts';
import { AKID, SECRET, T2013, lookup, rfc3986, sdkSign, sdkSigner, s3err } from './testkit.ts';
import type { AuthRequest } from './types.ts';

const HOST = 'examplebucket.s3.amazonaws.com';
const EMPTY = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
const cred = `Credential=${AKID}/20130524/us-east-1/s3/aws4_request`;

// AWS docs, "Signature Calculations for the Authorization Header: Transferring Payload in a Single Chunk".
function awsGetObject(): AuthRequest {
  return {
    method: 'GET',
    rawPath: '/test.txt',
    rawQuery: '',
    headers: {
      host: HOST,
      range: 'bytes=0-9',
      'x-amz-content-sha256': EMPTY,
      'x-amz-date': '20130524T000000Z',
      authorization: `AWS4-HMAC-SHA256 ${cred},SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41`,
    },
  };
}

function awsPutObject(rawPath: string): AuthRequest {
  return {
    method: 'PUT',
    rawPath,
    rawQuery: '',
    headers: {
      host: HOST,
      date: 'Fri, 24 May 2013 00:00:00 GMT',
      'x-amz-date': '20130524T000000Z',
      'x-amz-storage-class': 'REDUCED_REDUNDANCY',
      'x-amz-content-sha256': '44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072',
      authorization: `AWS4-HMAC-SHA256 ${cred},SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class,Signature=98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd`,
    },
  };
}

function awsGet(rawQuery: string, signature: string): AuthRequest {
  return {
    method: 'GET',
    rawPath: '/',
    rawQuery,
    headers: {
      host: HOST,
      'x-amz-date': '20130524T000000Z',
      'x-amz-content-sha256': EMPTY,
      authorization: `AWS4-HMAC-SHA256 ${cred},SignedHeaders=host;x-amz-content-sha256;x-amz-date,Signature=${signature}`,
    },
  };
}

test('AWS example: GET Object', () => {
  const r = authenticate(awsGetObject(), lookup, 'us-east-1', T2013);
  assert.equal(r.accessKeyId, AKID);
  assert.deepEqual(r.payload, { kind: 'sha256', expected: EMPTY });
  assert.equal(r.signing.seedSignature, 'f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41');
  assert.equal(r.signing.scope, '20130524/us-east-1/s3/aws4_request');
  assert.equal(r.signing.amzDate, '20130524T000000Z');
});

test('AWS example: PUT Object test$file.text, raw or percent-encoded path', () => {
  for (const p of ['/test$file.text', '/test%24file.text', '/test%24file%2Etext']) {
    const r = authenticate(awsPutObject(p), lookup, 'us-east-1', T2013);
    assert.equal(r.payload.kind, 'sha256', p);
  }
});

test('AWS examples: GET bucket lifecycle and list objects (query canonicalisation)', () => {
  authenticate(awsGet('lifecycle', 'fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543'), lookup, 'us-east-1', T2013);
  authenticate(awsGet('max-keys=2&prefix=J', '34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7'), lookup, 'us-east-1', T2013);
  // order of parameters on the wire does not matter
  authenticate(awsGet('prefix=J&max-keys=2', '34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7'), lookup, 'us-east-1', T2013);
});

test('tampering with anything signed is rejected', () => {
  const cases: [string, (r: AuthRequest) => void][] = [
    ['signature', (r) => (r.headers.authorization = r.headers.authorization!.replace(/1$/, '2'))],
    ['signed header value', (r) => (r.headers.range = 'bytes=0-99')],
    ['path', (r) => (r.rawPath = '/test.txt2')],
    ['method', (r) => (r.method = 'DELETE')],
    ['query', (r) => (r.rawQuery = 'versionId=1')],
    ['payload hash', (r) => (r.headers['x-amz-content-sha256'] = 'UNSIGNED-PAYLOAD')],
  ];
  for (const [name, tamper] of cases) {
    const r = awsGetObject();
    tamper(r);
    assert.throws(() => authenticate(r, lookup, 'us-east-1', T2013), s3err('SignatureDoesNotMatch'), name);
  }
  // wrong secret for the right key id
  assert.throws(() => authenticate(awsGetObject(), () => SECRET.replace('K7', 'K8'), 'us-east-1', T2013), s3err('SignatureDoesNotMatch'));
});

test('SignatureDoesNotMatch carries the string to sign for debugging', () => {
  const r = awsGetObject();
  r.headers.range = 'bytes=1-9';
  assert.throws(
    () => authenticate(r, lookup, 'us-east-1', T2013),
    (e: unknown) => (e as { extra: Record<string, string> }).extra.CanonicalRequest!.includes('range:bytes=1-9'),
  );
});

test('unknown key, anonymous, SigV2, SigV4a and mixed mechanisms', () => {
  assert.throws(() => authenticate(awsGetObject(), () => undefined, 'us-east-1', T2013), s3err('InvalidAccessKeyId'));
  const anon: AuthRequest = { method: 'GET', rawPath: '/b/k', rawQuery: '', headers: { host: 'x' } };
  assert.throws(() => authenticate(anon, lookup, 'us-east-1', T2013), s3err('AccessDenied'));
  assert.equal(hasCredentials(anon), false);
  assert.equal(hasCredentials(awsGetObject()), true);
  const v2 = { ...anon, headers: { host: 'x', authorization: 'AWS AKIAIOSFODNN7EXAMPLE:frJIUN8DYpKDtOLCwo//yllqDzg=' } };
  assert.throws(() => authenticate(v2, lookup, 'us-east-1', T2013), s3err('InvalidRequest', /AWS4-HMAC-SHA256/));
  const v2q = { ...anon, rawQuery: 'AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE&Expires=1141889120&Signature=vjbyPxybdZaNmGa%2ByT272YEAiv4%3D' };
  assert.throws(() => authenticate(v2q, lookup, 'us-east-1', T2013), s3err('InvalidRequest', /AWS4-HMAC-SHA256/));
  const v4a = { ...anon, headers: { host: 'x', authorization: 'AWS4-ECDSA-P256-SHA256 Credential=x' } };
  assert.throws(() => authenticate(v4a, lookup, 'us-east-1', T2013), s3err('InvalidRequest'));
  const both = awsGetObject();
  both.rawQuery = 'X-Amz-Algorithm=AWS4-HMAC-SHA256';
  assert.throws(() => authenticate(both, lookup, 'us-east-1', T2013), s3err('InvalidArgument'));
});

test('clock skew: 15 minutes either way is the limit', () => {
  const min = 60_000;
  authenticate(awsGetObject(), lookup, 'us-east-1', T2013 + 15 * min);
  authenticate(awsGetObject(), lookup, 'us-east-1', T2013 - 15 * min);
  assert.throws(() => authenticate(awsGetObject(), lookup, 'us-east-1', T2013 + 15 * min + 1000), s3err('RequestTimeTooSkewed'));
  assert.throws(() => authenticate(awsGetObject(), lookup, 'us-east-1', T2013 - 16 * min), s3err('RequestTimeTooSkewed'));
});

test('wrong region names the expected one; wrong service, date or terminator are malformed', () => {
  assert.throws(() => authenticate(awsGetObject(), lookup, 'garage', T2013), s3err('AuthorizationHeaderMalformed', /expecting 'garage'/));
  const mut = (from: string, to: string) => {
    const r = awsGetObject();
    r.headers.authorization = r.headers.authorization!.replace(from, to);
    return r;
  };
  assert.throws(() => authenticate(mut('/s3/', '/ec2/'), lookup, 'us-east-1', T2013), s3err('AuthorizationHeaderMalformed'));
  assert.throws(() => authenticate(mut('20130524/', '20130525/'), lookup, 'us-east-1', T2013), s3err('AuthorizationHeaderMalformed'));
  assert.throws(() => authenticate(mut('aws4_request', 'aws5_request'), lookup, 'us-east-1', T2013), s3err('AuthorizationHeaderMalformed'));
  assert.throws(() => authenticate(mut('SignedHeaders=host;', 'SignedHeaders='), lookup, 'us-east-1', T2013), s3err('AuthorizationHeaderMalformed', /host/));
  assert.throws(() => authenticate(mut(',Signature=', ',Sig='), lookup, 'us-east-1', T2013), s3err('AuthorizationHeaderMalformed'));
  assert.throws(() => authenticate(mut('AWS4-HMAC-SHA256 ', 'AWS4-HMAC-SHA256X'), lookup, 'us-east-1', T2013), s3err('AuthorizationHeaderMalformed'));
});

test('x-amz-* headers must be signed; x-amz-content-sha256 is required and must be well-formed', () => {
  const r = awsGetObject();
  r.headers['x-amz-meta-evil'] = '1';
  assert.throws(() => authenticate(r, lookup, 'us-east-1', T2013), s3err('AccessDenied', /not signed/));
  const noSha = awsGetObject();
  delete noSha.headers['x-amz-content-sha256'];
  assert.throws(() => authenticate(noSha, lookup, 'us-east-1', T2013), s3err('InvalidRequest', /x-amz-content-sha256/));
  const bad = awsGetObject();
  bad.headers['x-amz-content-sha256'] = 'abc';
  assert.throws(() => authenticate(bad, lookup, 'us-east-1', T2013), s3err('InvalidArgument'));
  const badDate = awsGetObject();
  badDate.headers['x-amz-date'] = '20131324T000000Z';
  assert.throws(() => authenticate(badDate, lookup, 'us-east-1', T2013), s3err('AccessDenied'));
});

test('canonical URI: one normalised encoding per segment, no dot-segment removal', () => {
  assert.equal(canonicalUri(''), '/');
  assert.equal(canonicalUri('/'), '/');
  assert.equal(canonicalUri('/test$file.text'), '/test%24file.text');
  assert.equal(canonicalUri('/a%2fb'), '/a%2Fb');
  assert.equal(canonicalUri('/a/./b/../c'), '/a/./b/../c');
  assert.equal(canonicalUri('/%7Euser/x~y'), '/~user/x~y');
  assert.equal(canonicalUri('/caf%c3%a9'), '/caf%C3%A9');
  assert.equal(canonicalUri('/b//k/'), '/b//k/');
  assert.equal(canonicalUri('/a+b %'), '/a%2Bb%20%25');
  assert.equal(canonicalUri('/100%25'), '/100%25'); // not double-encoded
});

test('canonical query: RFC 3986, sorted by encoded name then value', () => {
  const cq = (q: string, ex?: string) => canonicalQuery(parseQuery(q), ex);
  assert.equal(cq('b=2&a=1&a=0'), 'a=0&a=1&b=2');
  assert.equal(cq('acl'), 'acl=');
  assert.equal(cq('prefix=a+b&x=a%20b'), 'prefix=a%20b&x=a%20b');
  assert.equal(cq('x=~y*!'), 'x=~y%2A%21');
  assert.equal(cq('a_b=1&A=2&a-b=3'), 'A=2&a-b=3&a_b=1');
  assert.equal(cq('k=%e2%82%ac&&j='), 'j=&k=%E2%82%AC');
  assert.equal(cq('X-Amz-Signature=abc&z=1', 'X-Amz-Signature'), 'z=1');
});

test('header values are trimmed and inner whitespace collapsed', () => {
  assert.equal(canonicalHeaderValue('  a   b \t c  '), 'a b c');
  assert.equal(canonicalHeaderValue(['a', ' b  c ']), 'a,b c');
  assert.equal(canonicalHeaderValue(undefined), '');
});

// ---------------------------------------------------------------- oracle: the AWS SDK signer

const KEY_CHARS = ['a', 'Z', '0', '-', '_', '.', '~', ' ', '+', '$', '&', '=', '%', '!', "'", '(', '*', ',', ';', ':', '@', 'é', '€', '日', '😀', '//', '?', '#'];
function randomKey(): string {
  let s = '';
  for (let i = randomInt(1, 12); i > 0; i--) s += KEY_CHARS[randomInt(KEY_CHARS.length)];
  return s;
}

function randomRequest() {
  const key = randomKey();
  const path = '/' + ['bucket', ...key.split('/')].map(rfc3986).join('/');
  const query: Record<string, string> = {};
  for (let i = randomInt(0, 4); i > 0; i--) query[['prefix', 'delimiter', 'max-keys', 'uploads', 'x-id', 'a b'][randomInt(6)]!] = randomInt(3) === 0 ? '' : randomKey();
  const headers: Record<string, string> = {
    'x-amz-content-sha256': randomInt(2) ? 'UNSIGNED-PAYLOAD' : randomBytes(32).toString('hex'),
    'content-type': `text/plain;   charset=${randomKey()}  `,
    'x-amz-meta-note': `  spaced\t\tvalue ${randomInt(1000)} `,
  };
  return { method: ['GET', 'PUT', 'HEAD', 'DELETE', 'POST'][randomInt(5)]!, host: 'localhost:3900', path, query, headers };
}

test('oracle: 300 requests signed by @smithy/signature-v4 are accepted, and rejected once tampered', async () => {
  const now = Date.UTC(2025, 0, 2, 3, 4, 5);
  const signer = sdkSigner('garage');
  for (let i = 0; i < 300; i++) {
    const pr = randomRequest();
    const req = await sdkSign(pr, new Date(now - randomInt(600_000)), signer);
    const r = authenticate(req, lookup, 'garage', now);
    assert.equal(r.accessKeyId, AKID);
    // the same request with a differently (but equivalently) encoded path still verifies
    const loose = { ...req, rawPath: req.rawPath.replace(/%24/g, '$').replace(/%2C/g, ',').replace(/%7E/g, '~') };
    authenticate(loose, lookup, 'garage', now);
    const t = structuredClone(req);
    switch (i % 4) {
      case 0: t.rawPath += 'x'; break;
      case 1: t.rawQuery += (t.rawQuery ? '&' : '') + 'extra=1'; break;
      case 2: t.headers['content-type'] += 'x'; break;
      case 3: t.method = t.method === 'GET' ? 'PUT' : 'GET'; break;
    }
    assert.throws(() => authenticate(t, lookup, 'garage', now), s3err('SignatureDoesNotMatch'), `case ${i % 4}: ${JSON.stringify(pr)}`);
  }
});

test('the signing key cache answers what a fresh derivation gives, per secret, date and region', async () => {
  const { deriveSigningKey } = await import('./sigv4.ts');
  const { signingKeyOf } = await import('./testkit.ts');
  for (const [secret, date, region] of [
    [SECRET, '20130524', 'us-east-1'],
    [SECRET + 'x', '20130524', 'us-east-1'],
    [SECRET, '20130525', 'us-east-1'],
    [SECRET, '20130524', 'garage'],
  ] as const) {
    const want = signingKeyOf(secret, date, region);
    assert.deepEqual(deriveSigningKey(secret, date, region, 's3'), want);
    // The second call is served from the cache: the same bytes.
    assert.deepEqual(deriveSigningKey(secret, date, region, 's3'), want);
  }
});
