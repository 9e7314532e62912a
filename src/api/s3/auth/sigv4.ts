// AWS Signature Version 4 for S3: canonical request building, signing key derivation, and verification
// of header-signed requests (Authorization: AWS4-HMAC-SHA256 ...).
import { createHmac, createSecretKey, KeyObject, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { sha256Hex } from '../../../util/hash.ts';
import { S3Error } from '../errors.ts';
import type { AuthRequest, AuthResult, PayloadMode, SecretLookup } from './types.ts';
import { Lru } from '../../../util/lru.ts';

export const ALGORITHM = 'AWS4-HMAC-SHA256';
export const SERVICE = 's3';
export const MAX_SKEW_MS = 15 * 60 * 1000;
export const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
const AMZ_DATE_RE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;
/** Longest access key id accepted (AWS allows 128; ours are 26): checked before any key lookup, since
 *  the metadata DB refuses keys of ~2 KB with an internal error. */
export const ACCESS_KEY_ID_MAX_CHARS = 128;
/** Longest Credential value (`AKID/date/region/s3/aws4_request`) parsed at all. */
export const CREDENTIAL_MAX_CHARS = 256;
/** Client values echoed in error messages are cut to this many characters. */
const ECHO_MAX_CHARS = 64;

/** A client value shortened for an error message, so a huge input does not come back whole. */
export function clip(s: string, max = ECHO_MAX_CHARS): string {
  return s.length <= max ? s : `${s.slice(0, max)}…(${s.length} chars)`;
}

/** Printable ASCII without '/', at most ACCESS_KEY_ID_MAX_CHARS: anything else cannot name a key. */
export function isValidAccessKeyId(id: string): boolean {
  return id.length >= 1 && id.length <= ACCESS_KEY_ID_MAX_CHARS && /^[\x21-\x2e\x30-\x7e]+$/.test(id);
}

// ---------------------------------------------------------------- encoding

const HEX = '0123456789ABCDEF';

function isUnreserved(b: number): boolean {
  return (
    (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || (b >= 0x30 && b <= 0x39) ||
    b === 0x2d || b === 0x2e || b === 0x5f || b === 0x7e
  );
}

/** RFC 3986 encoding as SigV4 wants it: only unreserved characters stay, hex is upper-case. */
export function uriEncodeBytes(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes) {
    out += isUnreserved(b) ? String.fromCharCode(b) : '%' + HEX[b >> 4]! + HEX[b & 15]!;
  }
  return out;
}

function hexVal(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}

/** Percent-decodes to bytes without ever throwing: a stray '%' is kept literally, as S3 does. */
export function percentDecode(s: string, plusIsSpace: boolean): Buffer {
  // Node hands us request-line bytes as latin1 chars; anything wider was already decoded text.
  const src = /^[\x00-\xff]*$/.test(s) ? Buffer.from(s, 'latin1') : Buffer.from(s, 'utf8');
  const out = Buffer.alloc(src.length);
  let n = 0;
  for (let i = 0; i < src.length; i++) {
    const c = src[i]!;
    if (c === 0x25 && i + 2 < src.length) {
      const h = hexVal(src[i + 1]!);
      const l = hexVal(src[i + 2]!);
      if (h >= 0 && l >= 0) {
        out[n++] = (h << 4) | l;
        i += 2;
        continue;
      }
    }
    out[n++] = plusIsSpace && c === 0x2b ? 0x20 : c;
  }
  return out.subarray(0, n);
}

/**
 * Canonical URI: every segment decoded then re-encoded once, so `/test$file.text` and
 * `/test%24file.text` sign the same. No double encoding and no `.`/`..` removal (S3 keys may contain them).
 */
export function canonicalUri(rawPath: string): string {
  if (rawPath === '') return '/';
  // A path of unreserved characters and '/' (most keys) decodes and encodes to itself.
  if (UNRESERVED_PATH.test(rawPath)) return rawPath;
  return rawPath
    .split('/')
    .map((seg) => uriEncodeBytes(percentDecode(seg, false)))
    .join('/');
}

const UNRESERVED_PATH = /^[A-Za-z0-9\-._~/]*$/;
const UNRESERVED = /^[A-Za-z0-9\-._~]*$/;
/** ASCII without '%' and '+': form-decoding leaves it as it is. */
const PLAIN_QUERY_PART = /^[\x00-\x24\x26-\x2a\x2c-\x7f]*$/;

function encodeComponent(s: string): string {
  return UNRESERVED.test(s) ? s : uriEncodeBytes(Buffer.from(s, 'utf8'));
}

function decodeQueryPart(s: string): string {
  return PLAIN_QUERY_PART.test(s) ? s : percentDecode(s, true).toString('utf8');
}

export type QueryPair = [name: string, value: string];

/** Splits a raw query into decoded name/value pairs ('+' is a space, as in form encoding). */
export function parseQuery(rawQuery: string): QueryPair[] {
  const pairs: QueryPair[] = [];
  if (rawQuery === '') return pairs;
  for (const part of rawQuery.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const name = eq < 0 ? part : part.slice(0, eq);
    const value = eq < 0 ? '' : part.slice(eq + 1);
    pairs.push([decodeQueryPart(name), decodeQueryPart(value)]);
  }
  return pairs;
}

export function canonicalQuery(pairs: readonly QueryPair[], exclude?: string): string {
  const enc: [string, string][] = [];
  for (const [k, v] of pairs) {
    if (k === exclude) continue;
    enc.push([encodeComponent(k), encodeComponent(v)]);
  }
  // Byte order of the encoded forms (all ASCII), name first then value.
  enc.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  return enc.map(([k, v]) => `${k}=${v}`).join('&');
}

export function canonicalHeaderValue(v: string | string[] | undefined): string {
  if (v === undefined) return '';
  // Repeated headers: each value trimmed, then joined with ',' (SigV4 rule).
  if (Array.isArray(v)) return v.map((x) => canonicalHeaderValue(x)).join(',');
  // Same trimming as the AWS SDKs: CR/LF to spaces, runs of spaces/tabs collapsed, ends trimmed.
  return v.replace(/[\r\n]/g, ' ').replace(/[ \t]+/g, ' ').replace(/^ | $/g, '');
}

export function canonicalHeaders(headers: IncomingHttpHeaders, signed: readonly string[]): string {
  let out = '';
  for (const name of signed) out += `${name}:${canonicalHeaderValue(headers[name])}\n`;
  return out;
}

export function canonicalRequest(
  method: string,
  uri: string,
  query: string,
  headers: IncomingHttpHeaders,
  signed: readonly string[],
  payloadHash: string,
): string {
  return [method, uri, query, canonicalHeaders(headers, signed), signed.join(';'), payloadHash].join('\n');
}

// ---------------------------------------------------------------- signing

/** Node 24's createHmac takes ~4x longer with a Buffer key than with a KeyObject (12.9 vs 3.0 µs
 *  measured; the check for a KeyObject is the slow part), and wrapping one costs 1.5 µs. */
const keyObjects = new WeakMap<Uint8Array, KeyObject>();

function keyOf(key: Uint8Array | string | KeyObject): string | KeyObject {
  if (typeof key === 'string' || key instanceof KeyObject) return key;
  return keyObjects.get(key) ?? createSecretKey(key);
}

export function hmac(key: Uint8Array | string | KeyObject, data: string): Buffer {
  return createHmac('sha256', keyOf(key)).update(data, 'utf8').digest();
}

function derive(secret: string, date: string, region: string, service: string): Buffer {
  const kDate = hmac('AWS4' + secret, date);
  const kRegion = hmac(kDate, region);
  const kService = hmac(kRegion, service);
  return hmac(kService, 'aws4_request');
}

/** Signing keys recently derived: a key signs with the same one all day, so every request
 *  derived it again (four HMACs) before this. Entries: (date, region, service, secret). */
const SIGNING_KEYS_ENTRIES_MAX = 1024;
const signingKeys = new Lru<string, Buffer>({ maxEntries: SIGNING_KEYS_ENTRIES_MAX });

/** The SigV4 signing key, from the cache when this secret already signed on this date; the
 *  Buffer returned for a cached key is the same object each time, with its KeyObject kept, so
 *  the request and chunk signatures made with it skip the Buffer key path. */
export function deriveSigningKey(secret: string, date: string, region: string, service: string): Buffer {
  // The secret is part of the cache key: a changed secret never finds the old signing key.
  const id = `${date}\n${region}\n${service}\n${secret}`;
  let key = signingKeys.get(id);
  if (key === undefined) {
    key = derive(secret, date, region, service);
    keyObjects.set(key, createSecretKey(key));
    signingKeys.set(id, key);
  }
  return key;
}

export function stringToSign(amzDate: string, scope: string, canonical: string): string {
  return `${ALGORITHM}\n${amzDate}\n${scope}\n${sha256Hex(canonical)}`;
}

export function signHex(signingKey: Buffer, toSign: string): string {
  return hmac(signingKey, toSign).toString('hex');
}

/** Constant-time comparison so the signature cannot be guessed byte by byte from response times. */
export function signaturesEqual(expected: string, given: string): boolean {
  const a = Buffer.from(expected, 'utf8');
  const b = Buffer.from(given.toLowerCase(), 'utf8');
  if (a.length !== b.length) return false;
  return timingSafeEqual(a, b);
}

// ---------------------------------------------------------------- scope and dates

/** The last date parsed: concurrent requests carry the same X-Amz-Date second. */
let lastAmzDate: { s: string; ms: number } | undefined;

export function parseAmzDate(s: string): number | undefined {
  if (lastAmzDate?.s === s) return lastAmzDate.ms;
  const ms = parseAmzDateUncached(s);
  if (ms !== undefined) lastAmzDate = { s, ms };
  return ms;
}

function parseAmzDateUncached(s: string): number | undefined {
  const m = AMZ_DATE_RE.exec(s);
  if (!m) return undefined;
  const ms = Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!);
  // Reject impossible dates such as month 13, which Date.UTC would silently roll over.
  if (new Date(ms).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '') !== s) return undefined;
  return ms;
}

export function formatAmzDate(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
}

export interface Credential {
  accessKeyId: string;
  date: string;
  region: string;
  scope: string;
}

/** Validates `AKID/date/region/s3/aws4_request` against the request date and our region. */
export function parseCredential(credential: string, amzDate: string, region: string, errorCode: string): Credential {
  const malformed = `The credential '${clip(credential)}' is malformed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".`;
  if (credential.length > CREDENTIAL_MAX_CHARS) throw new S3Error(errorCode, `${malformed} It is longer than ${CREDENTIAL_MAX_CHARS} characters.`);
  const parts = credential.split('/');
  if (parts.length !== 5 || parts[0] === '') throw new S3Error(errorCode, malformed);
  const [accessKeyId, date, credRegion, service, terminator] = parts as [string, string, string, string, string];
  if (!isValidAccessKeyId(accessKeyId)) {
    throw new S3Error(errorCode, `${malformed} The access key id must be 1 to ${ACCESS_KEY_ID_MAX_CHARS} printable ASCII characters.`);
  }
  if (date !== amzDate.slice(0, 8)) {
    throw new S3Error(errorCode, `Invalid credential date "${clip(date)}". This date is not the same as X-Amz-Date: "${clip(amzDate.slice(0, 8))}".`);
  }
  if (credRegion !== region) {
    throw new S3Error(errorCode, `The authorization header is malformed; the region '${clip(credRegion)}' is wrong; expecting '${region}'`, {
      Region: region,
    });
  }
  if (service !== SERVICE) {
    throw new S3Error(errorCode, `The authorization header is malformed; incorrect service "${clip(service)}". This endpoint belongs to "s3".`);
  }
  if (terminator !== 'aws4_request') {
    throw new S3Error(errorCode, `The authorization header is malformed; incorrect terminal "${clip(terminator)}". This endpoint uses "aws4_request".`);
  }
  return { accessKeyId, date, region, scope: `${date}/${region}/${SERVICE}/aws4_request` };
}

export function parseSignedHeaders(s: string, errorCode: string): string[] {
  const names = s.split(';');
  for (const n of names) {
    if (!/^[a-z0-9!#$%&'*+.^_`|~-]+$/.test(n)) {
      throw new S3Error(errorCode, `SignedHeaders '${clip(s)}' is malformed: header names must be lower-case and separated by ';'.`);
    }
  }
  if (!names.includes('host')) {
    throw new S3Error(errorCode, "The 'host' header must be signed (SignedHeaders lacks 'host').");
  }
  return names;
}

/** S3 refuses x-amz-* headers the client did not sign: otherwise they could be altered in transit. */
export function checkUnsignedAmzHeaders(headers: IncomingHttpHeaders, signed: readonly string[], ignore: readonly string[] = []): void {
  const missing = Object.keys(headers).filter(
    (h) => h.startsWith('x-amz-') && !signed.includes(h) && !ignore.includes(h),
  );
  if (missing.length > 0) {
    throw new S3Error('AccessDenied', 'There were headers present in the request which were not signed', {
      HeadersNotSigned: missing.join(', '),
    });
  }
}

export function lookupSecret(lookup: SecretLookup, accessKeyId: string): string {
  const secret = lookup(accessKeyId);
  if (secret === undefined) {
    throw new S3Error('InvalidAccessKeyId', 'The AWS Access Key Id you provided does not exist in our records.', {
      AWSAccessKeyId: accessKeyId,
    });
  }
  return secret;
}

/**
 * Tries the normalised canonical URI first, then the path exactly as received: a few non-SDK
 * clients sign the literal path, and both name the same resource so accepting either is safe.
 */
export function verifyCanonical(
  req: AuthRequest,
  build: (uri: string) => string,
  signingKey: Buffer,
  amzDate: string,
  scope: string,
  given: string,
  accessKeyId: string,
): void {
  const uris = [canonicalUri(req.rawPath)];
  const raw = req.rawPath === '' ? '/' : req.rawPath;
  if (raw !== uris[0]) uris.push(raw);
  let first: { canonical: string; toSign: string } | undefined;
  for (const uri of uris) {
    const canonical = build(uri);
    const toSign = stringToSign(amzDate, scope, canonical);
    if (signaturesEqual(signHex(signingKey, toSign), given)) return;
    first ??= { canonical, toSign };
  }
  throw new S3Error(
    'SignatureDoesNotMatch',
    'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
    { AWSAccessKeyId: accessKeyId, StringToSign: first!.toSign, CanonicalRequest: first!.canonical },
  );
}

/** The last step of header and presigned auth alike: the key's secret signs the canonical
 *  request; a match yields who signed and the context for chunk signatures. */
export function verifySigned(
  req: AuthRequest,
  lookup: SecretLookup,
  region: string,
  c: { cred: Credential; signed: readonly string[]; query: string; payloadHash: string; amzDate: string; signature: string },
  payload: PayloadMode,
): AuthResult {
  const signingKey = deriveSigningKey(lookupSecret(lookup, c.cred.accessKeyId), c.cred.date, region, SERVICE);
  verifyCanonical(
    req,
    (uri) => canonicalRequest(req.method, uri, c.query, req.headers, c.signed, c.payloadHash),
    signingKey,
    c.amzDate,
    c.cred.scope,
    c.signature,
    c.cred.accessKeyId,
  );
  return {
    accessKeyId: c.cred.accessKeyId,
    payload,
    signing: { signingKey, scope: c.cred.scope, seedSignature: c.signature.toLowerCase(), amzDate: c.amzDate },
  };
}

// ---------------------------------------------------------------- header auth

function parsePayloadHeader(v: string | string[] | undefined): { mode: PayloadMode; hash: string } {
  if (typeof v !== 'string' || v === '') {
    throw new S3Error('InvalidRequest', 'Missing required header for this request: x-amz-content-sha256');
  }
  switch (v) {
    case 'UNSIGNED-PAYLOAD':
      return { mode: { kind: 'unsigned' }, hash: v };
    case 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD':
      return { mode: { kind: 'streaming-signed', trailer: false }, hash: v };
    case 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER':
      return { mode: { kind: 'streaming-signed', trailer: true }, hash: v };
    case 'STREAMING-UNSIGNED-PAYLOAD-TRAILER':
      return { mode: { kind: 'streaming-unsigned-trailer' }, hash: v };
  }
  if (v.startsWith('STREAMING-AWS4-ECDSA')) {
    throw new S3Error('NotImplemented', 'SigV4a (ECDSA) streaming payloads are not supported; use AWS4-HMAC-SHA256.');
  }
  if (/^[0-9a-fA-F]{64}$/.test(v)) return { mode: { kind: 'sha256', expected: v.toLowerCase() }, hash: v };
  throw new S3Error(
    'InvalidArgument',
    'x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER or a valid sha256 value.',
    { ArgumentName: 'x-amz-content-sha256', ArgumentValue: v },
  );
}

function parseAuthorizationHeader(h: string): { credential: string; signedHeaders: string; signature: string } {
  const rest = h.slice(ALGORITHM.length);
  if (!/^\s/.test(rest)) {
    throw new S3Error('AuthorizationHeaderMalformed', `The authorization header is malformed; unsupported algorithm.`);
  }
  const fields = new Map<string, string>();
  for (const part of rest.split(',')) {
    const p = part.trim();
    if (p === '') continue;
    const eq = p.indexOf('=');
    if (eq <= 0) throw new S3Error('AuthorizationHeaderMalformed', `The authorization header is malformed; '${clip(p)}' is not key=value.`);
    fields.set(p.slice(0, eq), p.slice(eq + 1));
  }
  const credential = fields.get('Credential');
  const signedHeaders = fields.get('SignedHeaders');
  const signature = fields.get('Signature');
  if (!credential || !signedHeaders || !signature) {
    throw new S3Error(
      'AuthorizationHeaderMalformed',
      'The authorization header is malformed; it must contain Credential, SignedHeaders and Signature.',
    );
  }
  return { credential, signedHeaders, signature };
}

export function verifyHeaderAuth(req: AuthRequest, lookup: SecretLookup, region: string, nowMs: number): AuthResult {
  const { credential, signedHeaders, signature } = parseAuthorizationHeader(String(req.headers.authorization));
  const E = 'AuthorizationHeaderMalformed';

  // The timestamp comes from x-amz-date, else from an RFC 1123 Date header.
  let amzDate: string;
  let dateHeader: string;
  const xAmzDate = req.headers['x-amz-date'];
  if (typeof xAmzDate === 'string' && xAmzDate !== '') {
    if (parseAmzDate(xAmzDate) === undefined) {
      throw new S3Error('AccessDenied', `X-Amz-Date '${clip(xAmzDate)}' is not a valid ISO 8601 basic timestamp (YYYYMMDDTHHMMSSZ).`);
    }
    amzDate = xAmzDate;
    dateHeader = 'x-amz-date';
  } else {
    const d = req.headers.date ? Date.parse(req.headers.date) : NaN;
    if (Number.isNaN(d)) throw new S3Error('AccessDenied', 'AWS authentication requires a valid Date or x-amz-date header');
    amzDate = formatAmzDate(d);
    // A year outside 1000-9999 does not format as YYYYMMDD: its time would compare as NaN below
    // and pass the skew check, making the request valid forever.
    if (parseAmzDate(amzDate) === undefined) throw new S3Error('AccessDenied', 'The Date header is out of range.');
    dateHeader = 'date';
  }
  const cred = parseCredential(credential, amzDate, region, E);
  const signed = parseSignedHeaders(signedHeaders, E);
  if (!signed.includes(dateHeader)) {
    throw new S3Error('AccessDenied', 'There were headers present in the request which were not signed', { HeadersNotSigned: dateHeader });
  }
  checkUnsignedAmzHeaders(req.headers, signed);

  const t = parseAmzDate(amzDate)!;
  if (!(Math.abs(nowMs - t) <= MAX_SKEW_MS)) {
    throw new S3Error('RequestTimeTooSkewed', 'The difference between the request time and the current time is too large.', {
      RequestTime: amzDate,
      ServerTime: new Date(nowMs).toISOString(),
      MaxAllowedSkewMilliseconds: String(MAX_SKEW_MS),
    });
  }
  const { mode, hash } = parsePayloadHeader(req.headers['x-amz-content-sha256']);
  return verifySigned(req, lookup, region, { cred, signed, query: canonicalQuery(parseQuery(req.rawQuery)), payloadHash: hash, amzDate, signature }, mode);
}
