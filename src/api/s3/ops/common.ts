// Pieces shared by the operations that create object versions (PUT, copy, multipart, POST):
// version stamping, stored headers, quota checks, conditional-write checks.
import type { IncomingHttpHeaders } from 'node:http';
import type { Store } from '../../../model/store.ts';
import type { Bucket } from '../../../model/bucket.ts';
import { liveVersion, type ObjectEntry, type ObjectVersion } from '../../../model/object.ts';
import { S3Error } from '../errors.ts';
import { formatSize } from '../../../util/size.ts';

export function versioningEnabled(b: Bucket): boolean {
  return b.versioning.v === 'Enabled';
}

/** A fresh version: its uuid is the S3 version id unless versioning is off/suspended ("null"). */
export function newVersion(store: Store, b: Bucket, init: Partial<ObjectVersion> = {}): ObjectVersion {
  return {
    uuid: store.newUuid(),
    ts: store.ts(),
    state: 'uploading',
    nullVersion: !versioningEnabled(b),
    deleteMarker: false,
    multipart: false,
    ...init,
  };
}

// putVersion (the object entry's ordering) is the model's commit (model/commit.ts).
export { putVersion } from '../../../model/commit.ts';

/** Starts reading an object entry now, for putVersion later (runs alongside the data upload). */
export function prefetchObject(store: Store, b: Bucket, key: string): Promise<ObjectEntry | null> {
  const p = store.objects.get(b.id, key).then((o) => o ?? null);
  p.catch(() => {});
  return p;
}

const KEPT = ['content-type', 'cache-control', 'content-disposition', 'content-encoding', 'content-language', 'expires', 'x-amz-website-redirect-location'];

/** The request headers an object keeps and returns on GET. S3 limits user metadata to 2 KB. */
export function storedHeaders(h: IncomingHttpHeaders): [string, string][] {
  const out: [string, string][] = [];
  let metaSize = 0;
  for (const [k, v] of Object.entries(h)) {
    if (v === undefined) continue;
    const val = Array.isArray(v) ? v.join(',') : v;
    if (KEPT.includes(k)) out.push([k, val]);
    else if (k.startsWith('x-amz-meta-')) {
      metaSize += k.length - 11 + Buffer.byteLength(val);
      out.push([k, val]);
    }
  }
  if (metaSize > 2048) throw new S3Error('MetadataTooLarge', 'Your metadata headers exceed the maximum allowed metadata size (2 KB).');
  if (!out.some(([k]) => k === 'content-type')) out.push(['content-type', 'binary/octet-stream']);
  // Content-Encoding aws-chunked is transport framing, not a property of the object; any other
  // value is the client's and comes back as sent ('deflate, gzip', spaces included).
  const withoutChunked = (v: string) =>
    /aws-chunked/i.test(v) ? v.split(',').map((s) => s.trim()).filter((s) => s !== '' && s.toLowerCase() !== 'aws-chunked').join(', ') : v;
  return out
    .map(([k, v]): [string, string] => (k === 'content-encoding' ? [k, withoutChunked(v)] : [k, v]))
    .filter(([k, v]) => !(k === 'content-encoding' && v === ''))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}


/** Refuses a write that would take the bucket over its quota; `replaced` is what the write frees. */
export async function checkQuota(store: Store, b: Bucket, addBytes: number, addObjects: number): Promise<void> {
  const q = b.quotas.v;
  if (q.maxSize === null && q.maxObjects === null) return;
  const u = await store.usage(b.id);
  if (q.maxSize !== null && addBytes > 0 && u.bytes + addBytes > q.maxSize)
    throw new S3Error(
      'QuotaExceeded',
      `Bucket quota exceeded: this write needs ${formatSize(addBytes)}, ${formatSize(u.bytes)} of ${formatSize(q.maxSize)} are used. ` +
        'Delete objects, or raise the quota (grenier site quota <site> --max-size … up to 200 MB, or --request for more).',
    );
  if (q.maxObjects !== null && addObjects > 0 && u.objects + addObjects > q.maxObjects)
    throw new S3Error('QuotaExceeded', `Bucket quota exceeded: ${u.objects} of ${q.maxObjects} objects are stored. Delete objects or ask for a higher quota.`);
}

/** If-None-Match: * and If-Match on PUT (conditional writes). */
export async function checkWritePreconditions(store: Store, b: Bucket, key: string, h: IncomingHttpHeaders): Promise<void> {
  const inm = h['if-none-match'];
  const im = h['if-match'];
  if (inm === undefined && im === undefined) return;
  const cur = liveVersion(await store.objects.get(b.id, key));
  if (inm !== undefined) {
    if (inm.trim() !== '*') throw new S3Error('NotImplemented', 'If-None-Match on PUT only supports "*"');
    if (cur) throw new S3Error('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', { Condition: 'If-None-Match' });
  }
  if (im !== undefined) {
    if (!cur) throw new S3Error('NoSuchKey', 'The specified key does not exist.', { Key: key });
    if (!etagMatches(im, cur.meta!.etag)) throw new S3Error('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', { Condition: 'If-Match' });
  }
}

export { etagMatches } from '../../../util/http.ts';
import { etagMatches } from '../../../util/http.ts';


/** Secret for a key id; sync because SigV4 verification is sync — keys are a local "everywhere" table. */
export function keySecret(store: Store, id: string): string | undefined {
  const k = store.keys.local.get('key', id);
  return k && !k.deleted.v ? k.secret : undefined;
}
