// Pure HTTP helpers shared by the S3 API and the website server: RFC 7233 single ranges,
// RFC 7232 conditional requests, entity-tag lists and Accept-Encoding negotiation.
import type { IncomingHttpHeaders } from 'node:http';

export type ByteRange = { start: number; end: number };

/** Parses a single-range Range header against a size: the [start, end) to send, undefined for
 *  the whole representation (absent, multi-range or malformed: ignored, as S3 does), or
 *  'unsatisfiable' (answer 416 with `Content-Range: bytes * /size`). */
export function parseRange(header: string | undefined, size: number): ByteRange | 'unsatisfiable' | undefined {
  if (!header) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m) return undefined;
  const [, a, b] = m;
  if (a === '' && b === '') return undefined;
  let start: number;
  let end: number;
  if (a === '') {
    const n = Number(b);
    if (n === 0) return 'unsatisfiable';
    start = Math.max(0, size - n);
    end = size;
  } else {
    start = Number(a);
    end = b === '' ? size : Math.min(size, Number(b) + 1);
    if (b !== '' && Number(b) < start) return undefined;
  }
  if (start >= size) return 'unsatisfiable';
  return { start, end };
}

/** Matches an If-Match / If-None-Match value (list of quoted etags, or *) against an unquoted etag.
 *  Weak comparison: W/ prefixes are ignored, which is what If-None-Match requires. */
export function etagMatches(header: string, etag: string): boolean {
  return header.split(',').some((t) => {
    const x = t.trim().replace(/^W\//, '');
    return x === '*' || x.replace(/^"|"$/g, '') === etag;
  });
}

function parseDate(s: string | undefined): number | undefined {
  if (s === undefined) return undefined;
  const t = Date.parse(s);
  return Number.isNaN(t) ? undefined : t;
}

export type ConditionResult = { status: 'ok' } | { status: 'not-modified' } | { status: 'precondition-failed'; condition: 'If-Match' | 'If-Unmodified-Since' };

/** RFC 7232 §6 evaluation order. Dates compare at one-second precision, as HTTP dates carry.
 *  `prefix` reads prefixed variants (S3's x-amz-copy-source-if-*). */
export function evaluateConditions(h: IncomingHttpHeaders, etag: string, lastModified: number, prefix = ''): ConditionResult {
  const g = (n: string) => h[prefix + n] as string | undefined;
  const lm = Math.floor(lastModified / 1000) * 1000;
  const im = g('if-match');
  const ius = parseDate(g('if-unmodified-since'));
  const inm = g('if-none-match');
  const ims = parseDate(g('if-modified-since'));
  if (im !== undefined) {
    if (!etagMatches(im, etag)) return { status: 'precondition-failed', condition: 'If-Match' };
  } else if (ius !== undefined && lm > ius) return { status: 'precondition-failed', condition: 'If-Unmodified-Since' };
  if (inm !== undefined) {
    if (etagMatches(inm, etag)) return { status: 'not-modified' };
  } else if (ims !== undefined && lm <= ims) return { status: 'not-modified' };
  return { status: 'ok' };
}

/** Whether an Accept-Encoding value allows a content coding (RFC 9110 §12.5.3): an explicit
 *  entry decides (q=0 refuses), else `*` decides, else not acceptable. */
export function acceptsEncoding(header: string | undefined, coding: string): boolean {
  if (!header) return false;
  let star: boolean | undefined;
  for (const part of header.split(',')) {
    const [name, ...params] = part.trim().toLowerCase().split(';');
    let q = 1;
    for (const p of params) {
      const m = /^\s*q\s*=\s*([0-9.]+)\s*$/.exec(p);
      if (m) q = Number(m[1]);
    }
    const ok = !(q <= 0) && !Number.isNaN(q);
    const n = name!.trim();
    if (n === coding) return ok;
    if (n === 'x-gzip' && coding === 'gzip') return ok;
    if (n === '*') star = ok;
  }
  return star ?? false;
}
