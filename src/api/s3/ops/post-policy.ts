// PostObject's authentication: a form signed with SigV4 (x-amz-credential, x-amz-signature) or
// SigV2 (AWSAccessKeyId, signature: base64 HMAC-SHA1 of the policy), or an anonymous form (no
// policy, no signature; authz then decides); and the policy document's conditions on every field.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { S3Error } from '../errors.ts';
import { ALGORITHM, SERVICE, deriveSigningKey, hmac, lookupSecret, parseAmzDate, parseCredential, signaturesEqual } from '../auth/sigv4.ts';
import type { SecretLookup } from '../auth/types.ts';

/** S3's limit on a POST policy document, decoded. */
export const POST_POLICY_BYTES_MAX = 20 * 1024;

export interface PostAuth {
  /** The key that signed the policy; undefined for an anonymous form. */
  accessKeyId?: string;
  /** The object key, ${filename} substituted. */
  key: string;
  /** From a content-length-range condition; enforced while the file streams. */
  contentLengthRange?: { min: number; max: number };
}

function policyFailed(msg: string): S3Error {
  return new S3Error('AccessDenied', `Invalid according to Policy: ${msg}`);
}

function invalidPolicy(msg: string): S3Error {
  return new S3Error('InvalidPolicyDocument', `Invalid Policy: ${msg}`);
}

function missingField(name: string): S3Error {
  return new S3Error('InvalidArgument', `Bucket POST must contain a field named '${name}'.`, { ArgumentName: name });
}

export function checkContentLengthRange(range: { min: number; max: number } | undefined, size: number): void {
  if (range === undefined) return;
  if (size > range.max) throw new S3Error('EntityTooLarge', 'Your proposed upload exceeds the maximum allowed size', { MaxSizeAllowed: String(range.max) });
  if (size < range.min) throw new S3Error('EntityTooSmall', 'Your proposed upload is smaller than the minimum allowed size', { MinSizeAllowed: String(range.min) });
}

/** The policy's expiration: ISO 8601 in UTC, as S3 requires ("2030-01-01T12:00:00.000Z"). */
const EXPIRATION_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?Z$/;

function lengthBound(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return v;
  if (typeof v === 'string' && /^\d{1,15}$/.test(v)) return Number(v);
  return undefined;
}

/** Fields a policy needs no condition for (and the form's own signature fields). */
function exempt(name: string): boolean {
  return ['policy', 'x-amz-signature', 'signature', 'awsaccesskeyid', 'file'].includes(name) || name.startsWith('x-ignore-');
}

function verifySignature(f: Map<string, string>, lookup: SecretLookup, region: string): string {
  const policy = f.get('policy');
  const v4 = f.has('x-amz-signature') || f.has('x-amz-credential') || f.has('x-amz-algorithm');
  if (v4) {
    for (const name of ['x-amz-algorithm', 'x-amz-credential', 'x-amz-date', 'x-amz-signature', 'policy']) if (!f.get(name)) throw missingField(name);
    if (f.get('x-amz-algorithm') !== ALGORITHM) throw new S3Error('InvalidArgument', `x-amz-algorithm must be ${ALGORITHM}.`, { ArgumentName: 'x-amz-algorithm' });
    const amzDate = f.get('x-amz-date')!;
    if (parseAmzDate(amzDate) === undefined) throw new S3Error('InvalidArgument', 'x-amz-date must be in the ISO8601 Long Format', { ArgumentName: 'x-amz-date' });
    const cred = parseCredential(f.get('x-amz-credential')!, amzDate, region, 'InvalidArgument');
    const signingKey = deriveSigningKey(lookupSecret(lookup, cred.accessKeyId), cred.date, region, SERVICE);
    // The string to sign of a POST policy is the base64 policy itself.
    if (!signaturesEqual(hmac(signingKey, policy!).toString('hex'), f.get('x-amz-signature')!)) throw mismatch(cred.accessKeyId, policy!);
    return cred.accessKeyId;
  }
  for (const name of ['awsaccesskeyid', 'policy', 'signature']) if (!f.get(name)) throw missingField(name === 'awsaccesskeyid' ? 'AWSAccessKeyId' : name);
  const id = f.get('awsaccesskeyid')!;
  const want = Buffer.from(createHmac('sha1', lookupSecret(lookup, id)).update(policy!, 'utf8').digest('base64'));
  const given = Buffer.from(f.get('signature')!);
  if (given.length !== want.length || !timingSafeEqual(given, want)) throw mismatch(id, policy!);
  return id;
}

function mismatch(accessKeyId: string, policy: string): S3Error {
  return new S3Error('SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided.', {
    AWSAccessKeyId: accessKeyId,
    StringToSign: policy.slice(0, 1024),
  });
}

/**
 * Verifies a PostObject form. `fields` are the form fields by lower-cased name (the file excluded);
 * `ctx.bucket` is the bucket from the URL (the `bucket` condition is matched against it),
 * `ctx.filename` replaces ${filename} in the key. Anonymous forms carry no policy to check.
 */
export function verifyPostForm(fields: Map<string, string>, lookup: SecretLookup, region: string, nowMs: number, ctx: { bucket: string; filename: string }): PostAuth {
  const f = new Map(fields);
  const rawKey = f.get('key');
  if (!rawKey) throw missingField('key');
  const key = rawKey.replaceAll('${filename}', ctx.filename);
  if (key === '') throw new S3Error('InvalidArgument', 'The key field must not be empty.', { ArgumentName: 'key' });
  const signed = ['policy', 'x-amz-signature', 'signature', 'awsaccesskeyid', 'x-amz-credential'].some((n) => f.has(n));
  if (!signed) return { key };

  const accessKeyId = verifySignature(f, lookup, region);
  const text = Buffer.from(f.get('policy')!, 'base64');
  if (text.length > POST_POLICY_BYTES_MAX) throw invalidPolicy(`the policy document is larger than ${POST_POLICY_BYTES_MAX} bytes.`);
  let policy: unknown;
  try {
    policy = JSON.parse(text.toString('utf8'));
  } catch {
    throw invalidPolicy('the policy is not base64-encoded JSON.');
  }
  if (typeof policy !== 'object' || policy === null || Array.isArray(policy)) throw invalidPolicy('the policy must be a JSON object.');
  const { expiration, conditions } = policy as { expiration?: unknown; conditions?: unknown };
  if (typeof expiration !== 'string' || !EXPIRATION_RE.test(expiration) || Number.isNaN(Date.parse(expiration)))
    throw invalidPolicy("'expiration' must be an ISO 8601 UTC date-time (2030-01-01T12:00:00.000Z).");
  if (nowMs > Date.parse(expiration)) throw policyFailed('Policy expired.');
  if (!Array.isArray(conditions)) throw invalidPolicy("'conditions' must be an array.");

  // Conditions are matched against the form as sent, the bucket from the URL, the key substituted.
  f.set('bucket', ctx.bucket);
  f.set('key', key);
  const covered = new Set<string>();
  let range: { min: number; max: number } | undefined;
  const value = (name: string): string => f.get(name) ?? '';
  const fieldName = (v: unknown, c: unknown): string => {
    if (typeof v !== 'string' || !v.startsWith('$') || v.length < 2) throw invalidPolicy(`condition ${JSON.stringify(c).slice(0, 200)} must name a field as "$name".`);
    return v.slice(1).toLowerCase();
  };

  for (const c of conditions as unknown[]) {
    if (Array.isArray(c)) {
      const op = typeof c[0] === 'string' ? c[0].toLowerCase() : '';
      if (op === 'content-length-range') {
        const min = lengthBound(c[1]);
        const max = lengthBound(c[2]);
        if (c.length !== 3 || min === undefined || max === undefined || max < min) throw invalidPolicy('content-length-range needs two non-negative integers, min <= max.');
        range = { min, max };
        continue;
      }
      if ((op !== 'eq' && op !== 'starts-with') || c.length !== 3 || typeof c[2] !== 'string') {
        throw invalidPolicy(`condition ${JSON.stringify(c).slice(0, 200)} is not ["eq"|"starts-with", "$field", "value"].`);
      }
      const name = fieldName(c[1], c);
      const want = c[2];
      covered.add(name);
      const got = value(name);
      if (op === 'eq' && got !== want) throw policyFailed(`Policy Condition failed: ["eq", "$${name}", "${want.slice(0, 200)}"]`);
      if (op === 'starts-with') {
        // Content-Type may list several types; each must match (as S3 does).
        const parts = name === 'content-type' ? got.split(',').map((s) => s.trim()) : [got];
        if (!parts.every((p) => p.startsWith(want))) throw policyFailed(`Policy Condition failed: ["starts-with", "$${name}", "${want.slice(0, 200)}"]`);
      }
    } else if (typeof c === 'object' && c !== null) {
      const entries = Object.entries(c);
      if (entries.length !== 1) throw invalidPolicy('a simple condition must have exactly one property.');
      const [k, want] = entries[0]!;
      if (typeof want !== 'string') throw invalidPolicy(`condition {"${k.slice(0, 64)}": ...} must have a string value.`);
      const name = k.replace(/^\$/, '').toLowerCase();
      covered.add(name);
      if (value(name) !== want) throw policyFailed(`Policy Condition failed: ["eq", "$${name}", "${want.slice(0, 200)}"]`);
    } else {
      throw invalidPolicy(`condition ${JSON.stringify(c).slice(0, 200)} is neither an object nor an array.`);
    }
  }
  for (const name of fields.keys()) {
    if (!exempt(name) && !covered.has(name)) throw policyFailed(`Extra input fields: ${name.slice(0, 64)}`);
  }
  return range ? { accessKeyId, key, contentLengthRange: range } : { accessKeyId, key };
}
