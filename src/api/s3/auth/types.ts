// Shared types of the S3 auth layer, kept apart so sigv4/presigned/chunked and index.ts avoid import cycles.
import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';

export interface AuthRequest {
  method: string;
  /** Path exactly as received (percent-encoded), without the query. */
  rawPath: string;
  /** Query string exactly as received, without '?', '' if none. */
  rawQuery: string;
  headers: IncomingHttpHeaders;
}

/** Secret key of an access key id, or undefined if unknown. */
export type SecretLookup = (accessKeyId: string) => string | undefined;

export type PayloadMode =
  | { kind: 'unsigned' }
  | { kind: 'sha256'; expected: string }
  | { kind: 'streaming-signed'; trailer: boolean }
  | { kind: 'streaming-unsigned-trailer' };

/** What chunk and trailer signatures are chained from. */
export interface SigningContext {
  signingKey: Buffer;
  /** Credential scope, e.g. 20130524/us-east-1/s3/aws4_request. */
  scope: string;
  /** Signature of the request itself; the first chunk's signature is chained from it. */
  seedSignature: string;
  /** ISO 8601 basic timestamp, e.g. 20130524T000000Z. */
  amzDate: string;
}

export interface AuthResult {
  accessKeyId: string;
  payload: PayloadMode;
  signing: SigningContext;
}

export interface DecodedBody {
  stream: Readable;
  /** Valid only after `stream` ended successfully. Checksums are keyed by lower-case algorithm (crc32, crc32c, crc64nvme, sha1, sha256). */
  result(): { md5Hex: string; size: number; checksums: Record<string, string> };
}
