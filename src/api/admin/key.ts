// Access key operations (ListKeys, GetKeyInfo, CreateKey, ImportKey, UpdateKey, DeleteKey) with
// Garage admin API v2 request and response shapes, expiration (`expiration`, `neverExpires`) included,
// and Grenier's self-service site allowance (`sitesMax`).
import type { Store } from '../../model/store.ts';
import { keyExpired, type AccessKey } from '../../model/key.ts';
import { ownLiveSites, SITES_MAX_LIMIT } from '../../model/site-self.ts';
import { localAliasesByBucket } from './local-alias.ts';
import { bucketAliases, createKey, deleteKey, findKey, importKey } from '../../model/bucket-ops.ts';
import { AdminError, badRequest, bool, obj, str } from './http.ts';
import type { AdminCtx, Handler } from './context.ts';

const iso = (t: number): string => new Date(t).toISOString();

/** Garage's expiration fields of a key. */
function expiry(k: AccessKey): { expiration: string | null; expired: boolean } {
  const e = k.expiration?.v ?? null;
  return { expiration: e === null ? null : iso(e), expired: keyExpired(k, Date.now()) };
}

/** The expiration a create or update body asks for: a time, null (never), or undefined (unchanged). */
function expirationOf(body: Record<string, unknown>): number | null | undefined {
  const never = body.neverExpires;
  if (never !== undefined && never !== null && typeof never !== 'boolean') throw badRequest('field "neverExpires" must be true or false');
  const e = body.expiration;
  if (never === true) {
    if (e !== undefined && e !== null) throw badRequest('give "expiration" or "neverExpires": true, not both');
    return null;
  }
  if (e === undefined || e === null) return undefined;
  // RFC 3339: a date and a time with its offset (Date.parse alone accepts much more).
  const t = typeof e === 'string' && /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([Zz]|[+-]\d{2}:\d{2})$/.test(e) ? Date.parse(e) : NaN;
  if (!Number.isFinite(t)) throw badRequest('field "expiration" must be an RFC 3339 date and time, such as 2030-01-31T12:00:00Z');
  return t;
}

export async function keyInfo(store: Store, k: AccessKey, showSecret: boolean): Promise<Record<string, unknown>> {
  const buckets = [];
  const local = localAliasesByBucket(k);
  for (const b of await store.liveBuckets()) {
    const p = b.keys[k.id]?.v ?? { read: false, write: false, owner: false };
    if (!(p.read || p.write || p.owner) && !local.has(b.id)) continue;
    buckets.push({ id: b.id, globalAliases: bucketAliases(b), localAliases: local.get(b.id) ?? [], permissions: { ...p } });
  }
  return {
    accessKeyId: k.id,
    name: k.name.v,
    created: iso(k.created),
    ...expiry(k),
    ...(showSecret ? { secretAccessKey: k.secret } : {}),
    permissions: { createBucket: k.allowCreateBucket.v },
    // Grenier's: Garage's `permissions` keeps its shape.
    sitesMax: k.sitesMax?.v ?? 0,
    ownSites: ownLiveSites(store, k).length,
    buckets,
  };
}

/** The key named by ?id= (exact) or ?search= (id prefix or name), as Garage resolves them. */
async function queriedKey(ctx: AdminCtx): Promise<AccessKey> {
  const id = ctx.query.get('id');
  const search = ctx.query.get('search');
  if (id) {
    const k = await ctx.deps.store.key(id);
    if (!k) throw new AdminError(404, 'NoSuchAccessKey', `no access key with id "${id}"`);
    return k;
  }
  if (search) return findKey(ctx.deps.store, search);
  throw badRequest('missing query parameter "id" or "search"');
}

const listKeys: Handler = async (ctx) => {
  const keys = (await ctx.deps.store.keys.range('key')).filter((k) => !k.deleted.v);
  return keys.map((k) => ({ id: k.id, name: k.name.v, created: iso(k.created), ...expiry(k) }));
};

const getKeyInfo: Handler = async (ctx) => {
  const k = await queriedKey(ctx);
  return keyInfo(ctx.deps.store, k, ctx.query.get('showSecretKey') === 'true');
};

function createBucketFlag(body: Record<string, unknown>, field: 'allow' | 'deny'): boolean | undefined {
  const o = obj(body, field);
  return o ? bool(o, 'createBucket', `${field}.`) : undefined;
}

/** `sitesMax`: how many sites the key may create itself (0: none); undefined: unchanged. */
function sitesMaxOf(body: Record<string, unknown>): number | undefined {
  const v = body.sitesMax;
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0 || v > SITES_MAX_LIMIT) throw badRequest(`field "sitesMax" must be a whole number from 0 to ${SITES_MAX_LIMIT}`);
  return v;
}

const createKeyOp: Handler = async (ctx) => {
  const name = str(ctx.body, 'name') ?? 'Unnamed key';
  const allow = createBucketFlag(ctx.body, 'allow');
  const expiration = expirationOf(ctx.body);
  const sitesMax = sitesMaxOf(ctx.body);
  const store = ctx.deps.store;
  let k = await createKey(store, name, { allowCreateBucket: allow ?? false });
  if (expiration !== undefined && expiration !== null) k = await store.keys.insert({ ...k, expiration: { t: store.ts(), v: expiration } });
  if (sitesMax) k = await store.keys.insert({ ...k, sitesMax: { t: store.ts(), v: sitesMax } });
  return keyInfo(store, k, true);
};

const importKeyOp: Handler = async (ctx) => {
  const id = str(ctx.body, 'accessKeyId', true);
  const secret = str(ctx.body, 'secretAccessKey', true);
  const name = str(ctx.body, 'name') ?? 'Imported key';
  const k = await importKey(ctx.deps.store, id, secret, name);
  return keyInfo(ctx.deps.store, k, false);
};

const updateKey: Handler = async (ctx) => {
  const k = await queriedKey(ctx);
  const name = str(ctx.body, 'name');
  const allow = createBucketFlag(ctx.body, 'allow');
  const deny = createBucketFlag(ctx.body, 'deny');
  if (allow && deny) throw badRequest('"allow.createBucket" and "deny.createBucket" cannot both be true');
  const expiration = expirationOf(ctx.body);
  const sitesMax = sitesMaxOf(ctx.body);
  const store = ctx.deps.store;
  const t = store.ts();
  const next: AccessKey = { ...k };
  if (name !== undefined) next.name = { t, v: name };
  if (expiration !== undefined) next.expiration = { t, v: expiration };
  if (allow) next.allowCreateBucket = { t, v: true };
  if (deny) next.allowCreateBucket = { t, v: false };
  if (sitesMax !== undefined) next.sitesMax = { t: Math.max(t, (k.sitesMax?.t ?? 0) + 1), v: sitesMax };
  return keyInfo(store, await store.keys.insert(next), false);
};

const deleteKeyOp: Handler = async (ctx) => {
  const k = await queriedKey(ctx);
  await deleteKey(ctx.deps.store, k);
  return undefined;
};

export const KEY_OPS: Record<string, Handler> = {
  ListKeys: listKeys,
  GetKeyInfo: getKeyInfo,
  CreateKey: createKeyOp,
  ImportKey: importKeyOp,
  UpdateKey: updateKey,
  DeleteKey: deleteKeyOp,
};
