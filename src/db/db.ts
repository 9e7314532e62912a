// Metadata engine adapter over LMDB: named trees with binary keys and msgpack values,
// atomic multi-tree write transactions, ordered range scans.
import { open, type RootDatabase, type Database } from 'lmdb';
import { mkdirSync } from 'node:fs';

export type Key = Buffer;

export interface RangeOptions {
  start?: Key; // inclusive
  end?: Key; // exclusive
  limit?: number;
  reverse?: boolean;
}

export class Tree<V = unknown> {
  readonly name: string;
  private readonly d: Database<V, Key>;
  constructor(name: string, d: Database<V, Key>) {
    this.name = name;
    this.d = d;
  }
  get(key: Key): V | undefined {
    return this.d.get(key);
  }
  /** Writes inside the current transaction (call from Db.transaction) or as a single batched write. */
  put(key: Key, value: V): void {
    this.d.putSync(key, value);
  }
  remove(key: Key): void {
    this.d.removeSync(key);
  }
  *range(opts: RangeOptions = {}): Generator<{ key: Key; value: V }> {
    const it = this.d.getRange({ start: opts.start, end: opts.end, limit: opts.limit, reverse: opts.reverse });
    for (const { key, value } of it) yield { key: key as Key, value: value as V };
  }
  count(opts: RangeOptions = {}): number {
    return this.d.getKeysCount({ start: opts.start, end: opts.end });
  }
}

export class Db {
  private readonly root: RootDatabase;
  private readonly trees = new Map<string, Tree<any>>();
  constructor(path: string, opts: { fsync?: boolean } = {}) {
    mkdirSync(path, { recursive: true });
    this.root = open({
      path,
      // With noSync off, a resolved transaction is on disk: that is what "acknowledged" means.
      noSync: opts.fsync === false,
      maxDbs: 64,
      mapSize: 2 * 1024 ** 3,
      compression: false,
    });
  }
  tree<V>(name: string): Tree<V> {
    let t = this.trees.get(name);
    if (!t) {
      t = new Tree<V>(name, this.root.openDB<V, Key>({ name, keyEncoding: 'binary', encoding: 'msgpack' }));
      this.trees.set(name, t);
    }
    return t as Tree<V>;
  }
  /** Runs fn inside one write transaction, committed (durable per fsync) when this returns.
   *  If fn throws, nothing it wrote is kept. Synchronous on purpose: lmdb-js async
   *  transactions commit even when their callback throws, which would break atomicity. */
  transaction<T>(fn: () => T): T {
    return this.root.transactionSync(fn);
  }
  async close(): Promise<void> {
    await this.root.close();
  }
}
