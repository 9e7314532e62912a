// SigV4 presigned URLs made on the node for the console (share links, and the object browser's
// requests forwarded to the local S3 listener): the secret stays on the node, never in the page.
import {
  ALGORITHM,
  SERVICE,
  canonicalQuery,
  canonicalRequest,
  deriveSigningKey,
  formatAmzDate,
  signHex,
  stringToSign,
  uriEncodeBytes,
  type QueryPair,
} from '../../s3/auth/sigv4.ts';
import { MAX_PRESIGNED_EXPIRES_S } from '../../s3/auth/presigned.ts';

export { MAX_PRESIGNED_EXPIRES_S };

export interface PresignInput {
  method: 'GET' | 'HEAD' | 'PUT' | 'DELETE';
  /** The S3 endpoint's origin as the client will reach it, e.g. http://127.0.0.1:3900 (path style). */
  endpoint: string;
  bucket: string;
  /** '' for a bucket-level request (ListObjectsV2). */
  key: string;
  /** Extra query parameters, signed with the rest. */
  query?: QueryPair[];
  accessKeyId: string;
  secret: string;
  region: string;
  expiresSecs: number;
  now?: number;
}

/** /bucket/key with each segment encoded as SigV4 wants it (so the canonical URI is the path). */
export function objectPath(bucket: string, key: string): string {
  const enc = (s: string) => uriEncodeBytes(Buffer.from(s, 'utf8'));
  return `/${enc(bucket)}${key === '' ? '' : '/' + key.split('/').map(enc).join('/')}`;
}

/** True when a key has a "." or ".." path segment: every URL parser (browsers, fetch) rewrites such a
 *  path, so the request would name another object and its signature would not match. */
export function hasDotSegment(key: string): boolean {
  return key.split('/').some((seg) => seg === '.' || seg === '..');
}

/** The presigned URL (only the host header is signed; the payload is UNSIGNED-PAYLOAD). */
export function presignUrl(p: PresignInput): string {
  if (hasDotSegment(p.key)) throw new RangeError('a key with a "." or ".." path segment cannot be presigned: URL parsers rewrite it');
  if (!Number.isInteger(p.expiresSecs) || p.expiresSecs < 1 || p.expiresSecs > MAX_PRESIGNED_EXPIRES_S)
    throw new RangeError(`expiresSecs must be an integer from 1 to ${MAX_PRESIGNED_EXPIRES_S} (7 days)`);
  const origin = new URL(p.endpoint);
  const amzDate = formatAmzDate(p.now ?? Date.now());
  const scope = `${amzDate.slice(0, 8)}/${p.region}/${SERVICE}/aws4_request`;
  const pairs: QueryPair[] = [
    ...(p.query ?? []),
    ['X-Amz-Algorithm', ALGORITHM],
    ['X-Amz-Credential', `${p.accessKeyId}/${scope}`],
    ['X-Amz-Date', amzDate],
    ['X-Amz-Expires', String(p.expiresSecs)],
    ['X-Amz-SignedHeaders', 'host'],
  ];
  const path = objectPath(p.bucket, p.key);
  const query = canonicalQuery(pairs);
  const canonical = canonicalRequest(p.method, path, query, { host: origin.host }, ['host'], 'UNSIGNED-PAYLOAD');
  const sig = signHex(deriveSigningKey(p.secret, amzDate.slice(0, 8), p.region, SERVICE), stringToSign(amzDate, scope, canonical));
  return `${origin.protocol}//${origin.host}${path}?${query}&X-Amz-Signature=${sig}`;
}
