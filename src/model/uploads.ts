// Ending unfinished multipart uploads outside an S3 request: the expiry sweep (due entries of the
// upload index only) and the admin CleanupIncompleteUploads; both abort as S3's Abort does.
import type { Store } from './store.ts';
import { SerialByKey } from '../util/serial-by-key.ts';
import { uploadExpiryMs, uploadIndex, indexKey } from './upload-index.ts';

/** Serialises the finishing steps of one upload on this node, so two Completes (or a Complete and
 *  an Abort) cannot both pass the "still open" check and merge different part lists into one version. */
const finishing = new SerialByKey();
export function withUploadLock<T>(uploadId: string, fn: () => Promise<T>): Promise<T> {
  return finishing.run(uploadId, fn);
}

/** Aborts an upload (caller holds its lock): the version turns 'aborted' (its parts leave the
 *  bucket's usage) and the mpu entry is deleted (its part versions, hence their blocks, are
 *  released). Returns whether an open upload was found. */
export async function abortUploadLocked(store: Store, bucketId: string, key: string, uploadId: string): Promise<boolean> {
  const m = await store.mpus.get(uploadId, '');
  const o = await store.objects.get(bucketId, key);
  const v = o?.versions.find((x) => x.uuid === uploadId && x.multipart && x.state === 'uploading');
  if (v) await store.objects.insert({ bucket: bucketId, key, versions: [{ ...v, state: 'aborted', uploaded: undefined }] });
  const open = m !== undefined && !m.deleted && m.bucket === bucketId && m.key === key;
  if (open) await store.mpus.insert({ uploadId, bucket: bucketId, key, deleted: true, parts: {} });
  return open || v !== undefined;
}

export function abortUpload(store: Store, bucketId: string, key: string, uploadId: string): Promise<boolean> {
  return withUploadLock(uploadId, () => abortUploadLocked(store, bucketId, key, uploadId));
}

/** Aborts the uploads whose deadline has passed, at most `limit` per pass; an entry whose bucket
 *  now allows longer (or forever) is moved (or dropped) instead. Returns how many it aborted. */
export async function sweepExpiredUploads(store: Store, limit = 1000): Promise<number> {
  const now = store.clock.now();
  const idx = uploadIndex(store);
  const due = [...idx.range({ end: indexKey(now + 1, ''), limit })];
  let n = 0;
  for (const { key, value: u } of due) {
    const b = await store.bucketById(u.bucket);
    const ms = b ? uploadExpiryMs(store, b) : 0; // a deleted bucket's uploads go now
    if (ms === null) {
      store.db.transaction(() => idx.remove(key));
      continue;
    }
    if (u.created + ms > now) {
      store.db.transaction(() => {
        idx.remove(key);
        idx.put(indexKey(u.created + ms, u.uploadId), u);
      });
      continue;
    }
    if (await abortUpload(store, u.bucket, u.key, u.uploadId)) n++;
    store.db.transaction(() => idx.remove(key));
  }
  return n;
}

/** Garage's CleanupIncompleteUploads: aborts the bucket's unfinished uploads started more than
 *  `olderThanMs` ago. Reads the bucket's objects (through the replicas in a cluster). */
export async function cleanupIncompleteUploads(store: Store, bucketId: string, olderThanMs: number): Promise<number> {
  const cutoff = store.clock.now() - olderThanMs;
  let n = 0;
  let after: string | undefined;
  for (;;) {
    const page = await store.objects.range(bucketId, { limit: 1000, after });
    for (const o of page) {
      for (const v of o.versions) {
        if (!v.multipart || v.state !== 'uploading' || v.ts > cutoff) continue;
        if (await abortUpload(store, bucketId, o.key, v.uuid)) n++;
      }
    }
    if (page.length < 1000) return n;
    after = page.at(-1)!.key;
  }
}
