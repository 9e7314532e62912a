// The request target as the front routes and forwards it: origin form only (an absolute-form
// target is accepted for the Host it names and turned into its path), split into raw path,
// normalised path and query.
import { normalizePath } from '../model/route.ts';
import { normalizeHost } from '../web/sites.ts';

export interface Target {
  /** The path as the client sent it (origin form), without the query. */
  raw: string;
  /** "?…" or "". */
  query: string;
  /** The normal form (normalizePath), or why there is none. */
  norm: { path: string } | { error: string };
}

/** Parses req.url against the request's (normalised) Host; an error is a 400. */
export function parseTarget(url: string, host: string): Target | { error: string } {
  let rest = url;
  if (!url.startsWith('/')) {
    // RFC 9112 §3.2.2: absolute form. Routing is by Host; a target naming another host is
    // refused rather than forwarded to a multi-vhost upstream as is.
    const m = /^https?:\/\/([^/?#]*)(.*)$/is.exec(url);
    if (!m) return { error: 'the request target must be a path ("/…")' };
    if (m[1]!.includes('@') || normalizeHost(m[1]) !== host) return { error: 'the request target names another host than the Host header' };
    rest = m[2]!.startsWith('/') ? m[2]! : '/' + m[2]!;
  }
  const qi = rest.indexOf('?');
  const raw = qi < 0 ? rest : rest.slice(0, qi);
  const query = qi < 0 ? '' : rest.slice(qi);
  return { raw, query, norm: normalizePath(raw) };
}
