// Property-based fuzzing of the SigV4 Authorization header and presigned-query parsers: whatever a
// client sends, authenticate() returns or throws a 4xx S3Error with a bounded message, and a signed
// request is only ever accepted inside the skew / expiry window. GRENIER_FUZZ_RUNS sets the run count.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { S3Error } from '../errors.ts';
import { authenticate, claimedAccessKeyId, hasCredentials } from './index.ts';
import {
  MAX_SKEW_MS,
  canonicalQuery,
  canonicalRequest,
  deriveSigningKey,
  formatAmzDate,
  isValidAccessKeyId,
  parseQuery,
  signHex,
  stringToSign,
  uriEncodeBytes,
} from './sigv4.ts';
import { MAX_PRESIGNED_EXPIRES_S } from './presigned.ts';
import { AKID, SECRET, lookup } from './testkit.ts';
import type { AuthRequest } from './types.ts';

const RUNS = Number(process.env.GRENIER_FUZZ_RUNS ?? 300);
const REGION = 'garage';
const NOW = Date.UTC(2026, 0, 15, 12, 0, 0);
const NOW_AMZ = formatAmzDate(NOW);
/** Percent-encodes every UTF-8 byte (encodeURIComponent throws on a lone surrogate). */
const pct = (s: string): string => uriEncodeBytes(Buffer.from(s, 'utf8'));

/** The only acceptable failure: a typed S3 error with a client status (or 501) and a message that does not
 *  echo a huge input back. */
function expect4xx(run: () => unknown): void {
  try {
    run();
  } catch (e) {
    if (!(e instanceof S3Error)) throw new Error(`non-S3 error escaped: ${(e as Error)?.stack ?? String(e)}`);
    // 501 NotImplemented (SigV4a) is an honest answer too; a 500 never is.
    assert.ok((e.status >= 400 && e.status < 500) || e.status === 501, `status ${e.status} (${e.code}: ${e.message.slice(0, 200)})`);
    assert.ok(e.message.length < 1024, `message of ${e.message.length} chars`);
  }
}

// Pieces that look like the real thing, mixed with junk, so the fuzzer gets past the early checks.
const junk = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom('', '/', ',', '=', ';', ' ', '\t', '%', '%2F', '\u0000', '\r\n', 'é', '\ud800'),
  fc.nat({ max: 6000 }).map((n) => 'A'.repeat(n)),
);
const akid = fc.oneof(fc.constant(AKID), fc.constant('GK000000000000000000000001'), junk);
const credDate = fc.oneof(fc.constant(NOW_AMZ.slice(0, 8)), junk);
const region = fc.oneof(fc.constant(REGION), junk);
const service = fc.oneof(fc.constant('s3'), junk);
const terminal = fc.oneof(fc.constant('aws4_request'), junk);
const credential = fc.oneof(
  fc.tuple(akid, credDate, region, service, terminal).map((p) => p.join('/')),
  junk,
);
const signedHeaders = fc.oneof(
  fc.constant('host;x-amz-content-sha256;x-amz-date'),
  fc.array(fc.oneof(fc.constantFrom('host', 'x-amz-date', 'date', 'x-amz-content-sha256', 'Host', ''), junk), { maxLength: 6 }).map((a) => a.join(';')),
);
const signature = fc.oneof(fc.stringMatching(/^[0-9a-f]{64}$/), junk);
const amzDate = fc.oneof(fc.constant(NOW_AMZ), fc.integer({ min: -8.64e15, max: 8.64e15 }).map(formatAmzDate), junk);
const contentSha = fc.oneof(
  fc.constantFrom('UNSIGNED-PAYLOAD', 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD', 'STREAMING-UNSIGNED-PAYLOAD-TRAILER', 'STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD'),
  fc.stringMatching(/^[0-9a-fA-F]{64}$/),
  junk,
);

const authorization = fc.oneof(
  fc
    .tuple(fc.constantFrom('AWS4-HMAC-SHA256 ', 'AWS4-HMAC-SHA256', 'AWS4-HMAC-SHA256\t', 'AWS ', 'AWS4-ECDSA-P256-SHA256 ', ''), credential, signedHeaders, signature, fc.constantFrom(', ', ',', ' , '))
    .map(([alg, c, sh, sig, sep]) => `${alg}Credential=${c}${sep}SignedHeaders=${sh}${sep}Signature=${sig}`),
  fc.string({ maxLength: 300 }).map((s) => 'AWS4-HMAC-SHA256 ' + s),
  fc.string({ unit: 'binary', maxLength: 300 }),
);

const rawQuery = fc.array(fc.tuple(fc.oneof(fc.constantFrom('uploads', 'X-Amz-Date', 'prefix', 'x-amz-content-sha256'), junk), junk), { maxLength: 5 }).map((ps) =>
  ps.map(([k, v]) => `${pct(k)}=${pct(v)}`).join('&'),
);

test('fuzz: any Authorization header gives a result or a 4xx S3Error, never another throw', () => {
  fc.assert(
    fc.property(authorization, amzDate, fc.option(fc.string({ maxLength: 60 })), contentSha, rawQuery, (authz, d, date, sha, q) => {
      const headers: Record<string, string> = { host: 'h', authorization: authz, 'x-amz-date': d, 'x-amz-content-sha256': sha };
      if (date !== null) headers.date = date;
      const req: AuthRequest = { method: 'GET', rawPath: '/b/k', rawQuery: q, headers };
      expect4xx(() => authenticate(req, lookup, REGION, NOW));
      const claimed = claimedAccessKeyId(authz, q);
      if (claimed !== undefined) assert.ok(isValidAccessKeyId(claimed), `claimed ${JSON.stringify(claimed.slice(0, 80))}`);
      hasCredentials(req);
    }),
    { numRuns: RUNS },
  );
});

test('fuzz: any presigned query gives a result or a 4xx S3Error, never another throw', () => {
  const param = fc.oneof(
    fc.constant(['X-Amz-Algorithm', 'AWS4-HMAC-SHA256'] as [string, string]),
    credential.map((c) => ['X-Amz-Credential', c] as [string, string]),
    amzDate.map((d) => ['X-Amz-Date', d] as [string, string]),
    fc.oneof(fc.nat({ max: 2 * MAX_PRESIGNED_EXPIRES_S }).map(String), junk).map((e) => ['X-Amz-Expires', e] as [string, string]),
    signedHeaders.map((s) => ['X-Amz-SignedHeaders', s] as [string, string]),
    signature.map((s) => ['X-Amz-Signature', s] as [string, string]),
    contentSha.map((s) => ['X-Amz-Content-Sha256', s] as [string, string]),
    fc.tuple(junk, junk),
  );
  const required = fc.tuple(
    fc.constant(['X-Amz-Algorithm', 'AWS4-HMAC-SHA256'] as [string, string]),
    credential.map((c) => ['X-Amz-Credential', c] as [string, string]),
  );
  fc.assert(
    fc.property(required, fc.array(param, { maxLength: 10 }), fc.boolean(), (req0, more, encode) => {
      const pairs = [...req0, ...more];
      const enc = encode ? pct : (s: string) => s;
      const q = pairs.map(([k, v]) => `${enc(k)}=${enc(v)}`).join('&');
      const req: AuthRequest = { method: 'GET', rawPath: '/b/k', rawQuery: q, headers: { host: 'h' } };
      expect4xx(() => authenticate(req, lookup, REGION, NOW));
      const claimed = claimedAccessKeyId(undefined, q);
      if (claimed !== undefined) assert.ok(isValidAccessKeyId(claimed));
    }),
    { numRuns: RUNS },
  );
});

/** A request correctly signed (Authorization header) at time `t`, via the Date or x-amz-date header. */
function signedAt(t: number, useDate: boolean): AuthRequest | undefined {
  const dateValue = useDate ? new Date(t).toUTCString() : formatAmzDate(t);
  // toUTCString of a negative year does not parse back: such a request cannot even be signed.
  if (useDate && Number.isNaN(Date.parse(dateValue))) return undefined;
  const asAmz = useDate ? formatAmzDate(Date.parse(dateValue)) : dateValue;
  const headers: Record<string, string> = { host: 'h', 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' };
  headers[useDate ? 'date' : 'x-amz-date'] = dateValue;
  const signed = [useDate ? 'date' : 'x-amz-date', 'host', 'x-amz-content-sha256'].sort();
  const scope = `${asAmz.slice(0, 8)}/${REGION}/s3/aws4_request`;
  const key = deriveSigningKey(SECRET, asAmz.slice(0, 8), REGION, 's3');
  const sig = signHex(key, stringToSign(asAmz, scope, canonicalRequest('GET', '/b/k', '', headers, signed, 'UNSIGNED-PAYLOAD')));
  headers.authorization = `AWS4-HMAC-SHA256 Credential=${AKID}/${scope}, SignedHeaders=${signed.join(';')}, Signature=${sig}`;
  return { method: 'GET', rawPath: '/b/k', rawQuery: '', headers };
}

test('fuzz: a correctly signed request is accepted if and only if its time is within the skew window', () => {
  const time = fc.oneof(
    fc.integer({ min: NOW - 2 * MAX_SKEW_MS, max: NOW + 2 * MAX_SKEW_MS }),
    fc.integer({ min: -8.64e15, max: 8.64e15 }),
  );
  fc.assert(
    fc.property(time, fc.boolean(), (t0, useDate) => {
      const t = Math.floor(t0 / 1000) * 1000; // both headers carry whole seconds
      const req = signedAt(t, useDate) ?? {
        method: 'GET',
        rawPath: '/b/k',
        rawQuery: '',
        headers: { host: 'h', date: new Date(t).toUTCString(), authorization: `AWS4-HMAC-SHA256 Credential=${AKID}/x/${REGION}/s3/aws4_request, SignedHeaders=date;host, Signature=00` },
      };
      let ok = false;
      expect4xx(() => {
        authenticate(req, lookup, REGION, NOW);
        ok = true;
      });
      assert.equal(ok, Math.abs(NOW - t) <= MAX_SKEW_MS, `t=${new Date(t).toISOString()} accepted=${ok}`);
    }),
    { numRuns: RUNS },
  );
});

test('fuzz: a presigned URL is accepted only between X-Amz-Date - skew and X-Amz-Date + X-Amz-Expires', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: -3 * 86400, max: 3 * 86400 }),
      fc.nat({ max: MAX_PRESIGNED_EXPIRES_S }),
      fc.array(fc.tuple(fc.string({ maxLength: 10 }), fc.string({ maxLength: 10 })), { maxLength: 3 }),
      (offsetS, expires, extra) => {
        const t = NOW + offsetS * 1000;
        const d = formatAmzDate(t);
        const scope = `${d.slice(0, 8)}/${REGION}/s3/aws4_request`;
        const pairs: [string, string][] = [
          ...extra.filter(([k]) => !k.startsWith('X-Amz-') && k.toLowerCase() !== 'x-amz-content-sha256' && k !== ''),
          ['X-Amz-Algorithm', 'AWS4-HMAC-SHA256'],
          ['X-Amz-Credential', `${AKID}/${scope}`],
          ['X-Amz-Date', d],
          ['X-Amz-Expires', String(expires)],
          ['X-Amz-SignedHeaders', 'host'],
        ];
        const q = pairs.map(([k, v]) => `${pct(k)}=${pct(v)}`).join('&');
        const key = deriveSigningKey(SECRET, d.slice(0, 8), REGION, 's3');
        const canonical = canonicalRequest('GET', '/b/k', canonicalQuery(parseQuery(q)), { host: 'h' }, ['host'], 'UNSIGNED-PAYLOAD');
        const sig = signHex(key, stringToSign(d, scope, canonical));
        const req: AuthRequest = { method: 'GET', rawPath: '/b/k', rawQuery: `${q}&X-Amz-Signature=${sig}`, headers: { host: 'h' } };
        let ok = false;
        expect4xx(() => {
          authenticate(req, lookup, REGION, NOW);
          ok = true;
        });
        const valid = t - NOW <= MAX_SKEW_MS && NOW <= t + expires * 1000;
        assert.equal(ok, valid, `offset ${offsetS}s expires ${expires}s`);
      },
    ),
    { numRuns: RUNS },
  );
});
