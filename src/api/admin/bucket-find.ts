// GetBucketInfo ?search= (the CLI's "alias, id or unique id prefix"): the alias index, then a
// bounded range of the bucket table under the id prefix, so a lookup costs the same at 50,000
// buckets as at 5 (it used to read every bucket).
import type { Store } from '../../model/store.ts';
import type { Bucket } from '../../model/bucket.ts';
import { ModelError } from '../../model/errors.ts';

/** Shortest id prefix taken as one: shorter ones name too many buckets to mean one. */
export const BUCKET_ID_PREFIX_CHARS_MIN = 6;
/** Bucket entries one search reads at most (deleted ones among them are skipped). */
export const BUCKET_SEARCH_SCAN_MAX = 64;

export async function findBucketBounded(store: Store, pattern: string): Promise<Bucket> {
  const byName = await store.bucketByName(pattern);
  if (byName) return byName;
  const notFound = () => new ModelError('NoSuchBucket', `no bucket named or with id "${pattern.slice(0, 64)}"`);
  // Ids are lowercase hex: anything else can only have been a name.
  if (!/^[0-9a-f]{1,64}$/.test(pattern)) throw notFound();
  const entries = await store.buckets.range('bucket', { prefix: pattern, limit: BUCKET_SEARCH_SCAN_MAX });
  const live = entries.filter((b) => !b.deleted.v);
  if (live.length > 1) {
    const n = entries.length === BUCKET_SEARCH_SCAN_MAX ? `more than ${live.length - 1}` : String(live.length);
    throw new ModelError('AmbiguousBucket', `"${pattern}" matches ${n} buckets`);
  }
  if (live.length === 1 && pattern.length >= BUCKET_ID_PREFIX_CHARS_MIN) return live[0]!;
  throw notFound();
}
