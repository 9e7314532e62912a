// Reading objects: version selection, conditional headers, ranges and the response headers of
// GetObject/HeadObject.
import type { IncomingHttpHeaders } from 'node:http';
import type { ObjectEntry, ObjectVersion } from '../../../model/object.ts';
import { currentVersion, findVersion, versionIdOf } from '../../../model/object.ts';
import { S3Error } from '../errors.ts';
import { evaluateConditions, parseRange as parseHttpRange } from '../../../util/http.ts';
import { httpDate } from '../../../util/time.ts';
import { checkHeaderValue } from '../input-limits.ts';
import { lockHeaders } from './object-lock.ts';
import { tagCount } from './tagging.ts';
import type { LockVisibility } from '../authz/lock-visibility.ts';

/** The version a GET/HEAD/DELETE addresses, or an S3 error (404 / 405 for delete markers).
 *  `everVersioned` false (a bucket never versioned): a delete left no marker clients know of. */
export function selectVersion(o: ObjectEntry | undefined, key: string, versionId: string | null, everVersioned = true): ObjectVersion {
  if (versionId !== null) {
    if (versionId === '') throw new S3Error('InvalidArgument', 'Version id cannot be the empty string');
    const v = findVersion(o, versionId);
    if (!v) throw new S3Error('NoSuchVersion', 'The specified version does not exist.', { Key: key, VersionId: versionId });
    if (v.deleteMarker) {
      throw new S3Error('MethodNotAllowed', 'The specified method is not allowed against this resource.').withHeaders({
        'x-amz-delete-marker': 'true',
        'x-amz-version-id': versionIdOf(v),
      });
    }
    return v;
  }
  const v = currentVersion(o);
  if (!v) throw new S3Error('NoSuchKey', 'The specified key does not exist.', { Key: key });
  if (v.deleteMarker) {
    throw new S3Error('NoSuchKey', 'The specified key does not exist.', { Key: key }).withHeaders(
      everVersioned ? { 'x-amz-delete-marker': 'true', 'x-amz-version-id': versionIdOf(v) } : { 'x-amz-delete-marker': 'false' },
    );
  }
  return v;
}

/** RFC 7232 §6 evaluation (shared with the web server), as S3 errors. */
export function checkConditions(h: IncomingHttpHeaders, etag: string, lastModified: number, prefix = ''): 'ok' | 'not-modified' {
  const r = evaluateConditions(h, etag, lastModified, prefix);
  if (r.status === 'precondition-failed')
    throw new S3Error('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', { Condition: r.condition });
  return r.status;
}

/** Parses a single-range Range header against a size; undefined = whole object. */
export function parseRange(header: string | undefined, size: number): { start: number; end: number } | undefined {
  const r = parseHttpRange(header, size);
  if (r === 'unsatisfiable') throw rangeError(size);
  return r;
}

function rangeError(size: number): S3Error {
  return new S3Error('InvalidRange', 'The requested range is not satisfiable', { ActualObjectSize: String(size) }).withHeaders({
    'content-range': `bytes */${size}`,
  });
}

const OVERRIDES: Record<string, string> = {
  'response-content-type': 'content-type',
  'response-content-language': 'content-language',
  'response-expires': 'expires',
  'response-cache-control': 'cache-control',
  'response-content-disposition': 'content-disposition',
  'response-content-encoding': 'content-encoding',
};

/** The response headers describing a version (before range/length). `lock`: which object-lock
 *  headers the caller may see (authz/lock-visibility.ts). */
export function objectHeaders(v: ObjectVersion, q: URLSearchParams, versioned: boolean, withChecksums: boolean, lock: LockVisibility): Record<string, string> {
  const h: Record<string, string> = {
    etag: `"${v.meta!.etag}"`,
    'last-modified': httpDate(v.ts),
    'accept-ranges': 'bytes',
  };
  for (const [k, val] of v.meta!.headers) {
    if (k.startsWith('x-amz-checksum-') && !withChecksums) continue;
    h[k] = val;
  }
  if (versioned || !v.nullVersion) h['x-amz-version-id'] = versionIdOf(v);
  const tags = tagCount(v);
  if (tags !== undefined) h['x-amz-tagging-count'] = String(tags);
  for (const [k, val] of Object.entries(lockHeaders(v))) if (k === 'x-amz-object-lock-legal-hold' ? lock.legalHold : lock.retention) h[k] = val;
  for (const [qn, hn] of Object.entries(OVERRIDES)) {
    const val = q.get(qn);
    if (val === null) continue;
    // Sent back as a header: CR/LF/NUL would split it or make Node throw at writeHead.
    checkHeaderValue(qn, val);
    h[hn] = val;
  }
  return h;
}
