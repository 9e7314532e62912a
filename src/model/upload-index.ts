// The local index of unfinished multipart uploads by expiry deadline, kept by the object table's
// update hook on the nodes holding the bucket's partition: the expiry sweep reads only what is due.
import type { Tree } from '../db/db.ts';
import type { Bucket } from './bucket.ts';
import type { ObjectEntry } from './object.ts';
import type { Store } from './store.ts';

export interface UploadDue {
  bucket: string;
  key: string;
  uploadId: string;
  created: number;
}

const trees = new WeakMap<Store, Tree<UploadDue>>();

/** deadline (ms, 8 bytes big-endian) + upload id → the upload. */
export function uploadIndex(store: Store): Tree<UploadDue> {
  let t = trees.get(store);
  if (!t) {
    t = store.db.tree<UploadDue>('upload_expiry');
    trees.set(store, t);
  }
  return t;
}

export function indexKey(deadline: number, uploadId: string): Buffer {
  const k = Buffer.alloc(8 + Buffer.byteLength(uploadId));
  k.writeBigUInt64BE(BigInt(Math.max(0, Math.floor(deadline))), 0);
  k.write(uploadId, 8);
  return k;
}

/** How long an unfinished upload of `b` may stay (ms), or null for never. A bucket this node does
 *  not know yet gets the site setting: the sweep re-reads the bucket when the deadline comes. */
export function uploadExpiryMs(store: Store, b: Bucket | undefined): number | null {
  const l = store.limits;
  const secs = !b || b.website.v !== null ? l.site_incomplete_upload_expiry_secs : l.bucket_incomplete_upload_expiry_secs;
  return secs > 0 ? secs * 1000 : null;
}

/** Object-table hook (inside its transaction): a new unfinished upload gets its deadline. Finished
 *  uploads are not looked up here; the sweep drops their entries when they come due. */
export function indexUploads(store: Store, before: ObjectEntry | undefined, after: ObjectEntry): void {
  for (const v of after.versions) {
    if (!v.multipart || v.state !== 'uploading') continue;
    if (before?.versions.some((x) => x.uuid === v.uuid)) continue;
    const b = store.buckets.local.get('bucket', after.bucket);
    const ms = uploadExpiryMs(store, b && !b.deleted.v ? b : undefined);
    if (ms === null) continue;
    uploadIndex(store).put(indexKey(v.ts + ms, v.uuid), { bucket: after.bucket, key: after.key, uploadId: v.uuid, created: v.ts });
  }
}
