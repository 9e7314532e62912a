// Limits on the names an S3 request carries (object key, list parameters, ids in the query),
// checked once per request right after routing, before authentication reads a key or any handler
// runs, so an over-long value is a 400 here and never reaches the metadata store.
import { S3Error } from './errors.ts';
import type { Target } from './router.ts';

/** S3's limit on an object key, in bytes of UTF-8. */
export const KEY_BYTES_MAX = 1024;

/** Query parameters that name a key or a key prefix: over KEY_BYTES_MAX → KeyTooLongError, as for a key. */
const KEY_LIKE_PARAMS = ['prefix', 'marker', 'start-after', 'key-marker'];
/** Other names in the query (opaque ids, delimiter): over KEY_BYTES_MAX → InvalidArgument. A
 *  continuation token is base64url of a key: at most 4/3 of a key, checked once decoded too (list.ts). */
const OTHER_PARAMS: Record<string, number> = {
  delimiter: KEY_BYTES_MAX,
  'upload-id-marker': KEY_BYTES_MAX,
  'version-id-marker': KEY_BYTES_MAX,
  versionId: KEY_BYTES_MAX,
  uploadId: KEY_BYTES_MAX,
  'continuation-token': Math.ceil((KEY_BYTES_MAX * 4) / 3),
};

/** Ids echoed in response headers (x-amz-version-id…); the other names only go back in XML, where
 *  any character is escaped (a delimiter of "\n" is legal: s3-tests *_delimiter_unreadable). */
const ECHOED_IN_HEADERS = new Set(['versionId', 'uploadId']);

/** Characters a response header may carry (Node refuses the rest with an exception). */
const HEADER_SAFE = /^[\t\x20-\x7e\x80-\xff]*$/;

export function keyTooLong(bytes: number): S3Error {
  return new S3Error('KeyTooLongError', 'Your key is too long', { Size: String(bytes), MaxSizeAllowed: String(KEY_BYTES_MAX) });
}

/** Refuses an object key over KEY_BYTES_MAX bytes (every operation that takes a key). */
export function checkObjectKey(key: string): void {
  const n = Buffer.byteLength(key, 'utf8');
  if (n > KEY_BYTES_MAX) throw keyTooLong(n);
}

/** The key of the path and the names in the query. Ids that are echoed in response headers
 *  (versionId, uploadId) must also be valid header text. */
export function checkRequestNames(t: Target, q: URLSearchParams): void {
  if (t.key !== undefined) checkObjectKey(t.key);
  for (const name of KEY_LIKE_PARAMS) {
    const v = q.get(name);
    if (v === null) continue;
    const n = Buffer.byteLength(v, 'utf8');
    if (n > KEY_BYTES_MAX) throw keyTooLong(n);
  }
  for (const [name, max] of Object.entries(OTHER_PARAMS)) {
    const v = q.get(name);
    if (v === null) continue;
    const n = Buffer.byteLength(v, 'utf8');
    if (n > max) throw new S3Error('InvalidArgument', `${name} is longer than ${max} bytes (${n})`, { ArgumentName: name });
    if (ECHOED_IN_HEADERS.has(name) && !HEADER_SAFE.test(v)) throw new S3Error('InvalidArgument', `${name} contains characters that are not allowed`, { ArgumentName: name });
  }
}

/** Refuses a value for a response header that Node would refuse to send (CR, LF, NUL, other
 *  control characters, code points above U+00FF): the client named it, so the 400 is theirs. */
export function checkHeaderValue(name: string, value: string): void {
  if (!HEADER_SAFE.test(value)) throw new S3Error('InvalidArgument', `${name} contains characters not allowed in an HTTP header`, { ArgumentName: name });
}
