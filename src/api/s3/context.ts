// What an S3 operation handler receives, and the helpers to answer with S3 XML or empty bodies.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import type { Store } from '../../model/store.ts';
import type { Bucket, Perm } from '../../model/bucket.ts';
import type { AccessKey } from '../../model/key.ts';
import type { AuthResult, DecodedBody } from './auth/index.ts';
import { toXml, type XmlNode } from './xml.ts';
import { S3Error } from './errors.ts';
import { limitRefused } from '../../util/metrics.ts';

export interface S3Settings {
  region: string;
  rootDomain?: string;
  /** s3_web.root_domain: tenants may not create buckets under it (model/hosts.ts). */
  webRootDomain?: string;
  /** s3_api.sse_c_over_http: SSE-C requests accepted without TLS (sse-c.ts). */
  sseCOverHttp?: boolean;
}

export interface S3Ctx {
  req: IncomingMessage;
  res: ServerResponse;
  store: Store;
  settings: S3Settings;
  requestId: string;
  method: string;
  /** Bucket name from the host (virtual-host style) or the first path segment. */
  bucketName?: string;
  /** Decoded object key, if any ('' is not a key). */
  key?: string;
  query: URLSearchParams;
  auth: AuthResult;
  /** The signing key; absent for an anonymous request (authz/ decides what it may do). */
  accessKey?: AccessKey;
  /** Resolved bucket for every bucket-level operation except CreateBucket. */
  bucket?: Bucket;
  perm: Perm;
  /** The request body decoded per the auth mode (chunked, checksums, MD5); call at most once. */
  body(): DecodedBody;
}

export type Handler = (ctx: S3Ctx) => Promise<void>;

export function sendXml(ctx: S3Ctx, status: number, root: string, body: XmlNode, headers: Record<string, string> = {}): void {
  const xml = toXml(root, body);
  ctx.res.writeHead(status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(xml), ...headers });
  ctx.res.end(xml);
}

export function sendEmpty(ctx: S3Ctx, status: number, headers: Record<string, string | number> = {}): void {
  ctx.res.writeHead(status, { 'content-length': 0, ...headers });
  ctx.res.end();
}

/** Reads a small request body (XML configs, multi-delete, complete-multipart) into memory, at
 *  most `max` bytes and never more than limits.xml_body_bytes_max: a declared length over that is
 *  refused before a byte is read, a body that grows past it as soon as it does. */
export async function readSmallBody(ctx: S3Ctx, max = 1024 * 1024): Promise<string> {
  const limit = Math.min(max, ctx.store.limits.xml_body_bytes_max);
  const tooLarge = () => {
    limitRefused.inc({ limit: 'xml_body_bytes_max' });
    return new S3Error('EntityTooLarge', `Your request body is larger than the ${limit} bytes allowed for this operation.`, { MaxSizeAllowed: String(limit) });
  };
  const h = ctx.req.headers;
  // The decoded length when aws-chunked framing is used; Content-Length is never smaller.
  const declared = Number(h['x-amz-decoded-content-length'] ?? h['content-length'] ?? 0);
  if (declared > limit) throw tooLarge();
  const chunks: Buffer[] = [];
  let n = 0;
  const s: Readable = ctx.body().stream;
  for await (const c of s) {
    n += c.length;
    if (n > limit) throw tooLarge();
    chunks.push(c);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export function requireBucket(ctx: S3Ctx): Bucket {
  if (!ctx.bucket) throw new S3Error('NoSuchBucket', 'The specified bucket does not exist', { BucketName: ctx.bucketName ?? '' });
  return ctx.bucket;
}

export function requireKey(ctx: S3Ctx): string {
  if (ctx.key === undefined) throw new S3Error('InvalidRequest', 'this operation needs an object key');
  return ctx.key;
}

export function need(ctx: S3Ctx, what: 'read' | 'write' | 'owner'): void {
  if (!ctx.perm[what]) throw new S3Error('AccessDenied', `Access Denied: ${ctx.accessKey ? `key ${ctx.accessKey.id}` : 'an anonymous request'} lacks ${what} permission on this bucket`);
}
