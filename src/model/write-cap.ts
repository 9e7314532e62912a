// Stops a streamed write as soon as it passes the bucket's remaining quota or the object size
// limit, instead of after the whole body is stored (a body of unknown length must not fill the disk).
import type { Store } from './store.ts';
import type { Bucket } from './bucket.ts';

/** Bytes the bucket may still take (Infinity without a size quota). `freed` is what the write
 *  replaces for sure (a re-uploaded part). */
export async function remainingQuota(store: Store, b: Bucket, freed = 0): Promise<number> {
  const max = b.quotas.v.maxSize;
  if (max === null) return Infinity;
  const u = await store.usage(b.id);
  return Math.max(0, max - u.bytes + freed);
}

export type OverLimit = 'quota' | 'size';

/** Passes `src` through, throwing `over(which, bytesSoFar)` on the first chunk that takes the total
 *  past `quota` bytes or past `size` bytes (the size limit wins when both are passed). */
export async function* capBytes(
  src: AsyncIterable<Buffer>,
  limits: { quota: number; size: number },
  over: (which: OverLimit, n: number) => Error,
): AsyncGenerator<Buffer> {
  let n = 0;
  for await (const c of src) {
    n += c.length;
    if (n > limits.size) throw over('size', n);
    if (n > limits.quota) throw over('quota', n);
    yield c;
  }
}
