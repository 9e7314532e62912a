// Local (per-key) bucket aliases, as Garage's: a name only one access key resolves (S3 looks it up
// before the global aliases), kept in the key's entry. Listed from the key table, which is
// replicated everywhere and small.
import type { Store } from '../../model/store.ts';
import type { AccessKey } from '../../model/key.ts';
import type { Bucket } from '../../model/bucket.ts';
import { bucketAliases } from '../../model/bucket-ops.ts';
import { bucketNameError } from '../../model/bucket.ts';
import { localAliasOf } from '../../model/key.ts';
import { AdminError } from './http.ts';

/** Local aliases of `k`, by bucket id. */
export function localAliasesByBucket(k: AccessKey): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (const [name, a] of Object.entries(k.localAliases ?? {}).sort(([x], [y]) => (x < y ? -1 : 1))) {
    if (!a.v) continue;
    m.set(a.v, [...(m.get(a.v) ?? []), name]);
  }
  return m;
}

/** Every live key's local aliases of bucket `bucketId`: [{accessKeyId, alias}]. */
export async function localAliasesOfBucket(store: Store, bucketId: string): Promise<{ accessKeyId: string; alias: string }[]> {
  const out: { accessKeyId: string; alias: string }[] = [];
  for (const k of await store.keys.range('key')) {
    if (k.deleted.v) continue;
    for (const alias of localAliasesByBucket(k).get(bucketId) ?? []) out.push({ accessKeyId: k.id, alias });
  }
  return out;
}

export async function addLocalAlias(store: Store, b: Bucket, k: AccessKey, name: string): Promise<void> {
  const why = bucketNameError(name);
  if (why) throw new AdminError(400, 'InvalidBucketName', `invalid alias "${name.slice(0, 100)}": ${why}`);
  const cur = localAliasOf(k, name);
  if (cur && cur !== b.id) throw new AdminError(409, 'BucketAlreadyExists', `key ${k.id} already has the local alias "${name}" for another bucket`);
  await store.keys.insert({ ...k, localAliases: { ...k.localAliases, [name]: { t: store.ts(), v: b.id } } });
}

export async function removeLocalAlias(store: Store, b: Bucket, k: AccessKey, name: string): Promise<void> {
  if (localAliasOf(k, name) !== b.id) throw new AdminError(404, 'NoSuchAlias', `key ${k.id} has no local alias "${name.slice(0, 100)}" for this bucket`);
  // A bucket keeps at least one name (as Garage): the last one goes with DeleteBucket.
  if (bucketAliases(b).length === 0 && (await localAliasesOfBucket(store, b.id)).length <= 1)
    throw new AdminError(409, 'LastAlias', `"${name}" is the bucket's last alias; delete the bucket instead`);
  await store.keys.insert({ ...k, localAliases: { ...k.localAliases, [name]: { t: store.ts(), v: null } } });
}
