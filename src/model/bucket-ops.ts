// Bucket and key life-cycle operations shared by the S3 API, the admin API and the CLI:
// creating, aliasing, permission grants and deletion, each as CRDT-safe inserts.
import type { Store } from './store.ts';
import { newBucket, bucketNameError, type Bucket, type Perm } from './bucket.ts';
import { generateKeyPair, keyIdError, type AccessKey } from './key.ts';
import { objectSchema } from './object.ts';
import { abortUpload } from './uploads.ts';
import { tenantBucketNameRefusal } from './hosts.ts';
import { ModelError } from './errors.ts';
import { countLocked, describeLocked, emptyLockedCount } from './locked-versions.ts';

export interface CreateBucketOptions {
  /** Set when a tenant creates the bucket (S3 CreateBucket): the name must not be under these
   *  root domains nor a host an admin gave, and it is not given as a host (model/hosts.ts).
   *  Unset: an admin's creation (admin API, site workflow), whose name is a given host. */
  tenant?: { rootDomains: (string | undefined)[] };
}

export async function createBucket(store: Store, name: string, owner?: AccessKey, opts: CreateBucketOptions = {}): Promise<Bucket> {
  const why = bucketNameError(name);
  if (why) throw new ModelError('InvalidBucketName', `invalid bucket name "${name}": ${why}`);
  if (opts.tenant) {
    const no = tenantBucketNameRefusal(store, name, opts.tenant.rootDomains);
    if (no) throw new ModelError(no.code, no.message);
  }
  const existing = await store.bucketByName(name);
  if (existing) {
    const own = owner && existing.keys[owner.id]?.v.owner;
    throw new ModelError(own ? 'BucketAlreadyOwnedByYou' : 'BucketAlreadyExists', `bucket "${name}" already exists`);
  }
  const t = store.ts();
  const b = newBucket(store.newUuid() + store.newUuid().slice(0, 32), t);
  b.aliases[name] = { t, v: true };
  if (owner) b.keys[owner.id] = { t, v: { read: true, write: true, owner: true } };
  await store.buckets.insert(b);
  await store.aliases.insert({ name, bucket: { t, v: b.id }, given: { t, v: opts.tenant ? null : b.id } });
  return b;
}

/** Pages (of 1000 entries) a refused DeleteBucket reads to count locked versions. */
const LOCK_COUNT_PAGES_MAX = 10;

/** Deletes an empty bucket and frees its aliases. */
export async function deleteBucket(store: Store, b: Bucket): Promise<void> {
  // Entries that are only tombstones (deleted objects awaiting GC) do not make a bucket non-empty,
  // nor do unfinished multipart uploads: as on AWS, they are aborted with the bucket.
  const uploads: { key: string; uploadId: string }[] = [];
  let after: string | undefined;
  let notEmpty = false;
  let partial = false;
  // Counted to tell the caller when object lock is what keeps versions (they cannot just be deleted).
  const locked = emptyLockedCount();
  const now = Date.now();
  for (let page = 0; ; page++) {
    const objs = await store.objects.range(b.id, { limit: 1000, after });
    for (const o of objs) {
      if (objectSchema.isTombstone(o)) continue;
      const live = o.versions.filter((v) => !(v.state === 'aborted' || (v.state === 'complete' && v.deleteMarker && v.nullVersion)));
      if (!live.every((v) => v.multipart && v.state === 'uploading')) {
        notEmpty = true;
        for (const v of live) countLocked(locked, v, now);
      }
      if (!notEmpty) for (const v of live) uploads.push({ key: o.key, uploadId: v.uuid });
    }
    // Without lock configuration no version can be locked: the first non-empty page decides;
    // with it, the count looks at most LOCK_COUNT_PAGES_MAX pages (the answer then says "at least").
    if (objs.length < 1000 || (notEmpty && (!b.objectLock?.v?.enabled || page + 1 >= LOCK_COUNT_PAGES_MAX))) {
      partial = objs.length === 1000;
      break;
    }
    after = objs.at(-1)!.key;
  }
  if (notEmpty)
    throw new ModelError(
      'BucketNotEmpty',
      `The bucket you tried to delete is not empty (objects or versions remain${locked.total > 0 ? `; ${partial ? 'at least ' : ''}${describeLocked(locked)} cannot be deleted while locked` : ''})`,
    );
  const t = store.ts();
  for (const [name, a] of Object.entries(b.aliases)) {
    if (!a.v) continue;
    const cur = await store.aliases.get('alias', name);
    if (cur?.bucket.v === b.id) await store.aliases.insert({ name, bucket: { t, v: null }, given: { t, v: null } });
  }
  await store.buckets.insert({ ...b, deleted: { t, v: true } });
  // Their parts are released now (the expiry sweep would also abort them, a deleted bucket's first).
  for (const u of uploads) await abortUpload(store, b.id, u.key, u.uploadId);
}

/** An admin's alias (admin API): the name becomes a host given to the bucket (model/hosts.ts);
 *  re-adding an existing alias marks it so (for aliases made before that was recorded). */
export async function addAlias(store: Store, b: Bucket, name: string): Promise<void> {
  const why = bucketNameError(name);
  if (why) throw new ModelError('InvalidBucketName', `invalid alias "${name}": ${why}`);
  const cur = await store.bucketByName(name);
  if (cur && cur.id !== b.id) throw new ModelError('BucketAlreadyExists', `alias "${name}" already points to another bucket`);
  const t = store.ts();
  await store.aliases.insert({ name, bucket: { t, v: b.id }, given: { t, v: b.id } });
  await store.buckets.insert({ ...b, aliases: { ...b.aliases, [name]: { t, v: true } } });
}

export async function removeAlias(store: Store, b: Bucket, name: string): Promise<void> {
  const cur = await store.aliases.get('alias', name);
  if (cur?.bucket.v !== b.id) throw new ModelError('NoSuchAlias', `alias "${name}" does not point to this bucket`);
  const live = Object.entries(b.aliases).filter(([, a]) => a.v);
  if (live.length <= 1) throw new ModelError('LastAlias', `"${name}" is the bucket's last alias; delete the bucket instead`);
  const t = store.ts();
  await store.aliases.insert({ name, bucket: { t, v: null }, given: { t, v: null } });
  await store.buckets.insert({ ...b, aliases: { ...b.aliases, [name]: { t, v: false } } });
}

/** Grants (allow=true) or revokes the given flags, keeping the others. */
export async function setPermission(store: Store, b: Bucket, keyId: string, flags: Partial<Perm>, allow: boolean): Promise<Bucket> {
  const cur = b.keys[keyId]?.v ?? { read: false, write: false, owner: false };
  const next: Perm = { ...cur };
  for (const f of ['read', 'write', 'owner'] as const) if (flags[f]) next[f] = allow;
  return store.buckets.insert({ ...b, keys: { ...b.keys, [keyId]: { t: store.ts(), v: next } } });
}

export function bucketAliases(b: Bucket): string[] {
  return Object.entries(b.aliases)
    .filter(([, a]) => a.v)
    .map(([n]) => n)
    .sort();
}

export async function createKey(store: Store, name: string, opts: { allowCreateBucket?: boolean } = {}): Promise<AccessKey> {
  const { id, secret } = generateKeyPair();
  return importKey(store, id, secret, name, opts);
}

export async function importKey(store: Store, id: string, secret: string, name: string, opts: { allowCreateBucket?: boolean } = {}): Promise<AccessKey> {
  const why = keyIdError(id);
  if (why) throw new ModelError('InvalidKey', `invalid access key id "${id}": ${why}`);
  if (!/^[0-9a-f]{64}$/.test(secret)) throw new ModelError('InvalidKey', 'secret keys are 64 hex characters');
  if (await store.keys.get('key', id)) throw new ModelError('KeyAlreadyExists', `access key ${id} already exists (or existed)`);
  const t = store.ts();
  const k: AccessKey = {
    id,
    secret,
    created: t,
    name: { t, v: name },
    deleted: { t, v: false },
    allowCreateBucket: { t, v: opts.allowCreateBucket ?? false },
  };
  return store.keys.insert(k);
}

export async function deleteKey(store: Store, k: AccessKey): Promise<void> {
  const t = store.ts();
  for (const b of await store.liveBuckets()) {
    if (b.keys[k.id]) await store.buckets.insert({ ...b, keys: { ...b.keys, [k.id]: { t, v: { read: false, write: false, owner: false } } } });
  }
  await store.keys.insert({ ...k, deleted: { t, v: true } });
}

/** Finds a key by exact id, or by a unique id prefix or exact name (CLI convenience, like Garage). */
export async function findKey(store: Store, pattern: string): Promise<AccessKey> {
  const exact = await store.key(pattern);
  if (exact) return exact;
  const all = (await store.keys.range('key')).filter((k) => !k.deleted.v);
  const m = all.filter((k) => k.id.startsWith(pattern) || k.name.v === pattern);
  if (m.length === 1) return m[0]!;
  if (m.length === 0) throw new ModelError('NoSuchKey', `no access key matches "${pattern}"`);
  throw new ModelError('AmbiguousKey', `"${pattern}" matches ${m.length} keys; give more of the id`);
}

/** Finds a bucket by alias, full id or unique id prefix. */
export async function findBucket(store: Store, pattern: string): Promise<Bucket> {
  const byName = await store.bucketByName(pattern);
  if (byName) return byName;
  const all = await store.liveBuckets();
  const m = all.filter((b) => b.id.startsWith(pattern));
  if (m.length === 1 && pattern.length >= 6) return m[0]!;
  if (m.length > 1) throw new ModelError('AmbiguousBucket', `"${pattern}" matches ${m.length} buckets`);
  throw new ModelError('NoSuchBucket', `no bucket named or with id "${pattern}"`);
}
