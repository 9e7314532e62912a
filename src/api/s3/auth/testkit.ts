// Test-only helpers: the AWS SDK's own SigV4 signer as an independent oracle, an independent
// aws-chunked encoder, and stream plumbing for feeding bodies split at chosen byte offsets.
import { createHash, createHmac } from 'node:crypto';
import { Readable } from 'node:stream';
import { SignatureV4 } from '@smithy/signature-v4';
import { S3Error } from '../errors.ts';
import type { AuthRequest } from './types.ts';

export const AKID = 'AKIAIOSFODNN7EXAMPLE';
export const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
export const lookup = (id: string): string | undefined => (id === AKID ? SECRET : undefined);
export const T2013 = Date.UTC(2013, 4, 24, 0, 0, 0);

export class Sha256 {
  private h: ReturnType<typeof createHash> | ReturnType<typeof createHmac>;
  private readonly secret: Uint8Array | string | undefined;
  constructor(secret?: Uint8Array | string | ArrayBuffer | ArrayBufferView) {
    this.secret =
      secret === undefined || typeof secret === 'string'
        ? secret
        : secret instanceof ArrayBuffer
          ? new Uint8Array(secret)
          : new Uint8Array(secret.buffer, secret.byteOffset, secret.byteLength);
    this.h = this.secret !== undefined ? createHmac('sha256', this.secret) : createHash('sha256');
  }
  update(d: Uint8Array | string | ArrayBuffer | ArrayBufferView): void {
    this.h.update(typeof d === 'string' ? d : d instanceof ArrayBuffer ? new Uint8Array(d) : new Uint8Array(d.buffer, d.byteOffset, d.byteLength));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.h.digest());
  }
  reset(): void {
    this.h = this.secret !== undefined ? createHmac('sha256', this.secret) : createHash('sha256');
  }
}

export function sdkSigner(region = 'us-east-1', secret = SECRET): SignatureV4 {
  return new SignatureV4({
    credentials: { accessKeyId: AKID, secretAccessKey: secret },
    region,
    service: 's3',
    sha256: Sha256,
    uriEscapePath: false, // S3 clients encode keys themselves and sign the path once
    applyChecksum: false,
  });
}

/** RFC 3986 encoding as the S3 SDK applies to keys and query values. */
export function rfc3986(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
}

export interface PlainRequest {
  method: string;
  host: string;
  /** Already encoded, as sent on the wire. */
  path: string;
  query?: Record<string, string | string[]>;
  headers?: Record<string, string>;
}

function toRawQuery(query: Record<string, string | string[]>, encode = rfc3986): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(query)) {
    for (const one of Array.isArray(v) ? v : [v]) parts.push(`${encode(k)}=${encode(one)}`);
  }
  return parts.join('&');
}

export function lowerHeaders(h: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(h).map(([k, v]) => [k.toLowerCase(), v]));
}

export async function sdkSign(r: PlainRequest, date: Date, signer = sdkSigner()): Promise<AuthRequest> {
  const signed = await signer.sign(
    { method: r.method, protocol: 'https:', hostname: r.host, path: r.path, query: r.query ?? {}, headers: { host: r.host, ...r.headers } },
    { signingDate: date },
  );
  return { method: r.method, rawPath: r.path, rawQuery: toRawQuery(r.query ?? {}), headers: lowerHeaders(signed.headers) };
}

export async function sdkPresign(r: PlainRequest, date: Date, expiresIn: number, signer = sdkSigner()): Promise<AuthRequest> {
  const signed = await signer.presign(
    { method: r.method, protocol: 'https:', hostname: r.host, path: r.path, query: r.query ?? {}, headers: { host: r.host, ...r.headers } },
    { signingDate: date, expiresIn },
  );
  return {
    method: r.method,
    rawPath: r.path,
    rawQuery: toRawQuery(signed.query as Record<string, string | string[]>),
    headers: lowerHeaders(signed.headers),
  };
}

// ---------------------------------------------------------------- aws-chunked encoding (independent of chunked.ts)

function hmacHex(key: Buffer, s: string): string {
  return createHmac('sha256', key).update(s).digest('hex');
}

export function signingKeyOf(secret: string, date: string, region: string): Buffer {
  let k = createHmac('sha256', 'AWS4' + secret).update(date).digest();
  for (const s of [region, 's3', 'aws4_request']) k = createHmac('sha256', k).update(s).digest();
  return k;
}

const EMPTY = createHash('sha256').update('').digest('hex');

export interface ChunkSigning {
  key: Buffer;
  amzDate: string;
  scope: string;
  seed: string;
}

export function encodeSigned(
  chunks: Buffer[],
  s: ChunkSigning,
  trailers?: [string, string][],
): { body: Buffer; signatures: string[] } {
  const parts: Buffer[] = [];
  const signatures: string[] = [];
  let prev = s.seed;
  for (const c of [...chunks, Buffer.alloc(0)]) {
    const sts = ['AWS4-HMAC-SHA256-PAYLOAD', s.amzDate, s.scope, prev, EMPTY, createHash('sha256').update(c).digest('hex')].join('\n');
    prev = hmacHex(s.key, sts);
    signatures.push(prev);
    parts.push(Buffer.from(`${c.length.toString(16)};chunk-signature=${prev}\r\n`), c);
    if (c.length > 0 || trailers === undefined) parts.push(Buffer.from('\r\n'));
  }
  if (trailers !== undefined) {
    const canon = trailers.map(([k, v]) => `${k}:${v}\n`).join('');
    const sts = ['AWS4-HMAC-SHA256-TRAILER', s.amzDate, s.scope, prev, createHash('sha256').update(canon).digest('hex')].join('\n');
    const sig = hmacHex(s.key, sts);
    signatures.push(sig);
    parts.push(Buffer.from(trailers.map(([k, v]) => `${k}:${v}\r\n`).join('') + `x-amz-trailer-signature:${sig}\r\n\r\n`));
  }
  return { body: Buffer.concat(parts), signatures };
}

export function encodeUnsigned(chunks: Buffer[], trailers: [string, string][], ext = ''): Buffer {
  const parts: Buffer[] = [];
  for (const c of chunks) parts.push(Buffer.from(`${c.length.toString(16)}${ext}\r\n`), c, Buffer.from('\r\n'));
  parts.push(Buffer.from(`0${ext}\r\n` + trailers.map(([k, v]) => `${k}:${v}\r\n`).join('') + '\r\n'));
  return Buffer.concat(parts);
}

// ---------------------------------------------------------------- streams

/** A stream emitting `buf` cut at the given offsets, one piece per read. */
export function pieces(buf: Buffer, cuts: number[]): Readable {
  const bounds = [0, ...cuts.filter((c) => c > 0 && c < buf.length).sort((a, b) => a - b), buf.length];
  const list: Buffer[] = [];
  for (let i = 0; i + 1 < bounds.length; i++) if (bounds[i + 1]! > bounds[i]!) list.push(buf.subarray(bounds[i]!, bounds[i + 1]!));
  return Readable.from(list, { objectMode: false });
}

export function bytewise(buf: Buffer): Readable {
  return pieces(buf, Array.from({ length: buf.length }, (_, i) => i));
}

export async function collect(r: Readable): Promise<Buffer> {
  const out: Buffer[] = [];
  for await (const c of r) out.push(c as Buffer);
  return Buffer.concat(out);
}

/** Collects until the stream fails; returns what was emitted before and the error (if any). */
export async function collectSettled(r: Readable): Promise<{ data: Buffer; error: unknown }> {
  const out: Buffer[] = [];
  try {
    for await (const c of r) out.push(c as Buffer);
    return { data: Buffer.concat(out), error: undefined };
  } catch (e) {
    return { data: Buffer.concat(out), error: e };
  }
}

/** assert.throws/rejects matcher for an S3Error code, optionally with a message pattern. */
export function s3err(code: string, msg?: RegExp): (e: unknown) => boolean {
  return (e: unknown) => {
    if (!(e instanceof S3Error)) throw new Error(`expected S3Error ${code}, got ${String(e)}`);
    if (e.code !== code) throw new Error(`expected ${code}, got ${e.code}: ${e.message}`);
    if (msg && !msg.test(e.message)) throw new Error(`message ${JSON.stringify(e.message)} does not match ${msg}`);
    return true;
  };
}
