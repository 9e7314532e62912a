// Hashing off the main thread: a pool of worker_threads computing block SHA-256s (one-shot) and the
// MD5/SHA-256 of request bodies (streams pinned to one worker, fed chunk by chunk while the body is read).
// Small inputs, a full queue or a pool of 0 workers hash inline; a crashed worker rejects its hashes only.
import { createHash, type Hash } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { log } from './log.ts';

export type HashAlg = 'md5' | 'sha256';

export interface HashPoolOptions {
  /** Worker threads; 0 hashes everything inline, -1 (or undefined) = cores - 1, at least 1. */
  workers?: number;
  /** Hash jobs waiting for or running in a worker at most; past it new work is hashed inline. */
  queueMax?: number;
  /** One-shot inputs shorter than this are hashed inline (a postMessage round trip costs more). */
  inlineBelowBytes?: number;
}

export class HashWorkerError extends Error {}

/** A body's hashes, updated chunk by chunk; digest() once at the end. */
export interface StreamHasher {
  /** True when the bytes are hashed by a worker (copied in batches), false when inline. */
  readonly offloaded: boolean;
  update(data: Uint8Array): void;
  /** A promise while too many batches are in flight (wait for it before reading more), else undefined. */
  ready(): Promise<void> | undefined;
  digest(): Promise<Record<HashAlg, Buffer>>;
  /** Drops the stream (body aborted); its digest will never be asked. */
  abort(): void;
}

/** Streams (bodies, copies) from this size, or of unknown length, are worth a worker: below it the
 *  round trip at the end costs more than the main thread saves (MD5 is ~6 ms per MiB, SHA-256 ~1.2 ms). */
export const STREAM_OFFLOAD_BYTES = 256 * 1024;
/** A stream's bytes are copied into batches of this size, each transferred (not copied again) to the worker. */
const BATCH_BYTES = 256 * 1024;
/** Batches of one stream handed to its worker and not yet hashed, at most (1 MiB of copies). */
const STREAM_BATCHES_IN_FLIGHT_MAX = 4;
/** Returned batch buffers kept for reuse. */
const FREE_BATCHES_MAX = 16;
/** Returned block-sized buffers kept for reuse. */
const FREE_BIG_MAX = 4;
const DEFAULT_QUEUE_MAX = 64;
const DEFAULT_INLINE_BELOW_BYTES = 64 * 1024;

// Plain JS (eval'd): no loader or type stripping needed in the thread, same code in a built tree.
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const streams = new Map();
parentPort.on('message', (m) => {
  switch (m.op) {
    case 'digest': {
      const d = createHash(m.alg).update(new Uint8Array(m.buf, 0, m.len)).digest();
      parentPort.postMessage({ id: m.id, digest: d.buffer.slice(d.byteOffset, d.byteOffset + d.length), buf: m.buf }, [m.buf]);
      break;
    }
    case 'open':
      streams.set(m.sid, m.algs.map((a) => [a, createHash(a)]));
      break;
    case 'update': {
      const s = streams.get(m.sid);
      if (s) { const v = new Uint8Array(m.buf, 0, m.len); for (const [, h] of s) h.update(v); }
      parentPort.postMessage({ id: m.id, buf: m.buf }, [m.buf]);
      break;
    }
    case 'end': {
      const s = streams.get(m.sid);
      streams.delete(m.sid);
      const out = {};
      for (const [a, h] of s ?? []) { const d = h.digest(); out[a] = d.buffer.slice(d.byteOffset, d.byteOffset + d.length); }
      parentPort.postMessage({ id: m.id, digests: out });
      break;
    }
    case 'drop':
      streams.delete(m.sid);
      break;
    default:
      throw new Error('hash worker: unknown op ' + String(m.op));
  }
});
`;

interface Job {
  resolve: (m: Reply) => void;
  reject: (e: Error) => void;
}

interface Reply {
  id: number;
  buf?: ArrayBuffer;
  digest?: ArrayBuffer;
  digests?: Record<string, ArrayBuffer>;
}

class Slot {
  readonly worker: Worker;
  readonly jobs = new Map<number, Job>();
  dead = false;
  private refd = false;

  readonly pool: HashPool;
  readonly index: number;

  constructor(pool: HashPool, index: number) {
    this.pool = pool;
    this.index = index;
    this.worker = new Worker(WORKER_SOURCE, { eval: true, name: `grenier-hash-${index}` });
    this.worker.unref();
    this.worker.on('message', (m: Reply) => this.reply(m));
    this.worker.on('error', (e) => this.fail(e));
    this.worker.on('exit', (code) => this.fail(new Error(`exited with code ${code}`)));
  }

  send(msg: object, transfer: ArrayBuffer[], job?: { id: number } & Job): void {
    if (job) {
      this.jobs.set(job.id, job);
      this.pool.pending++;
      // Referenced only while a hash is awaited: an idle pool never keeps the process alive.
      if (!this.refd) {
        this.worker.ref();
        this.refd = true;
      }
    }
    this.worker.postMessage(msg, transfer);
  }

  private reply(m: Reply): void {
    const job = this.jobs.get(m.id);
    if (!job) return;
    this.jobs.delete(m.id);
    this.pool.pending--;
    this.idleCheck();
    job.resolve(m);
  }

  private idleCheck(): void {
    if (this.jobs.size === 0 && this.refd) {
      this.worker.unref();
      this.refd = false;
    }
  }

  fail(e: Error): void {
    if (this.dead) return;
    this.dead = true;
    if (!this.pool.closed) log.error({ err: e.message, worker: this.index }, 'hash worker died; its hashes fail, the next job starts a new one');
    const err = new HashWorkerError(`hash worker ${this.index}: ${e.message}`);
    const jobs = [...this.jobs.values()];
    this.pool.pending -= this.jobs.size;
    this.jobs.clear();
    this.idleCheck();
    for (const s of this.pool.streamsOf(this)) s.failed(err);
    for (const j of jobs) j.reject(err);
    void this.worker.terminate().catch(() => {});
  }
}

export class HashPool {
  readonly size: number;
  readonly queueMax: number;
  readonly inlineBelowBytes: number;
  /** Jobs sent to workers and not answered yet (one-shot digests, stream batches and ends). */
  pending = 0;
  closed = false;
  private readonly slots: (Slot | undefined)[];
  private readonly free: ArrayBuffer[] = [];
  /** Returned one-shot buffers larger than a batch (blocks: mostly one size). */
  private readonly freeBig: ArrayBuffer[] = [];
  private readonly streams = new Set<PooledStream>();
  private nextId = 1;

  constructor(opts: HashPoolOptions = {}) {
    const w = opts.workers ?? -1;
    this.size = w < 0 ? Math.max(1, availableParallelism() - 1) : w;
    this.queueMax = opts.queueMax ?? DEFAULT_QUEUE_MAX;
    this.inlineBelowBytes = opts.inlineBelowBytes ?? DEFAULT_INLINE_BELOW_BYTES;
    this.slots = new Array<Slot | undefined>(this.size).fill(undefined);
  }

  /** Workers started and alive (they start on first use). */
  get liveWorkers(): number {
    return this.slots.filter((s) => s && !s.dead).length;
  }

  private offloadable(): boolean {
    return !this.closed && this.size > 0 && this.pending < this.queueMax;
  }

  /** The worker with the fewest jobs, started (or restarted after a crash) when needed. */
  /** Undefined when no worker could be started (the caller hashes inline). */
  private pick(): Slot | undefined {
    let best: Slot | undefined;
    for (let i = 0; i < this.size; i++) {
      let s = this.slots[i];
      if (!s || s.dead) {
        try {
          s = this.slots[i] = new Slot(this, i);
        } catch (e) {
          log.error({ err: (e as Error).message, worker: i }, 'hash worker could not start; hashing inline');
          continue;
        }
      }
      if (!best || s.jobs.size < best.jobs.size) best = s;
    }
    return best;
  }

  /** Starts the workers now rather than on the first large hash (a thread takes tens of ms to boot). */
  warm(): void {
    if (this.offloadable()) this.pick();
  }

  id(): number {
    return this.nextId++;
  }

  /** A buffer of at least `len` bytes to transfer: a returned batch buffer when it fits. */
  buffer(len: number): ArrayBuffer {
    if (len <= BATCH_BYTES) return this.free.pop() ?? new ArrayBuffer(BATCH_BYTES);
    const i = this.freeBig.findIndex((b) => b.byteLength >= len && b.byteLength <= 2 * len);
    return i >= 0 ? this.freeBig.splice(i, 1)[0]! : new ArrayBuffer(len);
  }

  recycle(buf: ArrayBuffer | undefined): void {
    if (!buf || this.closed) return;
    if (buf.byteLength === BATCH_BYTES) {
      if (this.free.length < FREE_BATCHES_MAX) this.free.push(buf);
    } else if (buf.byteLength > BATCH_BYTES && this.freeBig.length < FREE_BIG_MAX) this.freeBig.push(buf);
  }

  /** One digest of `data`. The caller keeps `data` (it is copied, never transferred). Rejects with
   *  HashWorkerError if the worker dies meanwhile (the caller may hash inline then: see digestOrInline). */
  async digest(alg: HashAlg, data: Uint8Array): Promise<Buffer> {
    const slot = data.length < this.inlineBelowBytes || !this.offloadable() ? undefined : this.pick();
    if (!slot) return createHash(alg).update(data).digest();
    const buf = this.buffer(data.length);
    new Uint8Array(buf, 0, data.length).set(data);
    const id = this.id();
    const reply = await new Promise<Reply>((resolve, reject) => {
      slot.send({ op: 'digest', id, alg, buf, len: data.length }, [buf], { id, resolve, reject });
    });
    this.recycle(reply.buf);
    return Buffer.from(reply.digest!);
  }

  /** Like digest(), hashed inline when the worker died under it. */
  async digestOrInline(alg: HashAlg, data: Uint8Array): Promise<Buffer> {
    try {
      return await this.digest(alg, data);
    } catch (e) {
      if (!(e instanceof HashWorkerError)) throw e;
      return createHash(alg).update(data).digest();
    }
  }

  /** Hashers for one stream: on one worker when one is free enough (`offload`), else inline. */
  stream(algs: HashAlg[], offload = true): StreamHasher {
    const slot = offload && this.offloadable() ? this.pick() : undefined;
    if (!slot) return new InlineStream(algs);
    const s = new PooledStream(this, slot, algs);
    this.streams.add(s);
    return s;
  }

  streamsOf(slot: Slot): PooledStream[] {
    return [...this.streams].filter((s) => s.slot === slot);
  }

  forget(s: PooledStream): void {
    this.streams.delete(s);
  }

  /** Terminates the workers; what they had not answered rejects; later hashing is inline. */
  async close(): Promise<void> {
    this.closed = true;
    const slots = this.slots.filter((s): s is Slot => s !== undefined);
    for (const s of slots) s.fail(new Error('hash pool closed'));
    await Promise.all(slots.map((s) => s.worker.terminate().catch(() => {})));
    this.free.length = 0;
    this.freeBig.length = 0;
  }
}

class InlineStream implements StreamHasher {
  readonly offloaded = false;
  private readonly hashes: [HashAlg, Hash][];
  constructor(algs: HashAlg[]) {
    this.hashes = algs.map((a) => [a, createHash(a)]);
  }
  update(data: Uint8Array): void {
    for (const [, h] of this.hashes) h.update(data);
  }
  ready(): undefined {
    return undefined;
  }
  async digest(): Promise<Record<HashAlg, Buffer>> {
    const out = {} as Record<HashAlg, Buffer>;
    for (const [a, h] of this.hashes) out[a] = h.digest();
    return out;
  }
  abort(): void {}
}

class PooledStream implements StreamHasher {
  readonly offloaded = true;
  private readonly sid: number;
  private batch: ArrayBuffer | undefined;
  private used = 0;
  private inFlight = 0;
  private error: Error | undefined;
  private waiter: { resolve: () => void; reject: (e: Error) => void; promise: Promise<void> } | undefined;
  private ended = false;

  private readonly pool: HashPool;
  readonly slot: Slot;

  constructor(pool: HashPool, slot: Slot, algs: HashAlg[]) {
    this.pool = pool;
    this.slot = slot;
    this.sid = pool.id();
    slot.send({ op: 'open', sid: this.sid, algs }, []);
  }

  update(data: Uint8Array): void {
    if (this.error) throw this.error;
    let off = 0;
    while (off < data.length) {
      this.batch ??= this.pool.buffer(BATCH_BYTES);
      const n = Math.min(BATCH_BYTES - this.used, data.length - off);
      new Uint8Array(this.batch, this.used, n).set(data.subarray(off, off + n));
      this.used += n;
      off += n;
      if (this.used === BATCH_BYTES) this.flush();
    }
  }

  /** Sends the current batch (the copy is transferred: its bytes are not copied again). */
  private flush(): void {
    if (!this.batch || this.used === 0) return;
    const buf = this.batch;
    const len = this.used;
    this.batch = undefined;
    this.used = 0;
    this.inFlight++;
    const id = this.pool.id();
    this.slot.send({ op: 'update', sid: this.sid, id, buf, len }, [buf], {
      id,
      resolve: (m) => {
        this.inFlight--;
        this.pool.recycle(m.buf);
        if (this.waiter && this.inFlight < STREAM_BATCHES_IN_FLIGHT_MAX) {
          const w = this.waiter;
          this.waiter = undefined;
          w.resolve();
        }
      },
      reject: (e) => this.failed(e),
    });
  }

  ready(): Promise<void> | undefined {
    if (this.error) return Promise.reject(this.error);
    if (this.inFlight < STREAM_BATCHES_IN_FLIGHT_MAX) return undefined;
    if (!this.waiter) {
      let resolve!: () => void;
      let reject!: (e: Error) => void;
      const promise = new Promise<void>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      this.waiter = { resolve, reject, promise };
    }
    return this.waiter.promise;
  }

  failed(e: Error): void {
    if (this.error) return;
    this.error = e;
    this.pool.forget(this);
    const w = this.waiter;
    this.waiter = undefined;
    w?.reject(e);
  }

  async digest(): Promise<Record<HashAlg, Buffer>> {
    if (this.error) throw this.error;
    if (this.ended) throw new Error('StreamHasher.digest called twice');
    this.ended = true;
    this.flush();
    const id = this.pool.id();
    try {
      const reply = await new Promise<Reply>((resolve, reject) => {
        this.slot.send({ op: 'end', sid: this.sid, id }, [], { id, resolve, reject });
      });
      const out = {} as Record<HashAlg, Buffer>;
      for (const [a, d] of Object.entries(reply.digests!)) out[a as HashAlg] = Buffer.from(d);
      return out;
    } finally {
      this.pool.forget(this);
    }
  }

  abort(): void {
    if (this.ended || this.error) return;
    this.ended = true;
    this.pool.forget(this);
    if (this.batch) this.pool.recycle(this.batch);
    this.batch = undefined;
    if (!this.slot.dead) this.slot.send({ op: 'drop', sid: this.sid }, []);
  }
}

// The process's pool: nodes acquire it with their limits and release it when they stop (the last
// release terminates the workers); code running without a node (tests) gets a default one.
let shared: HashPool | undefined;
let users = 0;

export interface HashPoolLimits {
  hash_workers: number;
  hash_queue_max: number;
}

export function acquireHashPool(limits: HashPoolLimits): () => Promise<void> {
  if (shared && users === 0 && (shared.size !== (limits.hash_workers < 0 ? Math.max(1, availableParallelism() - 1) : limits.hash_workers) || shared.queueMax !== limits.hash_queue_max)) {
    void shared.close();
    shared = undefined;
  }
  shared ??= new HashPool({ workers: limits.hash_workers, queueMax: limits.hash_queue_max });
  shared.warm();
  users++;
  let released = false;
  return async () => {
    if (released) return;
    released = true;
    if (--users === 0 && shared) {
      const p = shared;
      shared = undefined;
      await p.close();
    }
  };
}

export function hashPool(): HashPool {
  return (shared ??= new HashPool());
}
