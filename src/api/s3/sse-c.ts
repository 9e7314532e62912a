// SSE-C at the S3 edge: the customer-key headers (and their copy-source twins) parsed and checked
// (AES256, a base64 32-byte key, its MD5), the rule that they travel only over TLS unless
// s3_api.sse_c_over_http allows it, the record a version keeps to recognise the key later (a
// salted HMAC-SHA256, never the key), the ETag its data gets (not the plaintext MD5), and the
// errors S3 gives for a missing, extra or wrong key.
// The cipher itself is model/sse-c-cipher.ts (AES-256-CTR, why there).
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { S3Ctx } from './context.ts';
import { S3Error } from './errors.ts';
import { requestOrigin } from './forwarded.ts';
import { NONCE_BYTES } from '../../model/sse-c-cipher.ts';
import type { SseCRecord } from '../../model/version.ts';

export const SSE_C_ALGORITHM = 'AES256';
const MAIN = 'x-amz-server-side-encryption-customer-';
const COPY_SOURCE = 'x-amz-copy-source-server-side-encryption-customer-';

/** A key a request carries (checked against its MD5); `md5` is echoed in responses. */
export interface CustomerKey {
  key: Buffer;
  md5: string;
}

function one(h: IncomingHttpHeaders, name: string): string | undefined {
  const v = h[name];
  return Array.isArray(v) ? v.join(',') : v;
}

/** The customer key of a request (`source`: the copy source's), undefined when it names none;
 *  an incomplete or inconsistent set is 400. */
export function customerKey(h: IncomingHttpHeaders, source = false): CustomerKey | undefined {
  const p = source ? COPY_SOURCE : MAIN;
  const what = source ? 'copy source' : 'Server Side Encryption with Customer provided keys';
  const alg = one(h, `${p}algorithm`);
  const key = one(h, `${p}key`);
  const md5 = one(h, `${p}key-md5`);
  if (alg === undefined && key === undefined && md5 === undefined) return undefined;
  const arg = (name: string, msg: string) => new S3Error('InvalidArgument', msg, { ArgumentName: `${p}${name}` });
  if (!source && h['x-amz-server-side-encryption'] !== undefined)
    throw new S3Error('InvalidArgument', 'Server Side Encryption with Customer provided keys cannot be combined with x-amz-server-side-encryption.', { ArgumentName: 'x-amz-server-side-encryption' });
  if (alg === undefined) throw arg('algorithm', `Requests specifying ${what} must provide a valid encryption algorithm.`);
  if (alg !== SSE_C_ALGORITHM)
    throw new S3Error('InvalidEncryptionAlgorithmError', 'The encryption request you specified is not valid. The valid value is AES256.', { ArgumentName: `${p}algorithm` });
  if (key === undefined) throw arg('key', `Requests specifying ${what} must provide an appropriate secret key.`);
  // 32 bytes are 44 base64 characters, one '=': anything else is refused before decoding.
  if (!/^[A-Za-z0-9+/]{43}=$/.test(key)) throw arg('key', 'The secret key was invalid for the specified algorithm.');
  if (md5 === undefined) throw arg('key-md5', `Requests specifying ${what} must provide the client calculated MD5 of the secret key.`);
  const raw = Buffer.from(key, 'base64');
  if (raw.length !== 32) throw arg('key', 'The secret key was invalid for the specified algorithm.');
  const want = createHash('md5').update(raw).digest('base64');
  const sent = Buffer.from(md5);
  if (sent.length !== want.length || !timingSafeEqual(sent, Buffer.from(want)))
    throw arg('key-md5', 'The calculated MD5 hash of the key did not match the hash that was provided.');
  return { key: raw, md5: want };
}

/** SSE-C only over TLS, unless the operator allowed plain HTTP (s3_api.sse_c_over_http). */
export function requireSecure(ctx: S3Ctx): void {
  if (ctx.settings.sseCOverHttp || requestOrigin(ctx.req).secure) return;
  throw new S3Error('InvalidRequest', 'Requests specifying Server Side Encryption with Customer provided keys must be made over a secure connection.');
}

/** The customer key of a request (checked, and only over TLS), or undefined. */
export function requestKey(ctx: S3Ctx, source = false): CustomerKey | undefined {
  const k = customerKey(ctx.req.headers, source);
  if (k) requireSecure(ctx);
  return k;
}

function mac(salt: Buffer, key: Buffer): Buffer {
  return createHmac('sha256', salt).update(key).digest();
}

/** A new version's record: salted HMAC of the key; `withNonce` for a single-stream body (a
 *  multipart upload's parts each get their own nonce instead). */
export function newRecord(k: CustomerKey, withNonce: boolean): SseCRecord {
  const salt = randomBytes(16);
  const r: SseCRecord = { alg: 'AES256', salt, mac: mac(salt, k.key) };
  if (withNonce) r.iv = randomBytes(NONCE_BYTES);
  return r;
}

export function newNonce(): Buffer {
  return randomBytes(NONCE_BYTES);
}

export function keyMatches(r: SseCRecord, k: CustomerKey): boolean {
  const m = mac(r.salt, k.key);
  return Buffer.isBuffer(r.mac) && r.mac.length === m.length && timingSafeEqual(m, r.mac);
}

/** The key a read (GET/HEAD, a copy source, a part of an upload) must present for data stored
 *  with `r`: none for plain data, the same one for SSE-C data. All three mistakes are 400, as
 *  s3-tests pin for AWS (test_encryption_sse_c_other_key, …_multipart_bad_download, …_invalid_chunks_1). */
export function checkKeyFor(r: SseCRecord | undefined, k: CustomerKey | undefined, source = false): void {
  const what = source ? 'The copy source' : 'The object';
  if (r && !k)
    throw new S3Error('InvalidRequest', `${what} was stored using a form of Server Side Encryption. The correct parameters must be provided to retrieve the object.`);
  if (!r && k) throw new S3Error('InvalidRequest', `${what} was not stored with Server Side Encryption with Customer provided keys: the encryption parameters are not applicable.`);
  if (r && k && !keyMatches(r, k))
    throw new S3Error('InvalidRequest', `${what} was encrypted with another customer key: the provided encryption parameters did not match the ones used originally.`);
}

/** What a response says about the key it used. */
export function keyHeaders(k: CustomerKey | undefined): Record<string, string> {
  return k ? { [`${MAIN}algorithm`]: SSE_C_ALGORITHM, [`${MAIN}key-md5`]: k.md5 } : {};
}

/** The ETag of data stored with customer key `k` (none: the MD5 itself), from the MD5 of its plaintext: not that MD5,
 *  which anyone allowed to list the bucket (no key needed) could check a guess of the content
 *  against; AWS's SSE-C ETags are not the MD5 either. An HMAC under the customer key, so without
 *  the key it tells nothing; 32 hex digits like an MD5, since a multipart ETag is built from its
 *  parts' (multipart.ts); the same for the same bytes and key, so a part re-sent gets the ETag
 *  its first upload got and a copy under the same key keeps its source's. */
export function sseCEtag(k: CustomerKey | undefined, plaintextMd5Hex: string): string {
  // Without a customer key the ETag is the plaintext MD5, as for any object.
  if (!k) return plaintextMd5Hex;
  return createHmac('sha256', k.key).update('grenier sse-c etag\0').update(Buffer.from(plaintextMd5Hex, 'hex')).digest('hex').slice(0, 32);
}
