// Scoped admin tokens (Garage admin API v2: List/Get/Create/Update/DeleteAdminToken and
// GetCurrentAdminTokenInfo) and the check every admin request passes: the config's admin_token
// (the master, for bootstrap) or a live, unexpired token whose scope names the operation.
import type { IncomingMessage } from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import { sha256 } from '../../util/hash.ts';
import {
  TOKEN_NAME_CHARS_MAX,
  TOKEN_SCOPE_ITEMS_MAX,
  generateToken,
  hashToken,
  scopeAllows,
  tokenExpired,
  tokenIdOf,
  tokenMatchesEntry,
  type AdminToken,
} from '../../model/admin-token.ts';
import { AdminError, badRequest, bool, str } from './http.ts';
import type { AdminCtx, AdminDeps, Handler } from './context.ts';

/** Who is calling: the config's master token, or a scoped token from the table. */
export type AdminCaller = { kind: 'master' } | { kind: 'token'; token: AdminToken };

/** The operation anyone with a valid token may call, whatever its scope. */
const ALWAYS_ALLOWED = 'GetCurrentAdminTokenInfo';

const callers = new WeakMap<IncomingMessage, AdminCaller>();

export function callerOf(req: IncomingMessage): AdminCaller | undefined {
  return callers.get(req);
}

/** For the audit log: "admin_token" or "token <name> (<id>)". */
export function callerName(c: AdminCaller): string {
  return c.kind === 'master' ? 'admin_token' : `token ${c.token.name.v} (${c.token.id})`;
}

function same(a: string, b: string): boolean {
  return timingSafeEqual(sha256(a), sha256(b));
}

/** The bearer token of a request; 401 when there is none or the header is malformed. */
export function bearerOf(req: IncomingMessage): string {
  const h = req.headers.authorization;
  if (!h) throw new AdminError(401, 'Unauthorized', 'missing "Authorization: Bearer <token>" header');
  const m = /^Bearer\s+(\S+)\s*$/i.exec(h);
  if (!m) throw new AdminError(401, 'Unauthorized', 'the Authorization header must be "Bearer <token>"');
  return m[1]!;
}

/** Who `given` is, or a 403 saying why not (unknown, deleted, expired; no scope check). */
export function identify(deps: AdminDeps, given: string, now = Date.now()): AdminCaller {
  const master = deps.config.admin.admin_token;
  if (master && same(given, master)) return { kind: 'master' };
  const id = tokenIdOf(given);
  // Read locally: the table is on every node, and a miss must not fan out to the peers.
  const t = id ? deps.store.adminTokens.local.get('admin_token', id) : undefined;
  if (!t || t.deleted.v || !tokenMatchesEntry(given, t)) {
    if (!master && !id) throw new AdminError(403, 'Forbidden', 'invalid token (the config sets no admin.admin_token; use an admin token created with CreateAdminToken)');
    throw new AdminError(403, 'Forbidden', 'invalid token');
  }
  if (tokenExpired(t, now)) throw new AdminError(403, 'Forbidden', `admin token "${t.name.v}" expired at ${new Date(t.expiration.v!).toISOString()}`);
  return { kind: 'token', token: t };
}

/** Who sent the request (its bearer token), or a 401/403 saying why no one we know. */
export function identifyRequest(deps: AdminDeps, req: IncomingMessage, now = Date.now()): AdminCaller {
  return identify(deps, bearerOf(req), now);
}

/** Throws unless caller `c` may call `op`; remembers the caller for the handler. */
export function permit(req: IncomingMessage, c: AdminCaller, op: string): void {
  if (c.kind === 'token' && op !== ALWAYS_ALLOWED && !scopeAllows(c.token.scope.v, op)) {
    const scope = c.token.scope.v.join(', ') || '(empty)';
    throw new AdminError(403, 'Forbidden', `admin token "${c.token.name.v}" may not call ${op} (its scope: ${scope.slice(0, 500)})`);
  }
  callers.set(req, c);
}

export function tokenInfo(t: AdminToken, now = Date.now()): Record<string, unknown> {
  return {
    id: t.id,
    created: new Date(t.created).toISOString(),
    name: t.name.v,
    expiration: t.expiration.v === null ? null : new Date(t.expiration.v).toISOString(),
    expired: tokenExpired(t, now),
    scope: [...t.scope.v],
  };
}

const MASTER_INFO = { id: null, created: null, name: 'admin_token (from the node configuration)', expiration: null, expired: false, scope: ['*'] };

async function liveTokens(deps: AdminDeps): Promise<AdminToken[]> {
  return (await deps.store.adminTokens.range('admin_token')).filter((t) => !t.deleted.v);
}

/** The token named by ?id= (exact) or ?search= (id prefix or exact name). */
async function queriedToken(ctx: AdminCtx): Promise<AdminToken> {
  const id = ctx.query.get('id');
  const search = ctx.query.get('search');
  const all = await liveTokens(ctx.deps);
  if (id) {
    const t = all.find((x) => x.id === id);
    if (!t) throw new AdminError(404, 'NoSuchAdminToken', `no admin token with id "${id}"`);
    return t;
  }
  if (!search) throw badRequest('missing query parameter "id" or "search"');
  const hits = all.filter((t) => t.id.startsWith(search) || t.name.v === search);
  if (hits.length === 0) throw new AdminError(404, 'NoSuchAdminToken', `no admin token matches "${search}"`);
  if (hits.length > 1) throw new AdminError(400, 'AmbiguousAdminToken', `${hits.length} admin tokens match "${search}": use the id (${hits.map((t) => t.id).join(', ')})`);
  return hits[0]!;
}

/** `scope` from a body: a list of known operation names, or ["*"]. A scoped caller may only
 *  grant what it has itself, so a token cannot mint a stronger one. */
function scopeOf(ctx: AdminCtx, known: ReadonlySet<string>): string[] | undefined {
  const v = ctx.body.scope;
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw badRequest('field "scope" must be a list of operation names, or ["*"]');
  if (v.length > TOKEN_SCOPE_ITEMS_MAX) throw badRequest(`field "scope" has more than ${TOKEN_SCOPE_ITEMS_MAX} entries`);
  const scope = [...new Set(v as string[])];
  for (const op of scope) if (op !== '*' && !known.has(op)) throw badRequest(`field "scope": "${op.slice(0, 64)}" is not an admin API operation`);
  const caller = callerOf(ctx.req);
  if (caller?.kind === 'token') {
    const beyond = scope.filter((op) => !scopeAllows(caller.token.scope.v, op));
    if (beyond.length) throw new AdminError(403, 'Forbidden', `your token's scope does not include ${beyond.join(', ')}: a token can only grant operations it may call itself`);
  }
  return scope.sort();
}

/** `expiration` (RFC 3339 date) / `neverExpires` from a body: epoch ms, null for never, undefined if absent. */
function expirationOf(body: Record<string, unknown>, now: number): number | null | undefined {
  const never = bool(body, 'neverExpires');
  const exp = str(body, 'expiration');
  if (never && exp !== undefined) throw badRequest('give "expiration" or "neverExpires": true, not both');
  if (never) return null;
  if (exp === undefined) return undefined;
  const t = Date.parse(exp);
  if (Number.isNaN(t)) throw badRequest(`field "expiration": "${exp.slice(0, 64)}" is not a date (RFC 3339, e.g. ${new Date(now + 86_400_000).toISOString()})`);
  if (t <= now) throw badRequest('field "expiration" is in the past');
  return t;
}

function nameOf(body: Record<string, unknown>): string | undefined {
  const n = str(body, 'name');
  if (n !== undefined && (n.trim() === '' || n.length > TOKEN_NAME_CHARS_MAX)) throw badRequest(`field "name" must have 1 to ${TOKEN_NAME_CHARS_MAX} characters`);
  return n;
}

export function makeTokenOps(known: () => ReadonlySet<string>): Record<string, Handler> {
  return {
    ListAdminTokens: async (ctx) => {
      const now = Date.now();
      const list = (await liveTokens(ctx.deps)).map((t) => tokenInfo(t, now));
      return ctx.deps.config.admin.admin_token ? [MASTER_INFO, ...list] : list;
    },
    GetAdminTokenInfo: async (ctx) => tokenInfo(await queriedToken(ctx)),
    GetCurrentAdminTokenInfo: async (ctx) => {
      const c = callerOf(ctx.req);
      return !c || c.kind === 'master' ? MASTER_INFO : tokenInfo(c.token);
    },
    CreateAdminToken: async (ctx) => {
      const store = ctx.deps.store;
      const now = Date.now();
      const name = nameOf(ctx.body) ?? 'Unnamed token';
      const scope = scopeOf(ctx, known()) ?? [];
      const expiration = expirationOf(ctx.body, now) ?? null;
      const { id, token } = generateToken();
      const t = store.ts();
      const entry: AdminToken = {
        id,
        created: now,
        hash: hashToken(token),
        name: { t, v: name },
        scope: { t, v: scope },
        expiration: { t, v: expiration },
        deleted: { t, v: false },
      };
      await store.adminTokens.insert(entry);
      // The only time the secret exists outside the caller: it is not stored.
      return { ...tokenInfo(entry, now), secretToken: token };
    },
    UpdateAdminToken: async (ctx) => {
      const store = ctx.deps.store;
      const cur = await queriedToken(ctx);
      const now = Date.now();
      const name = nameOf(ctx.body);
      const scope = scopeOf(ctx, known());
      const expiration = expirationOf(ctx.body, now);
      const c = callerOf(ctx.req);
      if (c?.kind === 'token' && !cur.scope.v.every((op) => scopeAllows(c.token.scope.v, op)))
        throw new AdminError(403, 'Forbidden', 'your token cannot change a token whose scope is wider than its own');
      const t = store.ts();
      const next: AdminToken = { ...cur };
      if (name !== undefined) next.name = { t: Math.max(t, cur.name.t + 1), v: name };
      if (scope !== undefined) next.scope = { t: Math.max(t, cur.scope.t + 1), v: scope };
      if (expiration !== undefined) next.expiration = { t: Math.max(t, cur.expiration.t + 1), v: expiration };
      return tokenInfo(await store.adminTokens.insert(next), now);
    },
    DeleteAdminToken: async (ctx) => {
      const store = ctx.deps.store;
      const cur = await queriedToken(ctx);
      const c = callerOf(ctx.req);
      if (c?.kind === 'token' && !cur.scope.v.every((op) => scopeAllows(c.token.scope.v, op)))
        throw new AdminError(403, 'Forbidden', 'your token cannot delete a token whose scope is wider than its own');
      await store.adminTokens.insert({ ...cur, deleted: { t: Math.max(store.ts(), cur.deleted.t + 1), v: true } });
      return undefined;
    },
  };
}

export const TOKEN_READS = ['ListAdminTokens', 'GetAdminTokenInfo', 'GetCurrentAdminTokenInfo'];
