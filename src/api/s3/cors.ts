// CORS for the S3 API: preflight (OPTIONS) answers and headers on actual requests, from the
// bucket's rules. Matching is pure (matchRule) so it is tested apart from HTTP.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Bucket, CorsRule } from '../../model/bucket.ts';
import { S3Error } from './errors.ts';

/** `*` matches any run of characters, anywhere in the pattern (as AWS matches AllowedOrigin). */
export function wildcardMatch(pattern: string, value: string, caseInsensitive = false): boolean {
  if (pattern === '*') return true;
  const re = '^' + pattern.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*') + '$';
  return new RegExp(re, caseInsensitive ? 'is' : 's').test(value);
}

/** The first rule allowing `origin`, `method` and every requested header, as S3 picks it. */
export function matchRule(rules: CorsRule[], origin: string, method: string, requestHeaders: string[] = []): CorsRule | undefined {
  return rules.find(
    (r) =>
      r.allowedOrigins.some((o) => wildcardMatch(o, origin, true)) &&
      r.allowedMethods.includes(method) &&
      requestHeaders.every((h) => r.allowedHeaders.some((p) => wildcardMatch(p, h, true))),
  );
}

/** Access-Control-Request-Headers as a list of lower-case names. */
export function requestedHeaders(v: string | string[] | undefined): string[] {
  const s = Array.isArray(v) ? v.join(',') : (v ?? '');
  return s
    .split(',')
    .map((h) => h.trim().toLowerCase())
    .filter((h) => h !== '');
}

/** The response headers for an origin allowed by `rule` (shared by preflight and actual requests). */
export function allowHeaders(rule: CorsRule, origin: string): Record<string, string> {
  // A rule open to every origin answers `*`; otherwise the origin is echoed and credentials are
  // allowed, as S3 does (a browser rejects credentials with `*`).
  const any = rule.allowedOrigins.includes('*');
  const h: Record<string, string> = {
    'access-control-allow-origin': any ? '*' : origin,
    'access-control-allow-methods': rule.allowedMethods.join(', '),
  };
  if (!any) h['access-control-allow-credentials'] = 'true';
  if (rule.exposeHeaders.length > 0) h['access-control-expose-headers'] = rule.exposeHeaders.join(', ');
  return h;
}

const VARY = 'Origin, Access-Control-Request-Headers, Access-Control-Request-Method';

function one(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

const forbidden = (why: string) => new S3Error('AccessForbidden', `CORSResponse: ${why}`);

/** Answers an OPTIONS preflight for `bucket` (undefined if it does not exist). */
export function preflight(req: IncomingMessage, res: ServerResponse, bucket: Bucket | undefined): void {
  const origin = one(req.headers.origin);
  if (origin === undefined || origin === '') throw new S3Error('BadRequest', 'Insufficient information. Origin request header needed.');
  const method = one(req.headers['access-control-request-method']);
  if (method === undefined || method === '') throw new S3Error('BadRequest', 'Invalid Access-Control-Request-Method header: it is required for a CORS preflight request.');
  if (!bucket) throw forbidden('Bucket not found');
  const rules = bucket.cors.v;
  if (!rules || rules.length === 0) throw forbidden('CORS is not enabled for this bucket.');
  const headers = requestedHeaders(req.headers['access-control-request-headers']);
  const rule = matchRule(rules, origin, method, headers);
  if (!rule)
    throw forbidden(
      'This CORS request is not allowed. This is usually because the evaluation of Origin, request method / Access-Control-Request-Method or Access-Control-Request-Headers are not whitelisted by the resource\'s CORS spec.',
    );
  const h: Record<string, string | number> = { ...allowHeaders(rule, origin), vary: VARY, 'content-length': 0 };
  if (headers.length > 0) h['access-control-allow-headers'] = headers.join(', ');
  if (rule.maxAgeSeconds !== undefined) h['access-control-max-age'] = String(rule.maxAgeSeconds);
  res.writeHead(200, h);
  res.end();
}

/** Adds Access-Control-* headers to an actual request's response when a rule matches. */
export function applyCors(req: IncomingMessage, res: ServerResponse, bucket: Bucket | undefined): void {
  const rules = bucket?.cors.v;
  if (!rules || rules.length === 0) return;
  // The answer depends on Origin whenever the bucket has rules, matched or not: caches must know.
  res.setHeader('vary', VARY);
  const origin = one(req.headers.origin);
  if (origin === undefined || origin === '') return;
  // A request naming Access-Control-Request-Method is matched on it, as RGW does.
  const rule = matchRule(rules, origin, one(req.headers['access-control-request-method']) || (req.method ?? 'GET'));
  if (!rule) return;
  for (const [k, v] of Object.entries(allowHeaders(rule, origin))) res.setHeader(k, v);
}
