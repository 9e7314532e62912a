// S3 website redirects: RedirectAllRequestsTo and RoutingRules (AWS semantics: rules in order,
// first match wins; a rule with an error-code condition only applies once the lookup has failed
// with that code).
import type { RoutingRule, WebsiteConfig } from '../model/bucket.ts';
import { encodeKey } from './path.ts';

export interface Redirect {
  status: number;
  location: string;
}

export interface RequestOrigin {
  /** The Host header as sent (with port): the default redirect host. */
  host: string;
  /** http or https: the default redirect protocol. */
  protocol: string;
}

function redirectCode(code: string | undefined): number {
  const n = code === undefined ? 301 : Number(code);
  return Number.isInteger(n) && n >= 300 && n <= 399 ? n : 301;
}

function protocolOf(p: string | undefined, dflt: string): string {
  const x = p?.toLowerCase();
  return x === 'http' || x === 'https' ? x : dflt;
}

export function redirectAll(w: WebsiteConfig, rawPathAndQuery: string, origin: RequestOrigin): Redirect | undefined {
  const r = w.redirectAllRequestsTo;
  if (!r?.hostName) return undefined;
  return { status: 301, location: `${protocolOf(r.protocol, origin.protocol)}://${r.hostName}${rawPathAndQuery}` };
}

function matches(rule: RoutingRule, key: string, errorCode: number | undefined): boolean {
  const c = rule.condition;
  const wantCode = c?.httpErrorCodeReturnedEquals;
  if (errorCode === undefined ? wantCode !== undefined : wantCode === undefined || Number(wantCode) !== errorCode) return false;
  return c?.keyPrefixEquals === undefined || key.startsWith(c.keyPrefixEquals);
}

/** The redirect of the first matching rule, before the lookup (errorCode undefined) or after it
 *  failed with errorCode. `key` is the requested key, before the index document is appended. */
export function routingRedirect(w: WebsiteConfig, key: string, errorCode: number | undefined, origin: RequestOrigin): Redirect | undefined {
  for (const rule of w.routingRules ?? []) {
    if (!matches(rule, key, errorCode)) continue;
    const r = rule.redirect;
    let newKey = key;
    if (r.replaceKeyWith !== undefined) newKey = r.replaceKeyWith;
    else if (r.replaceKeyPrefixWith !== undefined) {
      const prefix = rule.condition?.keyPrefixEquals ?? '';
      newKey = r.replaceKeyPrefixWith + key.slice(prefix.length);
    }
    const host = r.hostName || origin.host;
    const location = `${protocolOf(r.protocol, origin.protocol)}://${host}/${encodeKey(newKey.replace(/^\/+/, ''))}`;
    return { status: redirectCode(r.httpRedirectCode), location };
  }
  return undefined;
}
