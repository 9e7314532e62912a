// What the site and quota endpoints share: their context, the caller's rights on a site.
import type { IncomingMessage } from 'node:http';
import type { Principal } from '../../model/quota-request.ts';
import { mayManage } from '../../model/quota-request.ts';
import { findSite, type SiteRef } from '../../model/site.ts';
import { AdminError, badRequest } from './http.ts';
import type { AdminDeps } from './context.ts';

export interface SiteCtx {
  deps: AdminDeps;
  req: IncomingMessage;
  query: URLSearchParams;
  principal: Principal;
  body: Record<string, unknown>;
  /** Verified claim of the body's SHA-256 (owners only), for streamed bodies. */
  bodySha256?: string;
}

export interface SiteOp {
  method: 'GET' | 'POST' | 'PUT';
  adminOnly?: boolean;
  /** The handler reads the request body itself (streams). */
  raw?: boolean;
  /** The operation acts on the site named by ?site=: the caller's right to manage it is checked
   *  before any byte of the body is read. */
  site?: boolean;
  /** The body is a deploy manifest (limits.manifest_body_bytes_max instead of json_body_bytes_max). */
  manifest?: boolean;
  /** A check of the caller's rights that needs no body, run before the body is read. */
  before?(c: SiteCtx): Promise<void>;
  run(c: SiteCtx): Promise<unknown>;
}

export const forbidden = (msg: string): AdminError => new AdminError(403, 'Forbidden', msg);

/** The site named by ?site=, if the caller may manage it. Unknown and not-yours look the same to
 *  an owner, so keys cannot probe which sites exist. */
export async function siteFor(c: SiteCtx): Promise<SiteRef> {
  const domain = c.query.get('site');
  if (!domain) throw badRequest('missing query parameter "site"');
  let ref: SiteRef;
  try {
    ref = await findSite(c.deps.store, domain);
  } catch (e) {
    if (!c.principal.admin) throw forbidden(`your access key does not own a site "${domain}"`);
    throw e;
  }
  if (!mayManage(c.principal, ref.bucket)) throw forbidden(`your access key does not own a site "${domain}"`);
  return ref;
}

