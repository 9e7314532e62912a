// Public entry of the S3 auth layer: authenticate() decides who signed a request (SigV4 header or
// presigned URL) and how its body is protected; decodeBody() then yields the verified object bytes.
import { S3Error } from '../errors.ts';
import { verifyPresigned } from './presigned.ts';
import { ALGORITHM, isValidAccessKeyId, parseQuery, verifyHeaderAuth } from './sigv4.ts';
import type { AuthRequest, AuthResult, SecretLookup } from './types.ts';

export type { AuthRequest, AuthResult, DecodedBody, PayloadMode, SecretLookup, SigningContext } from './types.ts';
export { decodeBody } from './body.ts';

const SIGV2_MESSAGE =
  'The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256 (Signature Version 4).';

/** True when the request carries any credentials at all; lets the router allow anonymous reads of public buckets. */
export function hasCredentials(req: AuthRequest): boolean {
  if (req.headers.authorization !== undefined) return true;
  const q = parseQuery(req.rawQuery);
  return q.some(([k]) => k === 'X-Amz-Algorithm' || k === 'X-Amz-Signature' || k === 'AWSAccessKeyId' || k === 'Signature');
}

/** The access key id a request claims (header or presigned), before any verification, so the
 *  caller can fetch the key first; undefined when absent or not a possible id (too long, control
 *  characters), which authenticate() then refuses with a 4xx. */
export function claimedAccessKeyId(authorization: string | undefined, rawQuery: string): string | undefined {
  // Bounded repetitions: a 16 KiB header of repeated 'Credential=' costs linear time, not quadratic.
  const m =
    /Credential=([^/,\s]{1,128})\//.exec(authorization ?? '') ?? /(?:^|&)X-Amz-Credential=([^%/&]{1,128})(?:%2F|\/)/i.exec(rawQuery);
  const id = m?.[1];
  return id !== undefined && isValidAccessKeyId(id) ? id : undefined;
}

export function authenticate(req: AuthRequest, lookup: SecretLookup, region: string, nowMs: number): AuthResult {
  const authz = req.headers.authorization;
  const pairs = parseQuery(req.rawQuery);
  const presigned = pairs.some(([k]) => k === 'X-Amz-Algorithm' || k === 'X-Amz-Signature' || k === 'X-Amz-Credential');
  if (authz !== undefined && presigned) {
    throw new S3Error(
      'InvalidArgument',
      'Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter or the Authorization header should be specified',
    );
  }
  if (authz !== undefined) {
    if (authz.startsWith(ALGORITHM)) return verifyHeaderAuth(req, lookup, region, nowMs);
    if (authz.startsWith('AWS ')) throw new S3Error('InvalidRequest', SIGV2_MESSAGE);
    if (authz.startsWith('AWS4-ECDSA-P256-SHA256')) {
      throw new S3Error('InvalidRequest', 'SigV4a (AWS4-ECDSA-P256-SHA256) is not supported; please use AWS4-HMAC-SHA256.');
    }
    throw new S3Error('AuthorizationHeaderMalformed', `Unsupported Authorization type; expecting ${ALGORITHM}.`);
  }
  if (presigned) return verifyPresigned(req, pairs, lookup, region, nowMs);
  if (pairs.some(([k]) => k === 'AWSAccessKeyId' || k === 'Signature')) throw new S3Error('InvalidRequest', SIGV2_MESSAGE);
  throw new S3Error('AccessDenied', 'Access Denied: the request is anonymous (no Authorization header or presigned URL).');
}
