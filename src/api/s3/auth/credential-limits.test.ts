// Oversized or garbage credentials must end as a 4xx S3 error (never a 500 from the key lookup),
// and a signed request's timestamp must always be inside the skew window, whatever its format.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { createS3Server } from '../server.ts';
import { testEnv } from '../ops/test-ctx.ts';
import { authenticate, claimedAccessKeyId } from './index.ts';
import { ACCESS_KEY_ID_MAX_CHARS, CREDENTIAL_MAX_CHARS, canonicalRequest, deriveSigningKey, signHex, stringToSign } from './sigv4.ts';
import { SECRET, lookup, s3err } from './testkit.ts';

const amzNow = () => new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');

test('a 5000-char Credential (header and presigned) gets a 4xx S3 error from a live server, not a 500', async () => {
  const env = await testEnv();
  const srv = createS3Server(env.store, { region: 'garage' });
  await new Promise<void>((ok) => srv.listen(0, '127.0.0.1', ok));
  const base = `http://127.0.0.1:${(srv.address() as AddressInfo).port}`;
  try {
    const d = amzNow();
    const scope = `${d.slice(0, 8)}/garage/s3/aws4_request`;
    for (const akid of ['A'.repeat(5000), 'GK' + 'é'.repeat(1000), 'GK\u0001x']) {
      const header = await fetch(`${base}/b/k`, {
        headers: {
          authorization: `AWS4-HMAC-SHA256 Credential=${encodeURI(akid)}/${scope}, SignedHeaders=host;x-amz-date, Signature=${'0'.repeat(64)}`,
          'x-amz-date': d,
          'x-amz-content-sha256': 'UNSIGNED-PAYLOAD',
        },
      });
      const q =
        `X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=${encodeURIComponent(`${akid}/${scope}`)}&X-Amz-Date=${d}` +
        `&X-Amz-Expires=60&X-Amz-SignedHeaders=host&X-Amz-Signature=${'0'.repeat(64)}`;
      const presigned = await fetch(`${base}/b/k?${q}`);
      for (const r of [header, presigned]) {
        const body = await r.text();
        assert.ok(r.status >= 400 && r.status < 500, `status ${r.status}: ${body.slice(0, 200)}`);
        assert.match(body, /^<\?xml[^>]*\?><Error><Code>(AuthorizationHeaderMalformed|AuthorizationQueryParametersError|InvalidAccessKeyId|AccessDenied)<\/Code>/);
        assert.ok(body.length < 2048, `the error echoes the whole credential (${body.length} bytes)`);
      }
    }
  } finally {
    srv.close();
    await env.close();
  }
});

test('parse: over-long credentials and access key ids are refused before any lookup', () => {
  const d = amzNow();
  let looked = 0;
  const counting = (id: string) => (looked++, lookup(id));
  const long = 'A'.repeat(ACCESS_KEY_ID_MAX_CHARS + 1);
  const authz = (cred: string) =>
    `AWS4-HMAC-SHA256 Credential=${cred}, SignedHeaders=host;x-amz-date, Signature=${'0'.repeat(64)}`;
  const req = (cred: string) => ({
    method: 'GET',
    rawPath: '/',
    rawQuery: '',
    headers: { host: 'h', 'x-amz-date': d, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD', authorization: authz(cred) },
  });
  assert.throws(() => authenticate(req(`${long}/${d.slice(0, 8)}/garage/s3/aws4_request`), counting, 'garage', Date.now()), s3err('AuthorizationHeaderMalformed'));
  assert.throws(
    () => authenticate(req(`AK/${d.slice(0, 8)}/${'r'.repeat(CREDENTIAL_MAX_CHARS)}/s3/aws4_request`), counting, 'garage', Date.now()),
    s3err('AuthorizationHeaderMalformed'),
  );
  assert.equal(looked, 0);
  assert.equal(claimedAccessKeyId(authz(`${long}/x`), ''), undefined);
  assert.equal(claimedAccessKeyId(authz('GK1/x'), ''), 'GK1');
  assert.equal(claimedAccessKeyId(undefined, `X-Amz-Credential=${long}%2Fx`), undefined);
  assert.equal(claimedAccessKeyId(undefined, 'X-Amz-Credential=GK1%2Fx'), 'GK1');
});

test('a Date header outside years 1000-9999 cannot skip the skew check (NaN compared false)', () => {
  // Correctly signed with the Date header as the timestamp; year 10000 formats as '+0100000101T000000Z'.
  const date = 'Sat, 01 Jan 10000 00:00:00 GMT';
  const amzDate = new Date(Date.parse(date)).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
  const credDate = amzDate.slice(0, 8);
  const signed = ['date', 'host', 'x-amz-content-sha256'];
  const headers: Record<string, string> = { host: 'h', date, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' };
  const scope = `${credDate}/garage/s3/aws4_request`;
  const key = deriveSigningKey(SECRET, credDate, 'garage', 's3');
  const sig = signHex(key, stringToSign(amzDate, scope, canonicalRequest('GET', '/', '', headers, signed, 'UNSIGNED-PAYLOAD')));
  headers.authorization = `AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/${scope}, SignedHeaders=${signed.join(';')}, Signature=${sig}`;
  assert.throws(() => authenticate({ method: 'GET', rawPath: '/', rawQuery: '', headers }, lookup, 'garage', Date.now()), s3err('AccessDenied'));
});
