// Metadata engine adapter over LMDB: named trees with binary keys and msgpack values,
// atomic multi-tree write transactions, ordered range scans.
import { open, type RootDatabase, type Database } from 'lmdb';
import { privateDir, privateFiles } from './private-files.ts';

export type Key = Buffer;

/** LMDB's largest key in bytes (lmdb-js default build). Checked here, before lmdb-js sees the key:
 *  its own refusal is an untyped Error, and an async write would fail later, away from the caller. */
export const DB_KEY_BYTES_MAX = 1978;

/** A key longer than DB_KEY_BYTES_MAX: thrown synchronously by writes and range bounds. */
export class DbKeyTooLongError extends Error {
  readonly bytes: number;
  constructor(tree: string, bytes: number) {
    super(`${tree}: a key of ${bytes} bytes is longer than the metadata store's ${DB_KEY_BYTES_MAX}-byte maximum`);
    this.name = 'DbKeyTooLongError';
    this.bytes = bytes;
  }
}

/** Throws DbKeyTooLongError if a key of `bytes` bytes cannot be stored (`what` names the tree). */
export function checkKeyBytes(what: string, bytes: number): void {
  if (bytes > DB_KEY_BYTES_MAX) throw new DbKeyTooLongError(what, bytes);
}

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
  /** A key too long to be stored cannot be there: undefined, without asking lmdb. */
  get(key: Key): V | undefined {
    if (key.length > DB_KEY_BYTES_MAX) return undefined;
    return this.d.get(key);
  }
  /** Writes inside the current transaction (call from Db.transaction) or as a single batched write. */
  put(key: Key, value: V): void {
    checkKeyBytes(this.name, key.length);
    this.d.putSync(key, value);
  }
  remove(key: Key): void {
    if (key.length > DB_KEY_BYTES_MAX) return;
    this.d.removeSync(key);
  }
  /** Bounds are checked when this is called, not at the first step of the iteration. */
  range(opts: RangeOptions = {}): Generator<{ key: Key; value: V }> {
    if (opts.start) checkKeyBytes(this.name, opts.start.length);
    if (opts.end) checkKeyBytes(this.name, opts.end.length);
    return this.scan(opts);
  }
  private *scan(opts: RangeOptions): Generator<{ key: Key; value: V }> {
    const it = this.d.getRange({ start: opts.start, end: opts.end, limit: opts.limit, reverse: opts.reverse });
    for (const { key, value } of it) yield { key: key as Key, value: value as V };
  }
  count(opts: RangeOptions = {}): number {
    if (opts.start) checkKeyBytes(this.name, opts.start.length);
    if (opts.end) checkKeyBytes(this.name, opts.end.length);
    return this.d.getKeysCount({ start: opts.start, end: opts.end });
  }
}

export class Db {
  private readonly root: RootDatabase;
  private readonly trees = new Map<string, Tree<any>>();
  constructor(path: string, opts: { fsync?: boolean } = {}) {
    privateDir(path, 'metadata_dir');
    this.root = open({
      path,
      // metadata_dir is always a directory, even when its name has a dot (lmdb-js would open
      // "meta.v2" as a single file).
      noSubdir: false,
      // With noSync off, a resolved transaction is on disk: that is what "acknowledged" means.
      noSync: opts.fsync === false,
      maxDbs: 64,
      mapSize: 2 * 1024 ** 3,
      compression: false,
    });
    // lmdb creates its files 0644 (umask permitting): they hold every secret key in clear.
    privateFiles(path, 'metadata_dir');
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
    this.depth++;
    try {
      return this.root.transactionSync(fn);
    } finally {
      this.depth--;
    }
  }
  /** Nesting depth of transaction() calls: > 0 while one runs (checked by "inside a transaction" preconditions). */
  private depth = 0;
  get inTransaction(): boolean {
    return this.depth > 0;
  }
  /** A consistent copy of the whole environment into `dir` (its data.mdb), compacted, taken in a
   *  read transaction on a worker thread while writes go on (LMDB's mdb_env_copy2). */
  backup(dir: string): Promise<void> {
    return this.root.backup(dir, true);
  }
  async close(): Promise<void> {
    await this.root.close();
  }
}
