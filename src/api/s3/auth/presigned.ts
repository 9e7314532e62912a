// Verification of presigned (query-string authenticated) SigV4 requests: X-Amz-Algorithm, -Credential,
// -Date, -Expires, -SignedHeaders and -Signature in the URL, valid for at most seven days.
import { S3Error } from '../errors.ts';
import {
  ALGORITHM,
  MAX_SKEW_MS,
  canonicalQuery,
  checkUnsignedAmzHeaders,
  parseAmzDate,
  parseCredential,
  parseSignedHeaders,
  verifySigned,
  type QueryPair,
} from './sigv4.ts';
import type { AuthRequest, AuthResult, PayloadMode, SecretLookup } from './types.ts';

export const MAX_PRESIGNED_EXPIRES_S = 7 * 24 * 3600;
const E = 'AuthorizationQueryParametersError';

export function verifyPresigned(
  req: AuthRequest,
  pairs: readonly QueryPair[],
  lookup: SecretLookup,
  region: string,
  nowMs: number,
): AuthResult {
  const get = (name: string): string | undefined => pairs.find(([k]) => k === name)?.[1];
  const algorithm = get('X-Amz-Algorithm');
  if (algorithm !== ALGORITHM) {
    throw new S3Error(E, `X-Amz-Algorithm only supports "${ALGORITHM}"`);
  }
  const credential = get('X-Amz-Credential');
  const amzDate = get('X-Amz-Date');
  const expires = get('X-Amz-Expires');
  const signedHeaders = get('X-Amz-SignedHeaders');
  const signature = get('X-Amz-Signature');
  if (!credential || !amzDate || expires === undefined || !signedHeaders || !signature) {
    throw new S3Error(
      E,
      'Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.',
    );
  }
  const t = parseAmzDate(amzDate);
  if (t === undefined) throw new S3Error(E, `X-Amz-Date must be in the ISO8601 Long Format "yyyyMMdd'T'HHmmss'Z'"`);
  if (!/^\d{1,7}$/.test(expires)) throw new S3Error(E, 'X-Amz-Expires should be a number of seconds');
  const expiresS = Number(expires);
  if (expiresS > MAX_PRESIGNED_EXPIRES_S) {
    throw new S3Error(E, `X-Amz-Expires must be less than a week (in seconds) that is, the given X-Amz-Expires must be less than ${MAX_PRESIGNED_EXPIRES_S} seconds`);
  }
  const cred = parseCredential(credential, amzDate, region, E);
  const signed = parseSignedHeaders(signedHeaders, E);
  checkUnsignedAmzHeaders(req.headers, signed);

  if (t - nowMs > MAX_SKEW_MS) throw new S3Error('AccessDenied', 'Request is not valid yet');
  if (nowMs > t + expiresS * 1000) {
    throw new S3Error('AccessDenied', 'Request has expired', {
      'X-Amz-Expires': expires,
      Expires: new Date(t + expiresS * 1000).toISOString(),
      ServerTime: new Date(nowMs).toISOString(),
    });
  }

  // The SDKs hoist x-amz-content-sha256 into the query (under either spelling) unless told not to,
  // in which case it is a signed header; absent both, a presigned payload is unsigned.
  const headerSha = req.headers['x-amz-content-sha256'];
  const contentSha =
    pairs.find(([k]) => k.toLowerCase() === 'x-amz-content-sha256')?.[1] ??
    (signed.includes('x-amz-content-sha256') && typeof headerSha === 'string' ? headerSha : undefined);
  let payloadHash = 'UNSIGNED-PAYLOAD';
  let payload: PayloadMode = { kind: 'unsigned' };
  if (contentSha !== undefined && contentSha !== 'UNSIGNED-PAYLOAD') {
    if (!/^[0-9a-fA-F]{64}$/.test(contentSha)) {
      throw new S3Error('InvalidArgument', 'X-Amz-Content-Sha256 in a presigned URL must be UNSIGNED-PAYLOAD or a sha256 value.');
    }
    payloadHash = contentSha;
    payload = { kind: 'sha256', expected: contentSha.toLowerCase() };
  }

  return verifySigned(req, lookup, region, { cred, signed, query: canonicalQuery(pairs, 'X-Amz-Signature'), payloadHash, amzDate, signature }, payload);
}
