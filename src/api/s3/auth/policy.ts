// Browser-form uploads (PostObject): a streaming multipart/form-data parser, and verification of the
// SigV4-signed POST policy (signature, expiration, and every condition on the form fields).
import type { Readable } from 'node:stream';
import { Readable as ReadableStream } from 'node:stream';
import { S3Error } from '../errors.ts';
import { ALGORITHM, SERVICE, deriveSigningKey, hmac, lookupSecret, parseAmzDate, parseCredential, signaturesEqual } from './sigv4.ts';
import type { SecretLookup } from './types.ts';

// ---------------------------------------------------------------- policy

export interface PostPolicyResult {
  accessKeyId: string;
  /** The object key, with ${filename} substituted. */
  key: string;
  /** From a content-length-range condition; enforce it while streaming when fileSize was not known yet. */
  contentLengthRange?: { min: number; max: number };
}

/** Form fields that S3 never requires a policy condition for. */
function exempt(name: string): boolean {
  return name === 'policy' || name === 'x-amz-signature' || name === 'file' || name.startsWith('x-ignore-');
}

function policyFailed(msg: string): S3Error {
  return new S3Error('AccessDenied', `Invalid according to Policy: ${msg}`);
}

function invalidPolicy(msg: string): S3Error {
  return new S3Error('InvalidArgument', `Invalid Policy: ${msg}`, { ArgumentName: 'policy' });
}

export function checkContentLengthRange(range: { min: number; max: number } | undefined, size: number): void {
  if (range === undefined) return;
  if (size > range.max) throw new S3Error('EntityTooLarge', 'Your proposed upload exceeds the maximum allowed size', { MaxSizeAllowed: String(range.max) });
  if (size < range.min) throw new S3Error('EntityTooSmall', 'Your proposed upload is smaller than the minimum allowed size', { MinSizeAllowed: String(range.min) });
}

/**
 * Verifies a PostObject form. `fields` are the form fields (any case; the file excluded). `fileSize`
 * may be undefined when called before the file is streamed: the content-length-range is then returned
 * for the caller to enforce (see checkContentLengthRange). `ctx.bucket` is the bucket from the URL
 * (S3 matches the `bucket` condition against it), `ctx.filename` replaces ${filename} in the key.
 */
export function verifyPostPolicy(
  fields: Record<string, string>,
  lookup: SecretLookup,
  region: string,
  nowMs: number,
  fileSize?: number,
  ctx: { bucket?: string; filename?: string } = {},
): PostPolicyResult {
  const f = new Map<string, string>();
  for (const [k, v] of Object.entries(fields)) f.set(k.toLowerCase(), v);
  if (ctx.bucket !== undefined) f.set('bucket', ctx.bucket);

  if (f.has('awsaccesskeyid') || (f.has('signature') && !f.has('x-amz-signature'))) {
    throw new S3Error('InvalidRequest', 'POST policy signature version 2 is not supported; please use AWS4-HMAC-SHA256.');
  }
  const policyB64 = f.get('policy');
  const signature = f.get('x-amz-signature');
  if (policyB64 === undefined && signature === undefined) throw new S3Error('AccessDenied', 'Access Denied: anonymous POST is not allowed.');
  for (const name of ['policy', 'x-amz-algorithm', 'x-amz-credential', 'x-amz-date', 'x-amz-signature', 'key']) {
    if (!f.get(name)) throw new S3Error('InvalidArgument', `Bucket POST must contain a field named '${name}'.`, { ArgumentName: name });
  }
  if (f.get('x-amz-algorithm') !== ALGORITHM) {
    throw new S3Error('InvalidArgument', `x-amz-algorithm must be ${ALGORITHM}.`, { ArgumentName: 'x-amz-algorithm' });
  }
  const amzDate = f.get('x-amz-date')!;
  if (parseAmzDate(amzDate) === undefined) {
    throw new S3Error('InvalidArgument', 'x-amz-date must be in the ISO8601 Long Format', { ArgumentName: 'x-amz-date' });
  }
  const cred = parseCredential(f.get('x-amz-credential')!, amzDate, region, 'InvalidArgument');
  const secret = lookupSecret(lookup, cred.accessKeyId);
  const signingKey = deriveSigningKey(secret, cred.date, region, SERVICE);
  // The string to sign of a POST policy is the base64 policy itself.
  if (!signaturesEqual(hmac(signingKey, policyB64!).toString('hex'), signature!)) {
    throw new S3Error('SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided.', {
      AWSAccessKeyId: cred.accessKeyId,
      StringToSign: policyB64!,
    });
  }

  let policy: unknown;
  try {
    policy = JSON.parse(Buffer.from(policyB64!, 'base64').toString('utf8'));
  } catch {
    throw invalidPolicy('the policy is not base64-encoded JSON.');
  }
  if (typeof policy !== 'object' || policy === null) throw invalidPolicy('the policy must be a JSON object.');
  const { expiration, conditions } = policy as { expiration?: unknown; conditions?: unknown };
  if (typeof expiration !== 'string' || Number.isNaN(Date.parse(expiration))) {
    throw invalidPolicy("'expiration' must be an ISO 8601 date.");
  }
  if (nowMs > Date.parse(expiration)) throw policyFailed('Policy expired.');
  if (!Array.isArray(conditions)) throw invalidPolicy("'conditions' must be an array.");

  const key = f.get('key')!.replaceAll('${filename}', ctx.filename ?? '');
  f.set('key', key);
  const covered = new Set<string>();
  let range: { min: number; max: number } | undefined;
  const value = (name: string): string => f.get(name) ?? '';

  for (const c of conditions as unknown[]) {
    if (Array.isArray(c)) {
      const op = typeof c[0] === 'string' ? c[0].toLowerCase() : '';
      if (op === 'content-length-range') {
        const min = Number(c[1]);
        const max = Number(c[2]);
        if (c.length !== 3 || !Number.isInteger(min) || !Number.isInteger(max) || min < 0 || max < min) {
          throw invalidPolicy('content-length-range needs two integers, min <= max.');
        }
        range = { min, max };
        continue;
      }
      if ((op !== 'eq' && op !== 'starts-with') || c.length !== 3 || typeof c[1] !== 'string' || typeof c[2] !== 'string' || !c[1].startsWith('$')) {
        throw invalidPolicy(`condition ${JSON.stringify(c)} is not ["eq"|"starts-with", "$field", "value"].`);
      }
      const name = c[1].slice(1).toLowerCase();
      const want = c[2];
      covered.add(name);
      const got = value(name);
      if (op === 'eq' && got !== want) throw policyFailed(`Policy Condition failed: ["eq", "$${name}", "${want}"]`);
      if (op === 'starts-with') {
        // Content-Type may list several types; each must match (as S3 does).
        const parts = name === 'content-type' ? got.split(',').map((s) => s.trim()) : [got];
        if (!parts.every((p) => p.startsWith(want))) throw policyFailed(`Policy Condition failed: ["starts-with", "$${name}", "${want}"]`);
      }
    } else if (typeof c === 'object' && c !== null) {
      for (const [k, want] of Object.entries(c)) {
        if (typeof want !== 'string') throw invalidPolicy(`condition {"${k}": ...} must have a string value.`);
        const name = k.replace(/^\$/, '').toLowerCase();
        covered.add(name);
        if (value(name) !== want) throw policyFailed(`Policy Condition failed: ["eq", "$${name}", "${want}"]`);
      }
    } else {
      throw invalidPolicy(`condition ${JSON.stringify(c)} is neither an object nor an array.`);
    }
  }
  for (const name of f.keys()) {
    if (name === 'bucket' && ctx.bucket !== undefined && !Object.keys(fields).some((k) => k.toLowerCase() === 'bucket')) continue;
    if (!exempt(name) && !covered.has(name)) throw policyFailed(`Extra input fields: ${name}`);
  }
  if (fileSize !== undefined) checkContentLengthRange(range, fileSize);
  return range ? { accessKeyId: cred.accessKeyId, key, contentLengthRange: range } : { accessKeyId: cred.accessKeyId, key };
}

// ---------------------------------------------------------------- multipart/form-data

export interface FormUpload {
  /** Fields before the file, names lower-cased (S3 field names are case-insensitive). */
  fields: Record<string, string>;
  /** The file part's bytes, streamed; fields after it are ignored, as S3 does. */
  file: Readable;
  filename: string;
  /** Content-Type of the file part, if the browser sent one. */
  fileContentType?: string;
}

const MAX_PART_HEADERS = 8 * 1024;
/** Total size of the non-file fields; S3's own limit is 20 KB, a little slack for large policies. */
const MAX_FIELDS_BYTES = 64 * 1024;

function malformed(msg: string): S3Error {
  return new S3Error('MalformedPOSTRequest', `The body of your POST request is not well-formed multipart/form-data: ${msg}`);
}

/** Pulls buffers from a stream on demand, so the file part can be handed out with back-pressure intact. */
class PullReader {
  buf: Buffer;
  private readonly it: AsyncIterator<Buffer>;
  private eof = false;
  constructor(src: Readable, prefix: Buffer) {
    this.it = src[Symbol.asyncIterator]();
    this.buf = prefix;
  }
  async fill(): Promise<boolean> {
    if (this.eof) return false;
    let r: IteratorResult<Buffer>;
    try {
      r = await this.it.next();
    } catch (e) {
      throw new S3Error('IncompleteBody', `The request body could not be read: ${(e as Error).message}`);
    }
    if (r.done) {
      this.eof = true;
      return false;
    }
    const chunk = typeof r.value === 'string' ? Buffer.from(r.value) : r.value;
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    return true;
  }
  /** Bytes up to `delim` (consumed with it), or throws past `max` bytes. */
  async until(delim: Buffer, max: number, what: string): Promise<Buffer> {
    let from = 0;
    for (;;) {
      const idx = this.buf.indexOf(delim, from);
      if (idx >= 0) {
        const out = this.buf.subarray(0, idx);
        this.buf = this.buf.subarray(idx + delim.length);
        return out;
      }
      if (this.buf.length > max + delim.length) throw malformed(`${what} is too large`);
      from = Math.max(0, this.buf.length - delim.length + 1);
      if (!(await this.fill())) throw malformed(`unexpected end of body in ${what}`);
    }
  }
  async take(n: number): Promise<Buffer> {
    while (this.buf.length < n) if (!(await this.fill())) throw malformed('unexpected end of body');
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    return out;
  }
}

function parseBoundary(contentType: string): string {
  const [type, ...params] = contentType.split(';');
  if (type?.trim().toLowerCase() !== 'multipart/form-data') throw malformed('Content-Type must be multipart/form-data');
  for (const p of params) {
    const m = /^\s*boundary\s*=\s*(?:"([^"]+)"|([^\s;]+))\s*$/i.exec(p);
    if (m) {
      const b = m[1] ?? m[2]!;
      if (b.length > 70) throw malformed('boundary longer than 70 characters');
      return b;
    }
  }
  throw malformed('missing boundary');
}

function dispositionParam(header: string, name: string): string | undefined {
  const re = new RegExp(`;\\s*${name}\\s*=\\s*(?:"((?:[^"\\\\]|\\\\.)*)"|([^;\\s]*))`, 'i');
  const m = re.exec(header);
  if (!m) return undefined;
  return m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : m[2];
}

export async function parseFormUpload(req: Readable, contentType: string): Promise<FormUpload> {
  const boundary = parseBoundary(contentType);
  // Every delimiter is CRLF--boundary; a virtual leading CRLF makes the first one match too (and skips any preamble).
  const delim = Buffer.from(`\r\n--${boundary}`, 'latin1');
  const r = new PullReader(req, Buffer.from('\r\n'));
  await r.until(delim, 64 * 1024, 'preamble');
  const fields: Record<string, string> = {};
  let fieldBytes = 0;
  for (;;) {
    const after = await r.take(2);
    if (after.toString('latin1') === '--') throw new S3Error('InvalidArgument', 'POST requires exactly one file upload per request.', { ArgumentName: 'file' });
    if (after.toString('latin1') !== '\r\n') throw malformed('boundary not followed by CRLF');
    const head = (await r.until(Buffer.from('\r\n\r\n'), MAX_PART_HEADERS, 'part headers')).toString('utf8');
    let disposition: string | undefined;
    let partType: string | undefined;
    for (const line of head.split('\r\n')) {
      const colon = line.indexOf(':');
      if (colon <= 0) continue;
      const hname = line.slice(0, colon).trim().toLowerCase();
      if (hname === 'content-disposition') disposition = line.slice(colon + 1).trim();
      else if (hname === 'content-type') partType = line.slice(colon + 1).trim();
    }
    if (disposition === undefined || !/^form-data\b/i.test(disposition)) throw malformed('part without Content-Disposition: form-data');
    const name = dispositionParam(disposition, 'name');
    if (name === undefined) throw malformed('part without a name');
    const lname = name.toLowerCase();
    if (lname === 'file') {
      const filename = dispositionParam(disposition, 'filename') ?? '';
      const file = ReadableStream.from(fileBody(r, delim), { objectMode: false });
      return partType === undefined ? { fields, file, filename } : { fields, file, filename, fileContentType: partType };
    }
    const value = await r.until(delim, MAX_FIELDS_BYTES - fieldBytes, `field '${name}'`);
    fieldBytes += value.length;
    if (fieldBytes > MAX_FIELDS_BYTES) throw malformed('form fields too large');
    fields[lname] = value.toString('utf8');
  }
}

/**
 * Yields the file part up to the next delimiter. Only the last delimiter-length-minus-one bytes are
 * held back, since they may be the start of a delimiter split across reads.
 */
async function* fileBody(r: PullReader, delim: Buffer): AsyncGenerator<Buffer> {
  const keep = delim.length - 1;
  for (;;) {
    const idx = r.buf.indexOf(delim);
    if (idx >= 0) {
      if (idx > 0) yield r.buf.subarray(0, idx);
      r.buf = r.buf.subarray(idx + delim.length);
      return;
    }
    if (r.buf.length > keep) {
      const out = r.buf.subarray(0, r.buf.length - keep);
      r.buf = Buffer.from(r.buf.subarray(r.buf.length - keep));
      yield out;
    }
    if (!(await r.fill())) throw new S3Error('IncompleteBody', 'The request body ended inside the file part.');
  }
}
