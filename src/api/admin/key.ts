// Access key operations (ListKeys, GetKeyInfo, CreateKey, ImportKey, UpdateKey, DeleteKey) with
// Garage admin API v2 request and response shapes.
import type { Store } from '../../model/store.ts';
import type { AccessKey } from '../../model/key.ts';
import { bucketAliases, createKey, deleteKey, findKey, importKey } from '../../model/bucket-ops.ts';
import { AdminError, badRequest, bool, obj, str } from './http.ts';
import type { AdminCtx, Handler } from './context.ts';

const iso = (t: number): string => new Date(t).toISOString();

export async function keyInfo(store: Store, k: AccessKey, showSecret: boolean): Promise<Record<string, unknown>> {
  const buckets = [];
  for (const b of await store.liveBuckets()) {
    const p = b.keys[k.id]?.v;
    if (!p || !(p.read || p.write || p.owner)) continue;
    buckets.push({ id: b.id, globalAliases: bucketAliases(b), localAliases: [], permissions: { ...p } });
  }
  return {
    accessKeyId: k.id,
    name: k.name.v,
    created: iso(k.created),
    expiration: null,
    expired: false,
    ...(showSecret ? { secretAccessKey: k.secret } : {}),
    permissions: { createBucket: k.allowCreateBucket.v },
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
  return keys.map((k) => ({ id: k.id, name: k.name.v, created: iso(k.created), expiration: null, expired: false }));
};

const getKeyInfo: Handler = async (ctx) => {
  const k = await queriedKey(ctx);
  return keyInfo(ctx.deps.store, k, ctx.query.get('showSecretKey') === 'true');
};

function createBucketFlag(body: Record<string, unknown>, field: 'allow' | 'deny'): boolean | undefined {
  const o = obj(body, field);
  return o ? bool(o, 'createBucket', `${field}.`) : undefined;
}

const createKeyOp: Handler = async (ctx) => {
  const name = str(ctx.body, 'name') ?? 'Unnamed key';
  const allow = createBucketFlag(ctx.body, 'allow');
  const k = await createKey(ctx.deps.store, name, { allowCreateBucket: allow ?? false });
  return keyInfo(ctx.deps.store, k, true);
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
  const store = ctx.deps.store;
  const t = store.ts();
  const next: AccessKey = { ...k };
  if (name !== undefined) next.name = { t, v: name };
  if (allow) next.allowCreateBucket = { t, v: true };
  if (deny) next.allowCreateBucket = { t, v: false };
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
