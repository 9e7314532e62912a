// The persistent, time-ordered block resync queue (as Garage's): blocks whose local state may be
// wrong (a reference arrived for a block not on disk, a layout change moved it) wait here with a
// due time; the resync worker takes only what is due, and a failed block backs off exponentially,
// its error count and next try kept in LMDB so a restart neither forgets nor hammers it.
import type { Db, Tree } from '../db/db.ts';
import { log } from '../util/log.ts';
import type { Clock } from '../util/time.ts';
import { assertInTransaction, invariant } from '../util/assert.ts';

export interface BlockError {
  hash: Buffer;
  errors: number;
  lastTryAt: number;
  nextTryAt: number;
  lastError: string;
}

interface ErrorRec {
  errors: number;
  lastTryAt: number;
  nextTryAt: number;
  lastError: string;
}

export interface ResyncQueueOptions {
  /** First retry delay after an error; doubles with each further error. */
  backoffBaseMs?: number;
  /** Longest delay between two tries of one block. */
  backoffMaxMs?: number;
}

const DUE_BYTES = 8;
/** The count's key in block_meta (LMDB's number of named databases is bounded: no tree of its own). */
const COUNT_KEY = Buffer.from('resync_queue_length');

function dueKey(due: number, hash: Buffer): Buffer {
  const k = Buffer.allocUnsafe(DUE_BYTES + hash.length);
  k.writeBigUInt64BE(BigInt(Math.max(0, Math.floor(due))), 0);
  hash.copy(k, DUE_BYTES);
  return k;
}

export class ResyncQueue {
  private readonly db: Db;
  private readonly clock: Clock;
  /** due time (8 bytes BE, ms) ‖ hash → 1: what to look at, in the order it is due. */
  private readonly byDue: Tree<1>;
  /** hash → its due time in byDue (one queue entry per block; lets a reschedule find the old key). */
  private readonly dueOf: Tree<number>;
  private readonly errs: Tree<ErrorRec>;
  private readonly baseMs: number;
  private readonly maxMs: number;
  /** Queued blocks, written in the same transaction as the entries (a rolled-back enqueue counts
   *  nothing); older databases count the tree once (it may hold a million). */
  private readonly count: Tree<number>;
  /** Called once an enqueue is committed (the worker wakes up instead of waiting for its period). */
  onEnqueue: () => void = () => {};

  constructor(db: Db, clock: Clock, opts: ResyncQueueOptions = {}) {
    this.db = db;
    this.clock = clock;
    this.byDue = db.tree<1>('block_resync_due');
    this.dueOf = db.tree<number>('block_resync_at');
    this.errs = db.tree<ErrorRec>('block_resync_errors');
    this.count = db.tree<number>('block_meta');
    this.baseMs = opts.backoffBaseMs ?? 10_000;
    this.maxMs = opts.backoffMaxMs ?? 3600_000;
  }

  /** Schedules a block at `due` (default now); an earlier schedule is kept, and a block backing
   *  off after errors keeps its next try (and error count): a block that fails every time is not
   *  retried at every enqueue. Works inside a transaction (a table hook) or opens its own. */
  enqueue(hash: Buffer, due = this.clock.now()): void {
    this.db.transaction(() => this.schedule(hash, due, false));
    this.db.afterCommit(() => this.onEnqueue());
  }

  /** Schedules many blocks in one transaction (a sweep). */
  enqueueMany(hashes: Buffer[], due = this.clock.now()): void {
    if (hashes.length === 0) return;
    this.db.transaction(() => {
      for (const h of hashes) this.schedule(h, due, false);
    });
    this.db.afterCommit(() => this.onEnqueue());
  }

  /** The count (inside a transaction: counted from the tree once if an older release left none). */
  private counted(): number {
    const n = this.count.get(COUNT_KEY);
    if (n !== undefined) return n;
    const c = this.dueOf.count();
    this.count.put(COUNT_KEY, c);
    return c;
  }

  private schedule(hash: Buffer, due: number, force: boolean): void {
    assertInTransaction(this.db, 'ResyncQueue.schedule');
    if (!force) {
      // Back-off wins over an enqueue (only failed() and RetryBlockResync move a failing block).
      const e = this.errs.get(hash);
      if (e && e.nextTryAt > due) due = e.nextTryAt;
    }
    const cur = this.dueOf.get(hash);
    if (cur !== undefined) {
      if (!force && cur <= due) return;
      this.byDue.remove(dueKey(cur, hash));
    } else {
      // One entry per block: the queue grows by one only for a block it did not hold.
      const n = this.counted();
      invariant(n >= 0, 'resync queue count is negative', { n });
      this.count.put(COUNT_KEY, n + 1);
    }
    this.byDue.put(dueKey(due, hash), 1);
    this.dueOf.put(hash, due);
  }

  /** Up to `limit` blocks due at `now`, oldest first. Reads only the head of the index. */
  due(limit: number, now = this.clock.now()): Buffer[] {
    const out: Buffer[] = [];
    for (const { key } of this.byDue.range({ end: dueKey(now + 1, Buffer.alloc(0)), limit })) out.push(Buffer.from(key.subarray(DUE_BYTES)));
    return out;
  }

  /** When the next block is due (undefined: nothing queued). */
  nextDue(): number | undefined {
    for (const { key } of this.byDue.range({ limit: 1 })) return Number(key.readBigUInt64BE(0));
    return undefined;
  }

  /** The block needs nothing more: out of the queue, its error record cleared. */
  done(hash: Buffer): void {
    this.doneMany([hash]);
  }

  /** done() for many blocks in one transaction (one commit per resync batch, not per block). */
  doneMany(hashes: Buffer[]): void {
    if (hashes.length === 0) return;
    this.db.transaction(() => {
      for (const hash of hashes) {
        const cur = this.dueOf.get(hash);
        if (cur !== undefined) {
          this.byDue.remove(dueKey(cur, hash));
          this.dueOf.remove(hash);
          this.uncount();
        }
        this.errs.remove(hash);
      }
    });
  }

  /** The block could not be handled: retried after base × 2^(errors-1), capped. Returns the next try. */
  failed(hash: Buffer, err: string): number {
    const now = this.clock.now();
    return this.db.transaction(() => {
      const prev = this.errs.get(hash);
      const errors = (prev?.errors ?? 0) + 1;
      const delay = Math.min(this.maxMs, this.baseMs * 2 ** Math.min(errors - 1, 40));
      const next = now + delay;
      this.errs.put(hash, { errors, lastTryAt: now, nextTryAt: next, lastError: err.slice(0, 500) });
      this.schedule(hash, next, true);
      return next;
    });
  }

  /** Retries now a block (or every block) in error: RetryBlockResync. Returns how many. */
  retryNow(hash?: Buffer): number {
    const hs = hash ? [hash] : [...this.errs.range()].map((x) => Buffer.from(x.key));
    const now = this.clock.now();
    this.db.transaction(() => {
      for (const h of hs) if (this.errs.get(h)) this.schedule(h, now, true);
    });
    if (hs.length) this.db.afterCommit(() => this.onEnqueue());
    return hs.length;
  }

  errorOf(hash: Buffer): BlockError | undefined {
    const e = this.errs.get(hash);
    return e && { hash, ...e };
  }

  /** Blocks in error (ListBlockErrors), at most `limit`. */
  errors(limit = 1000): BlockError[] {
    return [...this.errs.range({ limit })].map(({ key, value }) => ({ hash: Buffer.from(key), ...value }));
  }

  /** One block left the queue (inside its transaction). Never clamped silently: a count below
   *  the entries is a bug, logged, and taken again from the tree. */
  private uncount(): void {
    const n = this.counted() - 1;
    if (n >= 0) this.count.put(COUNT_KEY, n);
    else {
      log.error({ n }, 'resync queue count below its entries: recounted');
      this.count.put(COUNT_KEY, this.dueOf.count());
    }
  }

  length(): number {
    const n = this.count.get(COUNT_KEY);
    return n ?? this.db.transaction(() => this.counted());
  }

  errorCount(): number {
    return this.errs.count();
  }
}
