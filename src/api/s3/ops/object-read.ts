// Reading objects: version selection, conditional headers, ranges and the response headers of
// GetObject/HeadObject.
import type { IncomingHttpHeaders } from 'node:http';
import type { ObjectEntry, ObjectVersion } from '../../../model/object.ts';
import { currentVersion, findVersion, versionIdOf } from '../../../model/object.ts';
import { S3Error } from '../errors.ts';
import { etagMatches } from './common.ts';
import { httpDate } from '../../../util/time.ts';

/** The version a GET/HEAD/DELETE addresses, or an S3 error (404 / 405 for delete markers). */
export function selectVersion(o: ObjectEntry | undefined, key: string, versionId: string | null): ObjectVersion {
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
    throw new S3Error('NoSuchKey', 'The specified key does not exist.', { Key: key }).withHeaders({
      'x-amz-delete-marker': 'true',
      'x-amz-version-id': versionIdOf(v),
    });
  }
  return v;
}

function parseDate(s: string | undefined): number | undefined {
  if (s === undefined) return undefined;
  const t = Date.parse(s);
  return Number.isNaN(t) ? undefined : t;
}

/** RFC 7232 §6 evaluation order. Dates compare at one-second precision, as HTTP dates carry. */
export function checkConditions(h: IncomingHttpHeaders, etag: string, lastModified: number, prefix = ''): 'ok' | 'not-modified' {
  const g = (n: string) => h[prefix + n] as string | undefined;
  const lm = Math.floor(lastModified / 1000) * 1000;
  const im = g('if-match');
  const ius = parseDate(g('if-unmodified-since'));
  const inm = g('if-none-match');
  const ims = parseDate(g('if-modified-since'));
  const fail = (c: string) => new S3Error('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', { Condition: c });
  if (im !== undefined) {
    if (!etagMatches(im, etag)) throw fail('If-Match');
  } else if (ius !== undefined && lm > ius) throw fail('If-Unmodified-Since');
  if (inm !== undefined) {
    if (etagMatches(inm, etag)) return 'not-modified';
  } else if (ims !== undefined && lm <= ims) return 'not-modified';
  return 'ok';
}

/** Parses a single-range Range header against a size; undefined = whole object. */
export function parseRange(header: string | undefined, size: number): { start: number; end: number } | undefined {
  if (!header) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m) return undefined; // multi-range or malformed: S3 serves the whole object
  const [, a, b] = m;
  if (a === '' && b === '') return undefined;
  let start: number;
  let end: number;
  if (a === '') {
    const n = Number(b);
    if (n === 0) throw rangeError(size);
    start = Math.max(0, size - n);
    end = size;
  } else {
    start = Number(a);
    end = b === '' ? size : Math.min(size, Number(b) + 1);
    if (b !== '' && Number(b) < start) return undefined;
  }
  if (start >= size) throw rangeError(size);
  return { start, end };
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

/** The response headers describing a version (before range/length). */
export function objectHeaders(v: ObjectVersion, q: URLSearchParams, versioned: boolean, withChecksums: boolean): Record<string, string> {
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
  for (const [qn, hn] of Object.entries(OVERRIDES)) {
    const val = q.get(qn);
    if (val !== null) h[hn] = val;
  }
  return h;
}
