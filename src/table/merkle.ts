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

export function valueHash(e: unknown): Buffer {
  return createHash('sha256').update(pack(e)).digest().subarray(0, 16);
}

export class MerkleCache {
  private readonly table: LocalTable<unknown>;
  private readonly cache = new Map<number, Buffer[]>();
  constructor(table: LocalTable<any>) {
    this.table = table;
    table.onUpdate((_b, a) => this.cache.delete(table.storageKeyOf(a)[0]!));
  }

  invalidate(partition: number): void {
    this.cache.delete(partition);
  }

  /** The 256 bucket hashes of a partition (computed by one range scan, then cached until a write). */
  buckets(partition: number): Buffer[] {
    let b = this.cache.get(partition);
    if (b) return b;
    const hashers = new Map<number, ReturnType<typeof createHash>>();
    for (const { key, value } of this.table.rawRange(Buffer.from([partition]), partitionEnd(partition))) {
      const bucket = key[1]!;
      let h = hashers.get(bucket);
      if (!h) hashers.set(bucket, (h = createHash('sha256')));
      h.update(key).update(valueHash(value));
    }
    const empty = Buffer.alloc(16);
    b = Array.from({ length: 256 }, (_, i) => hashers.get(i)?.digest().subarray(0, 16) ?? empty);
    this.cache.set(partition, b);
    return b;
  }

  root(partition: number): Buffer {
    const h = createHash('sha256');
    for (const b of this.buckets(partition)) h.update(b);
    return h.digest().subarray(0, 16);
  }

  /** (storage key, value hash) of one bucket. */
  items(partition: number, bucket: number): [Buffer, Buffer][] {
    const start = Buffer.from([partition, bucket]);
    const end = bucket === 255 ? partitionEnd(partition) : Buffer.from([partition, bucket + 1]);
    const out: [Buffer, Buffer][] = [];
    for (const { key, value } of this.table.rawRange(start, end)) out.push([Buffer.from(key), valueHash(value)]);
    return out;
  }
}
