// Scoped admin tokens (Garage admin API v2): a name per person, the operations it may call, an
// optional expiry, in a table replicated everywhere. Only SHA-256 of the token is stored: a copy
// of the database gives no one a usable token.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { mergeLww, type Lww } from '../table/crdt.ts';
import type { TableSchema } from '../table/schema.ts';
import { sha256 } from '../util/hash.ts';

/** Names of a token, in characters. */
export const TOKEN_NAME_CHARS_MAX = 128;
/** Operations in one token's scope (the admin API has fewer than 100). */
export const TOKEN_SCOPE_ITEMS_MAX = 200;
/** An operation name in a scope. */
export const TOKEN_SCOPE_ITEM_CHARS_MAX = 64;

export interface AdminToken {
  /** Public id: 24 hex characters, the part of the token before the dot. */
  id: string;
  created: number;
  /** hex SHA-256 of the whole token ("<id>.<secret>"); fixed at creation. */
  hash: string;
  name: Lww<string>;
  /** Operation names, or ["*"] for all. */
  scope: Lww<string[]>;
  /** Epoch ms after which the token is refused; null: never. */
  expiration: Lww<number | null>;
  deleted: Lww<boolean>;
}

const isLww = (x: unknown): x is Lww<unknown> => typeof x === 'object' && x !== null && typeof (x as Lww<unknown>).t === 'number';

export const adminTokenSchema: TableSchema<AdminToken> = {
  name: 'admin_token',
  replication: 'everywhere',
  partitionKey: () => 'admin_token',
  sortKey: (k) => k.id,
  merge: (a, b) => ({
    id: a.id,
    created: Math.min(a.created, b.created),
    // Identical on every replica; min() keeps the merge deterministic if ever not.
    hash: a.hash < b.hash ? a.hash : b.hash,
    name: mergeLww(a.name, b.name),
    scope: mergeLww(a.scope, b.scope),
    expiration: mergeLww(a.expiration, b.expiration),
    deleted: mergeLww(a.deleted, b.deleted),
  }),
  isTombstone: (k) => k.deleted.v,
  validate(e: unknown) {
    const k = e as AdminToken;
    if (!isTokenId(k.id)) throw new Error('id is not 24 hex characters');
    if (typeof k.hash !== 'string' || !/^[0-9a-f]{64}$/.test(k.hash)) throw new Error('hash is not 64 hex characters');
    if (typeof k.created !== 'number') throw new Error('created is not a number');
    for (const f of ['name', 'scope', 'expiration', 'deleted'] as const) if (!isLww(k[f])) throw new Error(`${f} is not a register`);
    if (typeof k.name.v !== 'string' || k.name.v.length > TOKEN_NAME_CHARS_MAX) throw new Error('bad name');
    const s = k.scope.v;
    if (!Array.isArray(s) || s.length > TOKEN_SCOPE_ITEMS_MAX || s.some((x) => typeof x !== 'string' || x.length > TOKEN_SCOPE_ITEM_CHARS_MAX)) throw new Error('bad scope');
    if (k.expiration.v !== null && typeof k.expiration.v !== 'number') throw new Error('bad expiration');
    if (typeof k.deleted.v !== 'boolean') throw new Error('bad deleted flag');
  },
};

export function isTokenId(id: unknown): id is string {
  return typeof id === 'string' && /^[0-9a-f]{24}$/.test(id);
}

export function hashToken(token: string): string {
  return sha256(token).toString('hex');
}

/** A new token: the secret string (shown once) and its id. */
export function generateToken(): { id: string; token: string } {
  const id = randomBytes(12).toString('hex');
  return { id, token: `${id}.${randomBytes(32).toString('base64url')}` };
}

/** The id part of a presented token, if it has the shape of one. */
export function tokenIdOf(token: string): string | undefined {
  const dot = token.indexOf('.');
  const id = dot < 0 ? '' : token.slice(0, dot);
  return isTokenId(id) ? id : undefined;
}

/** Whether `token` is the one `entry` was created for (constant time in the token's content). */
export function tokenMatchesEntry(token: string, entry: AdminToken): boolean {
  return timingSafeEqual(sha256(token), Buffer.from(entry.hash, 'hex'));
}

export function tokenExpired(t: AdminToken, now: number): boolean {
  return t.expiration.v !== null && t.expiration.v <= now;
}

export function scopeAllows(scope: readonly string[], op: string): boolean {
  return scope.includes('*') || scope.includes(op);
}
