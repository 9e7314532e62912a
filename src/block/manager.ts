// Block manager: writes object data as content-addressed blocks, streams them back with
// read-ahead, and keeps local refcounts (driven by block_ref updates) for garbage collection.
import { Readable, type Writable } from 'node:stream';
import { BufferPool } from './pool.ts';
import type { Db, Tree } from '../db/db.ts';
import { sha256Block } from '../util/hash.ts';
import { Semaphore } from '../util/async.ts';
import { chunk } from './chunker.ts';
import { BlockStore, type BlockStoreOptions } from './store.ts';
import type { Clock } from '../util/time.ts';
import { log } from '../util/log.ts';
import { ResyncQueue } from './resync-queue.ts';
import { assertInTransaction, invariant } from '../util/assert.ts';

export interface StoredBlock {
  hash: Buffer;
  size: number;
}

interface Rc {
  count: number;
  /** When the count last dropped to zero (or the block was written unreferenced). */
  zeroSince: number;
}

/** The blocks overlapping [start, end), each with the part of it to send. */
function slices(blocks: StoredBlock[], start: number, end: number): { b: StoredBlock; from: number; to: number }[] {
  let pos = 0;
  const out: { b: StoredBlock; from: number; to: number }[] = [];
  for (const b of blocks) {
    const bs = pos;
    const be = pos + b.size;
    pos = be;
    if (be <= start || bs >= end) continue;
    out.push({ b, from: Math.max(0, start - bs), to: Math.min(b.size, end - bs) });
  }
  return out;
}

/** Where blocks go and come from: this node alone (LocalBlocks) or the cluster's replicas
 *  (BlockReplication). The manager calls it for every put and get. */
export interface BlockRemote {
  /** Stores on the block's replicas; with `ref`, each replica also records the reference
   *  (version uuid) in the same round trip. */
  put(hash: Buffer, data: Buffer, ref?: string): Promise<void>;
  /** With `into`, a local copy is read into that buffer. */
  get(hash: Buffer, into?: Buffer): Promise<Buffer>;
  /** False when a failed put certainly stored no reference anywhere (a node alone records it only
   *  after the block is on disk); otherwise (the default) the failed block is reported among
   *  those the write must release: it may have landed, reference included, on some replicas. */
  readonly failedPutsMayLand?: boolean;
}

/** The blocks of a node alone: its disk, and the reference recorded here once the block is on it. */
export class LocalBlocks implements BlockRemote {
  readonly failedPutsMayLand = false;
  private readonly mgr: BlockManager;
  constructor(mgr: BlockManager) {
    this.mgr = mgr;
  }
  async put(hash: Buffer, data: Buffer, ref?: string): Promise<void> {
    const onRef = this.mgr.onLocalRef;
    await this.mgr.putLocal(hash, data, ref && onRef ? () => onRef(hash, ref) : undefined);
  }
  get(hash: Buffer, into?: Buffer): Promise<Buffer> {
    return this.mgr.store.get(hash, into);
  }
}

export interface BlockManagerOptions extends BlockStoreOptions {
  blockSize: number;
  /** Writes in flight per upload: bounds memory to (n + 1) blocks per request. */
  writeParallelism?: number;
  /** Blocks being stored by uploads, over all of them (limits.block_writes_in_flight_bytes_max
   *  / block_size); an upload with a block ready waits for a slot holding only that block.
   *  Default unbounded. */
  writesInFlightMax?: number;
  gcDelayMs?: number;
  /** Resync back-off after a failed fetch (doubles per error, capped). */
  resyncBackoffBaseMs?: number;
  resyncBackoffMaxMs?: number;
}

/** zeroSince (8 bytes BE, ms) ‖ hash: the GC's time-ordered index of unreferenced blocks. */
function gcKey(zeroSince: number, hash: Buffer): Buffer {
  const k = Buffer.allocUnsafe(8 + hash.length);
  k.writeBigUInt64BE(BigInt(Math.max(0, Math.floor(zeroSince))), 0);
  hash.copy(k, 8);
  return k;
}

export class BlockManager {
  readonly store: BlockStore;
  readonly blockSize: number;
  private readonly rc: Tree<Rc>;
  /** Blocks with a zero refcount by the time it dropped to zero (gcKey): GC reads only its head. */
  private readonly gcIndex: Tree<1>;
  /** Blocks whose local copy may be missing or misplaced, by due time (the resync worker's input). */
  readonly resync: ResyncQueue;
  private readonly db: Db;
  private readonly clock: Clock;
  private readonly parallel: number;
  /** Node-wide slots for writeStream's block puts: 10 multipart parts in flight, 3 blocks each
   *  plus the one waiting, held 40 MiB of block buffers (measured in a heap snapshot). */
  private readonly writeSlots: Semaphore;
  readonly gcDelayMs: number;
  private readonly deleting = new Map<string, Promise<void>>();
  private readonly pool = new BufferPool();
  /** Where puts and gets go: this disk alone (LocalBlocks), or in a cluster the block's replicas
   *  for puts and the closest one for gets (BlockReplication). */
  remote: BlockRemote = new LocalBlocks(this);
  /** Records a put's reference on this node when there is no cluster (as replicas do on remote
   *  puts); the put returns once what it returns (the group commit) has resolved. */
  onLocalRef?: (hash: Buffer, version: string) => unknown;
  /** Blocks a local put is storing (until its reference, recorded right after, is in): discard() spares them. */
  private readonly storing = new Map<string, number>();

  constructor(db: Db, dir: string, clock: Clock, opts: BlockManagerOptions) {
    this.db = db;
    this.clock = clock;
    this.store = new BlockStore(dir, opts);
    this.blockSize = opts.blockSize;
    this.parallel = opts.writeParallelism ?? 3;
    this.writeSlots = new Semaphore(Math.max(1, opts.writesInFlightMax ?? Infinity));
    this.gcDelayMs = opts.gcDelayMs ?? 10 * 60_000;
    this.rc = db.tree<Rc>('block_rc');
    this.gcIndex = db.tree<1>('block_gc_index');
    this.resync = new ResyncQueue(db, clock, { backoffBaseMs: opts.resyncBackoffBaseMs, backoffMaxMs: opts.resyncBackoffMaxMs });
    this.buildGcIndexOnce(db);
  }

  /** Databases from before the GC index get it built once, from one scan of the refcounts. */
  private buildGcIndexOnce(db: Db): void {
    const meta = db.tree<number>('block_meta');
    const mark = Buffer.from('gc_index_v1');
    if (meta.get(mark)) return;
    db.transaction(() => {
      for (const { key, value } of this.rc.range()) if (value.count === 0) this.gcIndex.put(gcKey(value.zeroSince, key), 1);
      meta.put(mark, 1);
    });
  }

  /** Writes a refcount and keeps the GC index in step (inside the caller's transaction). */
  private setRc(hash: Buffer, cur: Rc | undefined, next: Rc | undefined): void {
    assertInTransaction(this.db, 'BlockManager.setRc');
    if (cur && cur.count === 0) this.gcIndex.remove(gcKey(cur.zeroSince, hash));
    if (!next) {
      this.rc.remove(hash);
      return;
    }
    this.rc.put(hash, next);
    if (next.count === 0) this.gcIndex.put(gcKey(next.zeroSince, hash), 1);
  }

  /** Stores one block; an unreferenced new block gets a zero refcount so GC reclaims it if
   *  the write that made it never commits (crash, aborted upload). */
  async putBlock(data: Buffer, ref?: string): Promise<StoredBlock> {
    const hash = await sha256Block(data);
    const remote = this.remote;
    await remote.put(hash, data, ref).catch((e: unknown) => {
      // A put that misses its quorum may still have left the block and its reference on some
      // replicas (and queued it for the others): the error names the block so it can be released.
      throw remote.failedPutsMayLand === false ? e : Object.assign(e as object, { block: { hash, size: data.length } });
    });
    return { hash, size: data.length };
  }

  /** Stores a block on this node's disk (the RPC handler of remote puts calls this too); with
   *  `recordRef`, runs it once the block is on disk and returns when what it returns has resolved
   *  (the reference's group commit): discard() and the GC spare the block until then. */
  async putLocal(hash: Buffer, data: Buffer, recordRef?: () => unknown): Promise<void> {
    const hex = hash.toString('hex');
    this.storing.set(hex, (this.storing.get(hex) ?? 0) + 1);
    try {
      await this.putLocalNow(hash, data);
      if (recordRef) await recordRef();
    } finally {
      // A caller that records the reference itself does it in the continuation of this promise: spare the block until then.
      setImmediate(() => {
        const n = (this.storing.get(hex) ?? 1) - 1;
        if (n > 0) this.storing.set(hex, n);
        else this.storing.delete(hex);
      });
    }
  }

  private async putLocalNow(hash: Buffer, data: Buffer): Promise<void> {
    const hex = hash.toString('hex');
    // Touch the refcount before the file, so GC, which re-checks zeroSince in its own transaction,
    // never deletes a block being rewritten. A referenced block (a resync fetch, a replica of a
    // committed write) needs no metadata write. The write goes through the group commit, so a GC
    // may decide on the old refcount while it waits: after the commit, wait for any deletion
    // that started meanwhile and check again, so the file is written after the GC's unlink.
    for (let attempt = 1; ; attempt++) {
      while (this.deleting.has(hex)) await this.deleting.get(hex);
      const seen = this.rc.get(hash);
      if (seen && seen.count > 0) break;
      await this.db.write(() => {
        const cur = this.rc.get(hash);
        if (!cur || cur.count === 0) this.setRc(hash, cur, { count: 0, zeroSince: this.clock.now() });
      });
      // No await between this check and the file write's start: a GC deciding later sees the fresh zeroSince.
      if (!this.deleting.has(hex) && this.rc.get(hash) !== undefined) break;
      // Only a GC delay shorter than a commit can take the fresh refcount again: a few rounds, then give up.
      if (attempt >= 3) throw new Error(`block ${hex.slice(0, 16)}: deleted by the GC while being stored, ${attempt} times`);
    }
    await this.store.put(hash, data);
  }

  /** Reads a block: from this disk, or through the cluster (closest replica first) when replicated. */
  getBlock(hash: Buffer, into?: Buffer): Promise<Buffer> {
    return this.remote.get(hash, into);
  }

  /** Writes bytes [start, end) of `blocks` to `out` (then ends it), one block read ahead, into
   *  pooled buffers that are reused once the socket has taken their bytes. */
  async sendRange(blocks: StoredBlock[], start: number, end: number, out: Writable): Promise<void> {
    const wanted = slices(blocks, start, end);
    const closed = new Promise<never>((_, rej) => out.once('close', () => rej(new Error('client went away'))));
    closed.catch(() => {});
    const fetch = (i: number) => {
      const buf = this.pool.take(wanted[i]!.b.size);
      const p = this.getBlock(wanted[i]!.b.hash, buf).then((data) => ({ data, buf }));
      p.catch(() => this.pool.give(buf));
      return p;
    };
    let next = wanted.length > 0 ? fetch(0) : undefined;
    for (let i = 0; i < wanted.length; i++) {
      const { data, buf } = await next!;
      next = i + 1 < wanted.length ? fetch(i + 1) : undefined;
      next?.catch(() => {});
      const w = wanted[i]!;
      const chunk = w.from === 0 && w.to === data.length ? data : data.subarray(w.from, w.to);
      try {
        await Promise.race([new Promise<void>((res, rej) => out.write(chunk, (e) => (e ? rej(e) : res()))), closed]);
      } finally {
        // The bytes are in the kernel now (or the client is gone): the buffer can serve the next block.
        this.pool.give(buf);
      }
    }
    out.end();
  }

  /** Cuts a stream into blocks and stores them, a few in flight at once. */
  async writeStream(stream: AsyncIterable<Buffer>, ref?: string): Promise<{ blocks: StoredBlock[]; size: number }> {
    const sem = new Semaphore(this.parallel);
    const pending: Promise<StoredBlock>[] = [];
    const stored: StoredBlock[] = [];
    let failed: unknown;
    let size = 0;
    try {
      for await (const b of chunk(stream, this.blockSize)) {
        size += b.length;
        const release = await sem.acquire();
        // Taken once the block is here, never across a read of the body: a slow client must
        // not hold a slot that the other uploads need.
        const releaseSlot = await this.writeSlots.acquire();
        if (failed) {
          releaseSlot();
          release();
          throw failed;
        }
        const p = this.putBlock(b, ref).finally(() => {
          releaseSlot();
          release();
        });
        p.then(
          (x) => stored.push(x),
          (e) => {
            failed ??= e;
            const missed = (e as { block?: StoredBlock }).block;
            if (missed && ref) stored.push(missed);
          },
        );
        pending.push(p);
      }
      const blocks = await Promise.all(pending);
      return { blocks, size };
    } catch (e) {
      // Whoever asked for references must be able to release those of the blocks that landed,
      // or may have landed on some replicas (a put that missed its quorum).
      await Promise.allSettled(pending);
      throw Object.assign(e as object, { storedBlocks: stored });
    }
  }

  /** Streams bytes [start, end) of the concatenation of `blocks`, fetching one block ahead. */
  readRange(blocks: StoredBlock[], start: number, end: number): Readable {
    const self = this;
    async function* gen(): AsyncGenerator<Buffer> {
      const wanted = slices(blocks, start, end);
      let next = wanted.length > 0 ? self.getBlock(wanted[0]!.b.hash) : undefined;
      for (let i = 0; i < wanted.length; i++) {
        const data = await next!;
        next = i + 1 < wanted.length ? self.getBlock(wanted[i + 1]!.b.hash) : undefined;
        next?.catch(() => {}); // surfaced when awaited
        const w = wanted[i]!;
        yield w.from === 0 && w.to === data.length ? data : data.subarray(w.from, w.to);
      }
    }
    return Readable.from(gen(), { objectMode: false, highWaterMark: 1 });
  }

  /** Refcount maintenance, called from the block_ref table's update hook (inside its transaction).
   *  A block that becomes referenced here but is not on disk (this node missed its put) goes to
   *  the resync queue at once: the arrival of its reference, not a timer, drives the fetch. */
  refChanged(hashHex: string, delta: number): void {
    assertInTransaction(this.db, 'BlockManager.refChanged');
    const hash = Buffer.from(hashHex, 'hex');
    const old = this.rc.get(hash);
    const cur = old ?? { count: 0, zeroSince: this.clock.now() };
    const count = cur.count + delta;
    // A reference dropped that was never counted: refcounts are out of step with block_ref. Refused
    // (the whole transaction, block_ref entry included, rolls back) rather than clamped to 0,
    // which would hide the bug and let GC delete a block that other references still need.
    invariant(count >= 0, 'block refcount would go negative', { block: hashHex, count: cur.count, delta });
    this.setRc(hash, old, { count, zeroSince: count === 0 ? this.clock.now() : cur.zeroSince });
    if (cur.count === 0 && count > 0 && !this.storing.has(hashHex) && !this.store.has(hash)) this.resync.enqueue(hash);
  }

  refcount(hash: Buffer): number {
    return this.rc.get(hash)?.count ?? 0;
  }

  /** Blocks this node holds references to (refcount > 0): what it should store. A full scan:
   *  only the sweep (layout change, repair, daily) uses it. */
  *referenced(): Generator<Buffer> {
    for (const { key, value } of this.rc.range()) if (value.count > 0) yield Buffer.from(key);
  }

  rcCount(): number {
    return this.rc.count();
  }

  /** Deletes at once (not after the GC delay) those of `hashes` that nothing references and no put
   *  is storing: the blocks of a write refused while streaming. Returns how many went. */
  async discard(hashes: Buffer[]): Promise<number> {
    let n = 0;
    for (const h of hashes) {
      const hex = h.toString('hex');
      if (this.storing.has(hex) || this.deleting.has(hex)) continue;
      const gone = this.db.transaction(() => {
        const cur = this.rc.get(h);
        if (!cur || cur.count !== 0) return false;
        this.setRc(h, cur, undefined);
        return true;
      });
      if (!gone) continue;
      const p = this.store.delete(h);
      this.deleting.set(hex, p);
      await p.finally(() => this.deleting.delete(hex));
      n++;
    }
    return n;
  }

  /** Deletes blocks unreferenced for longer than the GC delay; returns how many. Reads only the
   *  due head of the GC index, never the whole refcount table. */
  async gc(limit = 10_000): Promise<number> {
    const now = this.clock.now();
    const victims: { k: Buffer; h: Buffer }[] = [];
    for (const { key } of this.gcIndex.range({ end: gcKey(now - this.gcDelayMs + 1, Buffer.alloc(0)), limit }))
      victims.push({ k: Buffer.from(key), h: Buffer.from(key.subarray(8)) });
    let n = 0;
    for (const { k, h } of victims) {
      // Re-check in a transaction: a concurrent PUT may have referenced it meanwhile.
      const gone = this.db.transaction(() => {
        const cur = this.rc.get(h);
        if (!cur || cur.count !== 0 || now - cur.zeroSince < this.gcDelayMs) {
          if (!cur || cur.count !== 0 || !gcKey(cur.zeroSince, h).equals(k)) this.gcIndex.remove(k); // stale entry
          return false;
        }
        this.setRc(h, cur, undefined);
        return true;
      });
      if (gone) {
        const hex = h.toString('hex');
        const p = this.store.delete(h);
        this.deleting.set(hex, p);
        await p.finally(() => this.deleting.delete(hex));
        n++;
      }
    }
    if (n) log.info({ blocks: n }, 'block gc');
    return n;
  }
}
