// Bucket operations (list, info, create, update, delete), global and local (per-key) aliases and
// key permissions, with Garage admin API v2 shapes.
import type { Store } from '../../model/store.ts';
import type { Bucket, Perm, Quotas, WebsiteConfig } from '../../model/bucket.ts';
import {
  addAlias,
  bucketAliases,
  createBucket,
  deleteBucket,
  removeAlias,
  setPermission,
} from '../../model/bucket-ops.ts';
import { AdminError, badRequest, bool, limit, obj, str } from './http.ts';
import { addLocalAlias, localAliasesByBucket, removeLocalAlias } from './local-alias.ts';
import type { AdminCtx, Handler } from './context.ts';
import { listBucketPage, wantsPage } from './bucket-list.ts';
import { findBucketBounded } from './bucket-find.ts';

export async function bucketInfo(store: Store, b: Bucket): Promise<Record<string, unknown>> {
  const keys = [];
  for (const [id, p] of Object.entries(b.keys)) {
    if (!(p.v.read || p.v.write || p.v.owner)) continue;
    const k = await store.key(id);
    if (!k) continue;
    keys.push({ accessKeyId: id, name: k.name.v, permissions: { ...p.v }, bucketLocalAliases: localAliasesByBucket(k).get(b.id) ?? [] });
  }
  keys.sort((a, z) => (a.accessKeyId < z.accessKeyId ? -1 : 1));
  // In a cluster only the nodes holding the bucket's objects count them: ask through usage().
  const usage = await store.usage(b.id);
  const w = b.website.v;
  return {
    id: b.id,
    created: new Date(b.created).toISOString(),
    globalAliases: bucketAliases(b),
    websiteAccess: w !== null,
    websiteConfig: w ? { indexDocument: w.indexDocument ?? null, errorDocument: w.errorDocument ?? null } : null,
    keys,
    objects: usage.objects,
    bytes: usage.bytes,
    unfinishedUploads: 0,
    unfinishedMultipartUploads: 0,
    unfinishedMultipartUploadParts: 0,
    unfinishedMultipartUploadBytes: 0,
    quotas: { ...b.quotas.v },
  };
}

async function byId(store: Store, id: string, field: string): Promise<Bucket> {
  const b = await store.bucketById(id);
  if (!b) throw new AdminError(404, 'NoSuchBucket', `no bucket with ${field} "${id}"`);
  return b;
}

/** The bucket named by ?id=, ?globalAlias= or ?search= (alias or id prefix). */
async function queriedBucket(ctx: AdminCtx): Promise<Bucket> {
  const q = ctx.query;
  const store = ctx.deps.store;
  const id = q.get('id');
  if (id) return byId(store, id, 'id');
  const alias = q.get('globalAlias');
  if (alias) {
    const b = await store.bucketByName(alias);
    if (!b) throw new AdminError(404, 'NoSuchBucket', `no bucket with global alias "${alias}"`);
    return b;
  }
  const search = q.get('search');
  if (search) return findBucketBounded(store, search);
  throw badRequest('missing query parameter "id", "globalAlias" or "search"');
}

function noLocalAlias(body: Record<string, unknown>): void {
  if (body.localAlias !== undefined && body.localAlias !== null)
    throw badRequest('a bucket is created with a "globalAlias"; give it local aliases with AddBucketAlias {bucketId, localAlias, accessKeyId}');
}

const listBuckets: Handler = async (ctx) => {
  const store = ctx.deps.store;
  // With ?limit=, ?start= or ?search=: one page; without, Garage's answer (every bucket).
  if (wantsPage(ctx.query)) return listBucketPage(store, ctx.query);
  const all = await store.liveBuckets();
  const local = new Map<string, { accessKeyId: string; alias: string }[]>();
  for (const k of await store.keys.range('key')) {
    if (k.deleted.v) continue;
    for (const [bid, names] of localAliasesByBucket(k)) local.set(bid, [...(local.get(bid) ?? []), ...names.map((alias) => ({ accessKeyId: k.id, alias }))]);
  }
  return all.map((b) => ({ id: b.id, created: new Date(b.created).toISOString(), globalAliases: bucketAliases(b), localAliases: local.get(b.id) ?? [] }));
};

const getBucketInfo: Handler = async (ctx) => bucketInfo(ctx.deps.store, await queriedBucket(ctx));

const createBucketOp: Handler = async (ctx) => {
  noLocalAlias(ctx.body);
  const alias = str(ctx.body, 'globalAlias', true);
  return bucketInfo(ctx.deps.store, await createBucket(ctx.deps.store, alias));
};

function website(ctx: AdminCtx, wa: Record<string, unknown>): WebsiteConfig | null {
  const enabled = bool(wa, 'enabled', 'websiteAccess.');
  if (enabled === undefined) throw badRequest('missing field "websiteAccess.enabled"');
  const indexDocument = str(wa, 'indexDocument');
  const errorDocument = str(wa, 'errorDocument');
  if (!enabled) {
    if (indexDocument !== undefined || errorDocument !== undefined)
      throw badRequest('"websiteAccess.indexDocument" and "errorDocument" only apply when "enabled" is true');
    return null;
  }
  if (indexDocument === '') throw badRequest('field "websiteAccess.indexDocument" must not be empty');
  // Garage requires indexDocument; defaulting to the configured index is friendlier and means the same.
  const w: WebsiteConfig = { indexDocument: indexDocument ?? ctx.deps.config.s3_web.index };
  if (errorDocument) w.errorDocument = errorDocument;
  return w;
}

const updateBucket: Handler = async (ctx) => {
  const store = ctx.deps.store;
  const b = await queriedBucket(ctx);
  const wa = obj(ctx.body, 'websiteAccess');
  const q = obj(ctx.body, 'quotas');
  const t = store.ts();
  const next: Bucket = { ...b };
  if (wa) next.website = { t, v: website(ctx, wa) };
  if (q) {
    const quotas: Quotas = { ...b.quotas.v };
    const maxSize = limit(q, 'maxSize', 'quotas.');
    const maxObjects = limit(q, 'maxObjects', 'quotas.');
    if (maxSize === 0) throw badRequest('field "quotas.maxSize" cannot be zero (use null for no limit)');
    // Garage treats an omitted quota field as "no limit"; the same here, so a body states the whole quota.
    quotas.maxSize = maxSize ?? null;
    quotas.maxObjects = maxObjects ?? null;
    next.quotas = { t, v: quotas };
  }
  return bucketInfo(store, await store.buckets.insert(next));
};

const deleteBucketOp: Handler = async (ctx) => {
  await deleteBucket(ctx.deps.store, await queriedBucket(ctx));
  return undefined;
};

const aliasOp =
  (add: boolean): Handler =>
  async (ctx) => {
    const store = ctx.deps.store;
    const b = await byId(store, str(ctx.body, 'bucketId', true), 'id');
    const local = str(ctx.body, 'localAlias');
    const global = str(ctx.body, 'globalAlias');
    if ((local === undefined) === (global === undefined)) throw badRequest('give either "globalAlias", or "localAlias" with "accessKeyId"');
    if (local !== undefined) {
      const keyId = str(ctx.body, 'accessKeyId', true);
      const k = await store.key(keyId);
      if (!k) throw new AdminError(404, 'NoSuchAccessKey', `no access key with id "${keyId}"`);
      if (add) await addLocalAlias(store, b, k, local);
      else await removeLocalAlias(store, b, k, local);
    } else if (add) await addAlias(store, b, global!);
    else await removeAlias(store, b, global!);
    return bucketInfo(store, (await store.bucketById(b.id))!);
  };

const permOp =
  (allow: boolean): Handler =>
  async (ctx) => {
    const store = ctx.deps.store;
    const b = await byId(store, str(ctx.body, 'bucketId', true), 'id');
    const keyId = str(ctx.body, 'accessKeyId', true);
    if (!(await store.key(keyId))) throw new AdminError(404, 'NoSuchAccessKey', `no access key with id "${keyId}"`);
    const p = obj(ctx.body, 'permissions', true)!;
    const flags: Partial<Perm> = {};
    for (const f of ['read', 'write', 'owner'] as const) flags[f] = bool(p, f, 'permissions.') ?? false;
    return bucketInfo(store, await setPermission(store, b, keyId, flags, allow));
  };

export const BUCKET_OPS: Record<string, Handler> = {
  ListBuckets: listBuckets,
  GetBucketInfo: getBucketInfo,
  CreateBucket: createBucketOp,
  UpdateBucket: updateBucket,
  DeleteBucket: deleteBucketOp,
  AddBucketAlias: aliasOp(true),
  RemoveBucketAlias: aliasOp(false),
  AllowBucketKey: permOp(true),
  DenyBucketKey: permOp(false),
};
