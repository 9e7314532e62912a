// InspectObject (Garage admin v2): every version stored for one key of a bucket, with its state,
// metadata and block list — what an operator reads when an object does not come back as expected.
import type { Handler } from './context.ts';
import { AdminError, badRequest } from './http.ts';
import type { ObjectVersion } from '../../model/object.ts';
import type { Store } from '../../model/store.ts';

async function blocksOf(store: Store, v: ObjectVersion): Promise<{ partNumber: number; offset: number; hash: string; size: number }[] | undefined> {
  if (v.inline || v.deleteMarker) return undefined;
  const list = v.blocks ?? (await store.versions.get(v.uuid, ''))?.blocks;
  return list?.map((b) => ({ partNumber: b.part, offset: b.offset, hash: Buffer.from(b.hash).toString('hex'), size: b.size }));
}

const inspectObject: Handler = async ({ deps, query }) => {
  const bucketId = query.get('bucketId');
  const key = query.get('key');
  if (!bucketId) throw badRequest('missing query parameter "bucketId"');
  if (key === null) throw badRequest('missing query parameter "key"');
  const store = deps.store;
  const b = await store.bucketById(bucketId);
  if (!b) throw new AdminError(404, 'NoSuchBucket', `no bucket with id "${bucketId}"`);
  const o = await store.objects.get(b.id, key);
  if (!o || o.versions.length === 0) throw new AdminError(404, 'NoSuchKey', `no object "${key.slice(0, 200)}" in bucket ${b.id}`);
  const versions = [];
  for (const v of [...o.versions].sort((x, y) => x.ts - y.ts)) {
    versions.push({
      uuid: v.uuid,
      timestamp: new Date(v.ts).toISOString(),
      // Grenier stores no SSE-C objects.
      encrypted: false,
      uploading: v.state === 'uploading',
      aborted: v.state === 'aborted',
      deleteMarker: v.deleteMarker,
      inline: v.inline !== undefined,
      size: v.meta?.size ?? null,
      etag: v.meta?.etag || null,
      headers: v.meta?.headers ?? [],
      blocks: await blocksOf(store, v),
      multipart: v.multipart,
      nullVersion: v.nullVersion,
    });
  }
  return { bucketId: b.id, key, versions };
};

export const INSPECT_OPS: Record<string, Handler> = { InspectObject: inspectObject };
