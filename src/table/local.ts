// A table's local store: entries keyed by (hash of partition key, sort key) in one LMDB tree,
// merged on insert so concurrent or repeated writes converge. Replication wraps this.
import { pack } from 'msgpackr';
import type { Db, Tree } from '../db/db.ts';
import { sha256 } from '../util/hash.ts';
import { assertInTransaction } from '../util/assert.ts';
import type { TableSchema, UpdateHook } from './schema.ts';

const PK_HASH_LEN = 32;

export interface RangeQuery {
  /** Sort keys >= start (after `prefix` filtering). */
  start?: string;
  /** Exclusive start: first sort key strictly greater than this. */
  after?: string;
  prefix?: string;
  limit?: number;
  reverse?: boolean;
}

export class LocalTable<E> {
  readonly schema: TableSchema<E>;
  readonly db: Db;
  private readonly tree: Tree<E>;
  private readonly hooks: UpdateHook<E>[] = [];

  constructor(db: Db, schema: TableSchema<E>) {
    this.db = db;
    this.schema = schema;
    this.tree = db.tree<E>(`table:${schema.name}`);
  }

  pkHash(pk: string): Buffer {
    return this.schema.pkHash ? this.schema.pkHash(pk) : sha256(pk);
  }

  /** The storage key: the first byte of the pk hash is the entry's partition (ARCHITECTURE §3). */
  key(pk: string, sk: string): Buffer {
    return Buffer.concat([this.pkHash(pk), Buffer.from(sk, 'utf8')]);
  }

  partitionOf(pk: string): number {
    return this.pkHash(pk)[0]!;
  }

  storageKeyOf(e: E): Buffer {
    return this.key(this.schema.partitionKey(e), this.schema.sortKey(e));
  }

  getByStorageKey(k: Buffer): E | undefined {
    return this.tree.get(k);
  }

  /** Raw (storage key, entry) pairs with keys in [start, end): for Merkle sync and GC. */
  *rawRange(start: Buffer, end: Buffer): Generator<{ key: Buffer; value: E }> {
    yield* this.tree.range({ start, end });
  }

  /** Deletes an entry only if it is still exactly `expect` (tombstone GC). */
  removeIfEqual(k: Buffer, expect: (e: E) => boolean): boolean {
    return this.db.transaction(() => {
      const cur = this.tree.get(k);
      if (cur === undefined || !expect(cur)) return false;
      this.tree.remove(k);
      return true;
    });
  }

  onUpdate(hook: UpdateHook<E>): void {
    this.hooks.push(hook);
  }

  get(pk: string, sk: string): E | undefined {
    return this.tree.get(this.key(pk, sk));
  }

  /** Merges `e` into what is stored and returns the merged entry; hooks run in the same transaction. */
  insert(e: E): E {
    return this.insertMany([e])[0]!;
  }

  insertMany(es: E[]): E[] {
    return this.db.transaction(() => es.map((e) => this.mergeIn(e)));
  }

  /** insertMany through the group commit (Db.write): shares one commit with the writes that
   *  arrive meanwhile and resolves once that commit is durable. For the hot paths (replicated puts). */
  insertManyGrouped(es: E[]): Promise<E[]> {
    // The byte estimate is the entries' msgpack size (what the tree stores, before keys).
    let bytes = 0;
    for (const e of es) bytes += pack(e).length;
    return this.db.write(() => es.map((e) => this.mergeIn(e)), { writes: es.length, bytes });
  }

  /** For use inside an enclosing Db.transaction. */
  mergeIn(e: E): E {
    assertInTransaction(this.db, 'LocalTable.mergeIn');
    const k = this.storageKeyOf(e);
    const before = this.tree.get(k);
    const after = before === undefined ? e : this.schema.merge(before, e);
    this.tree.put(k, after);
    for (const h of this.hooks) h(before, after);
    return after;
  }

  /** Entries of one partition key in sort-key order. */
  *range(pk: string, q: RangeQuery = {}): Generator<E> {
    const h = this.pkHash(pk);
    const prefix = Buffer.concat([h, Buffer.from(q.prefix ?? '', 'utf8')]);
    let lo = prefix;
    if (q.start !== undefined && Buffer.compare(Buffer.concat([h, Buffer.from(q.start, 'utf8')]), lo) > 0)
      lo = Buffer.concat([h, Buffer.from(q.start, 'utf8')]);
    if (q.after !== undefined) {
      // The smallest key strictly greater than `after` is `after` + 0x00.
      const a = Buffer.concat([h, Buffer.from(q.after, 'utf8'), Buffer.from([0])]);
      if (Buffer.compare(a, lo) > 0) lo = a;
    }
    const hi = prefixEnd(prefix);
    const opts = q.reverse ? { start: hi, end: lo, reverse: true } : { start: lo, end: hi };
    // In reverse mode lmdb treats start as exclusive upper bound only if it does not exist; hi never matches a key with our prefix.
    let n = 0;
    for (const { key, value } of this.tree.range(opts)) {
      if (key.length < PK_HASH_LEN || prefix.compare(key, 0, prefix.length) !== 0) {
        if (q.reverse) continue;
        break;
      }
      yield value;
      if (q.limit !== undefined && ++n >= q.limit) return;
    }
  }

  /** Every entry (for small "everywhere" tables and anti-entropy). */
  *all(): Generator<E> {
    for (const { value } of this.tree.range()) yield value;
  }


}

/** Smallest buffer greater than every buffer starting with p. */
function prefixEnd(p: Buffer): Buffer {
  const b = Buffer.from(p);
  for (let i = b.length - 1; i >= 0; i--) {
    if (b[i]! < 0xff) {
      b[i]!++;
      return b.subarray(0, i + 1);
    }
  }
  return Buffer.alloc(b.length + 1, 0xff);
}
