// Merkle summaries of a partition for anti-entropy: the partition's entries are grouped into 256
// buckets by the second byte of their storage key (uniform, since it is a hash), each bucket
// hashed over its (key, value-hash) pairs; the root hashes the bucket hashes. Replicas compare
// roots, then buckets, then exchange only the entries of differing buckets.
import { createHash } from 'node:crypto';
import { pack } from 'msgpackr';
import type { LocalTable } from './local.ts';

/** Exclusive upper bound of a partition's storage keys (partition 255 has no successor byte). */
export function partitionEnd(p: number): Buffer {
  return p === 255 ? Buffer.alloc(64, 0xff) : Buffer.from([p + 1]);
}

/** [start, end) of one bucket's storage keys. */
function bucketRange(partition: number, bucket: number): [Buffer, Buffer] {
  return [Buffer.from([partition, bucket]), bucket === 255 ? partitionEnd(partition) : Buffer.from([partition, bucket + 1])];
}

export function valueHash(e: unknown): Buffer {
  return createHash('sha256').update(pack(e)).digest().subarray(0, 16);
}

/** One partition's cached summary: bucket hashes, the buckets written since (recomputed on the
 *  next read), and the root once asked for. */
interface PartitionSummary {
  buckets: Buffer[];
  dirty: Set<number>;
  root?: Buffer;
}

const EMPTY_BUCKET = Buffer.alloc(16);

export class MerkleCache {
  private readonly table: LocalTable<unknown>;
  private readonly cache = new Map<number, PartitionSummary>();
  constructor(table: LocalTable<any>) {
    this.table = table;
    // A write dirties only its bucket: anti-entropy asks for roots far more often than one
    // partition's entries all change, so re-hashing a whole partition per write was the cost.
    // Touched again once the write is committed: a summary read in between (the write thread
    // commits while the event loop runs) re-hashed the bucket without it.
    table.onUpdate((_b, a) => {
      const k = table.storageKeyOf(a);
      this.touched(k);
      table.db.afterCommit(() => this.touched(k));
    });
  }

  /** The entry at storage key `k` changed or went away (a removal runs no update hook: tombstone GC calls this). */
  touched(k: Buffer): void {
    const s = this.cache.get(k[0]!);
    if (!s) return;
    s.dirty.add(k[1]!);
    s.root = undefined;
  }

  invalidate(partition: number): void {
    this.cache.delete(partition);
  }

  /** The 256 bucket hashes of a partition (one range scan the first time; then only the buckets
   *  written since are re-hashed). */
  buckets(partition: number): Buffer[] {
    return [...this.summary(partition).buckets];
  }

  root(partition: number): Buffer {
    const s = this.summary(partition);
    if (!s.root) {
      const h = createHash('sha256');
      for (const b of s.buckets) h.update(b);
      s.root = h.digest().subarray(0, 16);
    }
    return s.root;
  }

  private summary(partition: number): PartitionSummary {
    let s = this.cache.get(partition);
    if (!s) {
      const hashers = new Map<number, ReturnType<typeof createHash>>();
      for (const { key, value } of this.table.rawRange(Buffer.from([partition]), partitionEnd(partition))) {
        const bucket = key[1]!;
        let h = hashers.get(bucket);
        if (!h) hashers.set(bucket, (h = createHash('sha256')));
        h.update(key).update(valueHash(value));
      }
      s = { buckets: Array.from({ length: 256 }, (_, i) => hashers.get(i)?.digest().subarray(0, 16) ?? EMPTY_BUCKET), dirty: new Set() };
      this.cache.set(partition, s);
      return s;
    }
    for (const b of s.dirty) s.buckets[b] = this.bucketHash(partition, b);
    s.dirty.clear();
    return s;
  }

  private bucketHash(partition: number, bucket: number): Buffer {
    const h = createHash('sha256');
    let any = false;
    for (const { key, value } of this.table.rawRange(...bucketRange(partition, bucket))) {
      h.update(key).update(valueHash(value));
      any = true;
    }
    return any ? h.digest().subarray(0, 16) : EMPTY_BUCKET;
  }

  /** (storage key, value hash) of one bucket. */
  items(partition: number, bucket: number): [Buffer, Buffer][] {
    const out: [Buffer, Buffer][] = [];
    for (const { key, value } of this.table.rawRange(...bucketRange(partition, bucket))) out.push([Buffer.from(key), valueHash(value)]);
    return out;
  }
}
