// Authentication for the site and quota endpoints, which site owners call too: either the admin
// token (`Authorization: Bearer …`) or an S3 access key proving it knows its secret with
//   X-Grenier-Key: <access key id>
//   X-Grenier-Date: <ISO 8601 date, within 15 minutes of the node's clock>
//   X-Grenier-Content-SHA256: <hex SHA-256 of the body (of the empty string when none)>
//   X-Grenier-Node: <id of the node the request is sent to; every admin answer carries it>
//   X-Grenier-Signature: hex(HMAC-SHA256(secret, METHOD \n target \n date \n body-sha256 \n node))
// where target is the request target exactly as sent (path and query string). The body hash is
// a header so that streamed bodies are authenticated before any byte is stored, then verified.
//
// Replays: a signature covers the node it is sent to, so a capture is refused by every other
// node; that node accepts it once (SeenSignatures) while its date is within the window. Not
// covered: the capture sent again to the same node after it restarted, within those 15 minutes
// (the cache is per process). Use HTTPS to the admin API so requests cannot be captured.
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Store } from '../../model/store.ts';
import type { Principal } from '../../model/quota-request.ts';
import { sha256 } from '../../util/hash.ts';
import { AdminError } from './http.ts';
import type { SeenSignatures } from './seen-signatures.ts';

export const MAX_SKEW_MS = 15 * 60_000;
/** X-Grenier-Key: access key ids are 26 characters; imported ones stay well under this. */
export const KEY_ID_CHARS_MAX = 128;

/** Node ids are 64 hex characters (the node's public key). */
const NODE_ID = /^[0-9a-f]{64}$/;

export function canonical(method: string, target: string, date: string, bodySha256: string, node: string): string {
  return `${method.toUpperCase()}\n${target}\n${date}\n${bodySha256}\n${node}`;
}

export function sign(secret: string, method: string, target: string, date: string, bodySha256: string, node: string): string {
  return createHmac('sha256', secret).update(canonical(method, target, date, bodySha256, node)).digest('hex');
}

function same(a: string, b: string): boolean {
  return timingSafeEqual(sha256(a), sha256(b));
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** Who sent the request; throws 401/403 with a message saying what is wrong. The body hash is
 *  the header's claim: callers must check the body against it (`bodySha256`). An owner signature
 *  is accepted once: `seen` remembers it for as long as its date keeps it valid. */
export function authenticate(
  req: IncomingMessage,
  store: Store,
  adminToken: string | undefined,
  seen: SeenSignatures,
  now = Date.now(),
): { principal: Principal; bodySha256?: string } {
  const auth = header(req, 'authorization');
  if (auth) {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(auth);
    if (!m) throw new AdminError(401, 'Unauthorized', 'the Authorization header must be "Bearer <token>"');
    if (!adminToken) throw new AdminError(403, 'Forbidden', 'the admin token is disabled on this node (admin.admin_token is not set)');
    if (!same(m[1]!, adminToken)) throw new AdminError(403, 'Forbidden', 'invalid token');
    return { principal: { admin: true } };
  }
  const keyId = header(req, 'x-grenier-key');
  if (!keyId)
    throw new AdminError(401, 'Unauthorized', 'send "Authorization: Bearer <admin token>", or an access key with X-Grenier-Key, X-Grenier-Date, X-Grenier-Content-SHA256 and X-Grenier-Signature');
  if (keyId.length > KEY_ID_CHARS_MAX) throw new AdminError(400, 'InvalidRequest', `X-Grenier-Key is longer than ${KEY_ID_CHARS_MAX} characters`);
  const date = header(req, 'x-grenier-date');
  const bodySha = header(req, 'x-grenier-content-sha256');
  const sig = header(req, 'x-grenier-signature');
  const node = header(req, 'x-grenier-node');
  if (!date || !bodySha || !sig || !node)
    throw new AdminError(401, 'Unauthorized', `X-Grenier-Key needs X-Grenier-Date, X-Grenier-Content-SHA256, X-Grenier-Node (this node's id, ${seen.node}, also sent in every answer's X-Grenier-Node) and X-Grenier-Signature`);
  // Checked before the signature, for a clear answer; the signature covers this node's id either way.
  if (node !== seen.node)
    throw new AdminError(403, 'WrongNode', `this request was signed for node ${NODE_ID.test(node) ? node.slice(0, 16) : 'another'}…, this is node ${seen.node.slice(0, 16)}…: a signed request is valid on the node it names only`);
  const t = Date.parse(date);
  if (Number.isNaN(t)) throw new AdminError(401, 'Unauthorized', `X-Grenier-Date "${date}" is not a date (use ISO 8601, e.g. ${new Date(now).toISOString()})`);
  if (Math.abs(now - t) > MAX_SKEW_MS) throw new AdminError(403, 'RequestTimeTooSkewed', `X-Grenier-Date is more than 15 minutes away from this node's clock (${new Date(now).toISOString()})`);
  if (!/^[0-9a-f]{64}$/.test(bodySha)) throw new AdminError(400, 'InvalidRequest', 'X-Grenier-Content-SHA256 must be 64 lowercase hex characters');
  const k = store.keys.local.get('key', keyId);
  // Same answer for an unknown key and a bad signature: no key enumeration.
  const expected = k && !k.deleted.v ? sign(k.secret, req.method ?? 'GET', req.url ?? '/', date, bodySha, seen.node) : undefined;
  if (!expected || !same(expected, sig.toLowerCase())) throw new AdminError(403, 'Forbidden', 'the access key or its signature is not valid');
  if (!seen.admit(expected, t + MAX_SKEW_MS, now))
    throw new AdminError(403, 'RequestReplayed', 'this signed request was already accepted once: sign it again (a new X-Grenier-Date) to send it again');
  return { principal: { admin: false, keyId }, bodySha256: bodySha };
}
