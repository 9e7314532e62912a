// Metadata engine adapter over LMDB: named trees with binary keys and msgpack values,
// atomic multi-tree write transactions, ordered range scans.
import { open, type RootDatabase, type Database } from 'lmdb';
import { privateDir, privateFiles } from './private-files.ts';
import { defaultLimits, type LimitsConfig } from '../config/config.ts';
import { log } from '../util/log.ts';
import { commitsOnMainThread } from '../util/commit-mode.ts';

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

/** The group-commit bounds (config [limits]): one commit holds at most this many writes and bytes,
 *  and the first write of a batch waits at most this long for others to join it. */
export type GroupCommitLimits = Pick<LimitsConfig, 'metadata_commit_writes_max' | 'metadata_commit_bytes_max' | 'metadata_commit_wait_ms'>;

/** What a caller of Db.write says its fn writes (counted against the group-commit bounds). */
export interface WriteSize {
  /** Entries written (default 1). */
  writes?: number;
  /** Bytes written, keys and values, as estimated by the caller (default 0). */
  bytes?: number;
}

interface QueuedWrite {
  fn: () => unknown;
  writes: number;
  bytes: number;
  /** When it was queued (Date.now()): a batch formed after a commit waits only what is left of its wait. */
  at: number;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

export class Db {
  private readonly root: RootDatabase;
  private readonly trees = new Map<string, Tree<any>>();
  private readonly group: GroupCommitLimits;
  /** Writes waiting for their group commit, oldest first. */
  private queue: QueuedWrite[] = [];
  private queuedWrites = 0;
  private queuedBytes = 0;
  private flushTimer?: { cancel(): void };
  private closed = false;
  /** Commits made by write() and how many callers they held (a test and a bench read them). */
  readonly groupStats = { commits: 0, writes: 0, callers: 0, largestWrites: 0, largestBytes: 0 };
  constructor(path: string, opts: { fsync?: boolean; limits?: GroupCommitLimits } = {}) {
    const l = opts.limits ?? defaultLimits();
    this.group = { metadata_commit_writes_max: l.metadata_commit_writes_max, metadata_commit_bytes_max: l.metadata_commit_bytes_max, metadata_commit_wait_ms: l.metadata_commit_wait_ms };
    privateDir(path, 'metadata_dir');
    this.root = open({
      path,
      // metadata_dir is always a directory, even when its name has a dot (lmdb-js would open
      // "meta.v2" as a single file).
      noSubdir: false,
      // With noSync off, a resolved transaction is on disk: that is what "acknowledged" means.
      noSync: opts.fsync === false,
      // No overlapping sync (lmdb-js's default on Linux): with it, an async commit is visible, and
      // its promise resolves, before its fsync; without it, the write thread's commit includes the
      // fsync, so what a reader sees and what write() acknowledges is durable.
      overlappingSync: false,
      // Named trees: each table has four (entries, replica queue, its counts, tombstones), plus
      // the block, resync, counter and node trees; 64 was passed when the queue counts moved to LMDB.
      maxDbs: 256,
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
  /**
   * Group commit: runs fn in a write transaction shared with the other write() calls that arrive
   * meanwhile (one LMDB commit, one fsync, for all of them) and resolves with fn's result once that
   * commit is durable (per fsync): never before, so an answer sent after it is an acknowledged
   * write. fn must be synchronous. Each fn runs in its own LMDB child transaction: if it throws,
   * its writes alone are dropped and its promise rejects; the others commit. (A child transaction
   * costs a page copy-on-write, far less than the commit it shares; validating first or re-running
   * the batch would make every caller pay for one bad one.) Reads inside fn see the writes of the
   * fns before it in the batch. A batch holds at most metadata_commit_writes_max writes and
   * metadata_commit_bytes_max bytes (one caller over a bound commits alone), and its first write
   * waits at most metadata_commit_wait_ms (0: to the end of the current event-loop turn), or, when
   * a commit is under way, until that commit is done (one batch in LMDB at a time: the next one
   * fills meanwhile).
   * The fns run on the main thread inside an lmdb-js async transaction; its commit and fsync run
   * on lmdb-js's write thread, so the event loop goes on meanwhile. Until the promise resolves,
   * reads outside a transaction see the store without the batch (as before its commit).
   */
  write<T>(fn: () => T, size: WriteSize = {}): Promise<T> {
    if (this.closed) return Promise.reject(new Error('the metadata store is closed'));
    return new Promise<T>((resolve, reject) => {
      const writes = Math.max(1, size.writes ?? 1);
      const bytes = Math.max(0, size.bytes ?? 0);
      this.queue.push({ fn, writes, bytes, at: Date.now(), resolve: resolve as (v: unknown) => void, reject });
      this.queuedWrites += writes;
      this.queuedBytes += bytes;
      if (this.committing) return; // flushed when the commit under way is done
      if (this.queueFull()) this.scheduleFlush(0);
      else if (!this.flushTimer) this.scheduleFlush(this.group.metadata_commit_wait_ms);
    });
  }

  /** (Re)arms the flush: `ms` 0 is the end of this event-loop turn (setImmediate), after the I/O
   *  callbacks that may bring more writes. Never flushes in the caller's stack: the caller may be
   *  inside a transaction of its own. */
  private scheduleFlush(ms: number): void {
    this.cancelFlush();
    if (ms <= 0) {
      const h = setImmediate(() => this.flush());
      this.flushTimer = { cancel: () => clearImmediate(h) };
    } else {
      const h = setTimeout(() => this.flush(), ms);
      this.flushTimer = { cancel: () => clearTimeout(h) };
    }
  }

  private cancelFlush(): void {
    this.flushTimer?.cancel();
    this.flushTimer = undefined;
  }

  /** Whether the queued writes fill a batch (one of the bounds reached): it goes at once. */
  private queueFull(): boolean {
    return this.queuedWrites >= this.group.metadata_commit_writes_max || this.queuedBytes >= this.group.metadata_commit_bytes_max;
  }

  /** The batch handed to LMDB and not yet durable (at most one), settled once its callers are answered. */
  private committing?: Promise<void>;

  /** Hands the oldest queued writes that fit the bounds to LMDB as one async transaction; the
   *  rest wait for its commit. */
  private flush(): void {
    this.cancelFlush();
    if (this.committing) return;
    const batch: QueuedWrite[] = [];
    let writes = 0;
    let bytes = 0;
    while (this.queue.length > 0) {
      const w = this.queue[0]!;
      if (batch.length > 0 && (writes + w.writes > this.group.metadata_commit_writes_max || bytes + w.bytes > this.group.metadata_commit_bytes_max)) break;
      batch.push(this.queue.shift()!);
      writes += w.writes;
      bytes += w.bytes;
    }
    this.queuedWrites -= writes;
    this.queuedBytes -= bytes;
    if (batch.length === 0) return;
    const results: ({ ok: true; v: unknown } | { ok: false; e: unknown })[] = [];
    const run = (): void => {
      for (const w of batch) {
        try {
          // Nested inside a write transaction, lmdb-js runs this as an abortable child transaction.
          const v = this.root.transactionSync(() => {
            const r = w.fn();
            if (r !== null && typeof r === 'object' && typeof (r as { then?: unknown }).then === 'function') throw new Error('Db.write: fn must be synchronous');
            return r;
          });
          results.push({ ok: true, v });
        } catch (e) {
          results.push({ ok: false, e });
        }
      }
    };
    const done = (e?: { failed: unknown }): void => {
      if (!e && results.length !== batch.length) e = { failed: new Error('Db.write: the batch did not run in its transaction') };
      if (e) {
        // The commit itself failed (a full map, an I/O error): nothing of the batch is stored.
        for (const w of batch) w.reject(e.failed);
        return;
      }
      this.groupStats.commits++;
      this.groupStats.writes += writes;
      this.groupStats.callers += batch.length;
      this.groupStats.largestWrites = Math.max(this.groupStats.largestWrites, writes);
      this.groupStats.largestBytes = Math.max(this.groupStats.largestBytes, bytes);
      batch.forEach((w, i) => {
        const r = results[i]!;
        if (r.ok) w.resolve(r.v);
        else w.reject(r.e);
      });
    };
    if (commitsOnMainThread()) {
      let failed: { failed: unknown } | undefined;
      try {
        this.transaction(run);
      } catch (e) {
        failed = { failed: e };
      }
      done(failed);
      if (this.queue.length > 0) this.scheduleFlush(0);
      return;
    }
    const after: (() => void)[] = [];
    let commit: Promise<unknown>;
    try {
      // lmdb-js runs this callback on the main thread once its write thread holds a write
      // transaction, then commits (fsync included) on that thread.
      commit = this.root.transaction(() => {
        this.depth++;
        this.batchAfter = after;
        try {
          run();
        } finally {
          this.batchAfter = undefined;
          this.depth--;
        }
      });
    } catch (e) {
      commit = Promise.reject(e);
    }
    this.committing = commit.then(
      () => done(),
      (e: unknown) => done({ failed: e }),
    ).finally(() => {
      this.runAfter(after);
      this.committing = undefined;
      if (this.queue.length === 0) return;
      // Writes queued meanwhile: a full batch goes now, a partial one waits what is left of its wait.
      const full = this.queueFull();
      const left = this.group.metadata_commit_wait_ms - (Date.now() - this.queue[0]!.at);
      this.scheduleFlush(full || this.closed ? 0 : left);
    });
  }

  /** Set while the fns of a batch run in an async transaction: afterCommit() defers to its commit. */
  private batchAfter?: (() => void)[];
  /**
   * Runs cb once what the current transaction wrote is committed: at once outside a write()
   * batch (a Db.transaction has committed when it returns), after the batch's commit inside one.
   * For what tells other code to read the store (a worker's trigger, a cache drop): run from
   * inside a write() fn, it would read the store before the batch is there (an empty resync queue,
   * a cache refilled with the old entry). Runs after a failed commit too (a spurious wake-up).
   */
  afterCommit(cb: () => void): void {
    if (this.batchAfter) this.batchAfter.push(cb);
    else cb();
  }
  private runAfter(cbs: (() => void)[]): void {
    for (const cb of cbs) {
      try {
        cb();
      } catch (e) {
        log.error({ err: (e as Error).message }, 'metadata after-commit callback failed');
      }
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
    // Writes already queued are committed (their callers wait for them), later ones refused.
    this.closed = true;
    while (this.queue.length > 0 || this.committing) {
      if (this.committing) await this.committing;
      else this.flush();
    }
    this.cancelFlush();
    await this.root.close();
  }
}
