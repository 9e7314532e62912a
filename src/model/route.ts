// The route table (replicated everywhere): host + path prefix → a website, the S3 API or upstream
// backends, an LWW register per route so edits and deletions from any node converge.
import { mergeLww, type Lww } from '../table/crdt.ts';
import type { TableSchema } from '../table/schema.ts';

export type RouteTarget =
  /** A website: the bucket whose global alias is `site` (default: the route's host). */
  | { kind: 'website'; site?: string }
  | { kind: 's3' }
  | { kind: 'upstream'; upstreams: string[] };

export interface Route {
  host: string;
  /** Path prefix, "/" for the whole host; never ends with "/" otherwise. */
  path: string;
  created: number;
  /** null: deleted. */
  target: Lww<RouteTarget | null>;
}

export const routeSchema: TableSchema<Route> = {
  name: 'route',
  replication: 'everywhere',
  partitionKey: () => 'route',
  // Hosts never contain "/", paths always start with it: host + path is unambiguous and sorts
  // a host's routes together.
  sortKey: (r) => r.host + r.path,
  merge: (a, b) => ({ host: a.host, path: a.path, created: Math.min(a.created, b.created), target: mergeLww(a.target, b.target) }),
  isTombstone: (r) => r.target.v === null,
};

/** A DNS host name (lower case, no port, no trailing dot, at least two labels), or an error. */
export function parseHost(raw: string): { host: string } | { error: string } {
  const h = raw.trim().toLowerCase().replace(/\.$/, '');
  if (h.length === 0 || h.length > 253) return { error: `"${raw}" is not a host name` };
  const labels = h.split('.');
  if (labels.length < 2) return { error: `"${raw}" is not a fully qualified host name (e.g. www.example.org)` };
  for (const l of labels) {
    if (!/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(l)) return { error: `"${raw}" is not a valid host name (label "${l}")` };
  }
  if (/^\d+$/.test(labels[labels.length - 1]!)) return { error: `"${raw}" is an IP address, not a host name` };
  return { host: h };
}

/** "/", or "/a/b" without trailing slash, without dot segments or query. */
export function parsePathPrefix(raw: string | undefined): { path: string } | { error: string } {
  if (raw === undefined || raw === '' || raw === '/') return { path: '/' };
  if (!raw.startsWith('/')) return { error: `path prefix "${raw}" must start with "/"` };
  if (/[?#\s%]/.test(raw)) return { error: `path prefix "${raw}" must not contain "?", "#", "%" or spaces` };
  const p = raw.replace(/\/+$/, '');
  if (p.split('/').some((s) => s === '.' || s === '..')) return { error: `path prefix "${raw}" must not contain "." or ".." segments` };
  return { path: p };
}

/** An upstream base URL: http(s)://host[:port] with no path beyond "/", no credentials. */
export function parseUpstream(raw: string): { url: string } | { error: string } {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    return { error: `upstream "${raw}" is not a URL (e.g. http://10.0.0.5:8008)` };
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return { error: `upstream "${raw}" must be http:// or https://` };
  if (u.username || u.password) return { error: `upstream "${raw}" must not contain credentials` };
  if (u.pathname !== '/' || u.search || u.hash) return { error: `upstream "${raw}" must not have a path or query (requests keep their own path)` };
  return { url: `${u.protocol}//${u.host}` };
}

/** Does a request path fall under a route's prefix? ("/api" covers "/api" and "/api/x", not "/apix".)
 *  `path` must come from normalizePath, so a prefix is a real segment boundary. Paths are
 *  case-sensitive, as in HTTP (RFC 3986 §6.2.2.1): "/API" is not under "/api", but "/%61pi" is. */
export function pathMatches(prefix: string, path: string): boolean {
  return prefix === '/' || path === prefix || path.startsWith(prefix + '/');
}

const UNRESERVED = /^[A-Za-z0-9._~-]$/;

/** The one form of a request path (no query) that routing and upstreams both see: escapes of
 *  unreserved characters decoded and the others upper-cased, repeated slashes collapsed, dot
 *  segments resolved (RFC 3986 §5.2.4, after decoding, so "%2e%2e" is ".."). One pass, so the
 *  result is its own normal form. Refused (an upstream could read them differently): an encoded
 *  "/" or backslash, a raw backslash, NUL, "#", a malformed escape, a path climbing above the root. */
export function normalizePath(raw: string): { path: string } | { error: string } {
  if (!raw.startsWith('/')) return { error: 'the path must start with "/"' };
  if (/[\\\0#]/.test(raw)) return { error: 'the path contains a backslash, NUL or "#"' };
  let out = '';
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!;
    if (c !== '%') {
      out += c;
      continue;
    }
    const hex = raw.slice(i + 1, i + 3);
    if (!/^[0-9A-Fa-f]{2}$/.test(hex)) return { error: 'the path has a malformed percent-escape' };
    const code = parseInt(hex, 16);
    if (code === 0x2f || code === 0x5c || code === 0) return { error: 'the path contains an encoded "/", "\\" or NUL' };
    const ch = String.fromCharCode(code);
    out += UNRESERVED.test(ch) ? ch : '%' + hex.toUpperCase();
    i += 2;
  }
  const segs = out.split('/');
  const stack: string[] = [];
  for (let i = 1; i < segs.length; i++) {
    const s = segs[i]!;
    const last = i === segs.length - 1;
    if (s === '' && !last) continue;
    if (s === '.' || s === '..') {
      if (s === '..') {
        if (stack.length === 0) return { error: 'the path climbs above the root' };
        stack.pop();
      }
      // "/a/b/.." is "/a/": the last segment stays a directory.
      if (last) stack.push('');
      continue;
    }
    stack.push(s);
  }
  return { path: '/' + stack.join('/') };
}

export function describeTarget(t: RouteTarget): string {
  if (t.kind === 's3') return 'S3 API';
  if (t.kind === 'website') return t.site ? `website ${t.site}` : 'website';
  return t.upstreams.join(', ');
}
