// The client side of a fault run: workers that, from a seeded PRNG, send register operations
// (PUT, GET, DELETE, multipart upload) on a few keys of a bucket without and one with versioning,
// and set operations (PUT of a fresh key, then a full ListObjectsV2), to any node, recording each
// in the History with its outcome. Every call has a deadline; the loop stops when told to.
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { prng } from '../../../src/util/random.ts';
import type { History, Op, OpKind, Status } from './history.ts';
import { bodyFor, decodeBody } from './values.ts';

export const REG_BUCKET = 'reg';
export const REGV_BUCKET = 'regv';
export const SET_BUCKET = 'set';
export const REG_KEYS = 6;
/** S3's minimum size of every part but the last. */
const PART_MIN = 5 * 1024 * 1024;

export interface WorkloadOptions {
  seed: number;
  workers: number;
  /** One S3 client per node, by node index (a client whose node is down just fails). */
  clients: () => S3Client[];
  history: History;
  /** Deadline of one request (a multipart upload gets three). */
  opTimeoutMs: number;
  /** Upper bound on operations per worker (the loop also stops on `stop()`). */
  maxOpsPerWorker: number;
}

export type Rng = () => number;
export const int = (r: Rng, lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
export const pick = <T>(r: Rng, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;

/** ok / fail (certainly not applied: refused before it reached a server, or a 4xx) / info. */
export function classify(e: unknown): { status: Status; error: string } {
  const err = e as Error & { code?: string; $metadata?: { httpStatusCode?: number }; cause?: { code?: string } };
  const http = err.$metadata?.httpStatusCode;
  const code = err.code ?? err.cause?.code ?? '';
  const error = `${err.name}${http ? ` ${http}` : ''}${code ? ` ${code}` : ''}`;
  // Refused: no server saw it. Only without an HTTP answer: a 503's message may name a peer's
  // ECONNREFUSED while the node that answered wrote to some replicas before missing its quorum.
  if (!http && (code === 'ECONNREFUSED' || /ECONNREFUSED/.test(err.message ?? ''))) return { status: 'fail', error };
  if (http && http >= 400 && http < 500) return { status: 'fail', error };
  return { status: 'info', error };
}

function isNoSuchKey(e: unknown): boolean {
  const err = e as Error & { $metadata?: { httpStatusCode?: number } };
  return err.name === 'NoSuchKey';
}

/** A body size: mostly inline (≤ 3 KiB), often a few 64 KiB blocks, sometimes ~10 blocks. */
function size(r: Rng): number {
  const x = r();
  if (x < 0.45) return int(r, 40, 3000);
  if (x < 0.9) return int(r, 4000, 150_000);
  return int(r, 300_000, 700_000);
}

export class Workload {
  private stopped = false;
  private readonly o: WorkloadOptions;

  constructor(o: WorkloadOptions) {
    this.o = o;
  }

  stop(): void {
    this.stopped = true;
  }

  async run(): Promise<void> {
    await Promise.all(Array.from({ length: this.o.workers }, (_, w) => this.worker(w)));
  }

  private async worker(w: number): Promise<void> {
    const r = prng((this.o.seed * 7919 + w * 104729) >>> 0);
    for (let i = 0; i < this.o.maxOpsPerWorker && !this.stopped; i++) {
      const node = int(r, 0, this.o.clients().length - 1);
      const x = r();
      const bucket = r() < 0.5 ? REG_BUCKET : REGV_BUCKET;
      const key = `r${int(r, 0, REG_KEYS - 1)}`;
      if (x < 0.3) await this.put(w, node, bucket, key, size(r));
      else if (x < 0.6) await this.get(w, node, bucket, key, 'run');
      else if (x < 0.67) await this.del(w, node, bucket, key);
      else if (x < 0.72) await this.mpu(w, node, bucket, key, r() < 0.15 ? [PART_MIN, int(r, 100, 20_000)] : [int(r, 100, 200_000)]);
      else if (x < 0.9) await this.add(w, node, size(r) % 5000 + 40);
      else await this.list(w, node, 'run');
    }
  }

  private client(node: number): S3Client {
    return this.o.clients()[node]!;
  }

  private record(base: Omit<Op, 'id' | 'end' | 'status'>, status: Status, extra: Partial<Op> = {}): Op | undefined {
    return this.o.history.add({ ...base, end: this.o.history.now(), status, ...extra });
  }

  private async put(worker: number, node: number, bucket: string, key: string, n: number, kind: OpKind = 'put', writeId = this.o.history.writeId()): Promise<void> {
    const h = this.o.history;
    const body = bodyFor(bucket, key, writeId, n);
    const base = { worker, node, kind, bucket, key, writeId, size: body.length, start: h.now(), phase: 'run' as const };
    try {
      await this.client(node).send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }), { abortSignal: AbortSignal.timeout(this.o.opTimeoutMs) });
      this.record(base, 'ok');
    } catch (e) {
      const c = classify(e);
      this.record(base, c.status, { error: c.error });
    }
  }

  private add(worker: number, node: number, n: number): Promise<void> {
    const id = this.o.history.writeId();
    return this.put(worker, node, SET_BUCKET, `e-${String(id).padStart(7, '0')}`, n, 'add', id);
  }

  async get(worker: number, node: number, bucket: string, key: string, phase: Op['phase']): Promise<Op | undefined> {
    const h = this.o.history;
    const base = { worker, node, kind: 'get' as const, bucket, key, start: h.now(), phase };
    try {
      const res = await this.client(node).send(new GetObjectCommand({ Bucket: bucket, Key: key }), { abortSignal: AbortSignal.timeout(this.o.opTimeoutMs) });
      const body = Buffer.from(await res.Body!.transformToByteArray());
      const d = decodeBody(bucket, key, body);
      return this.record(base, 'ok', d.ok ? { read: d.writeId } : { read: d.writeId ?? -1, wrong: d.why });
    } catch (e) {
      if (isNoSuchKey(e)) return this.record(base, 'ok', { read: null });
      return this.record(base, 'fail', { error: classify(e).error });
    }
  }

  private async del(worker: number, node: number, bucket: string, key: string): Promise<void> {
    const h = this.o.history;
    const base = { worker, node, kind: 'delete' as const, bucket, key, writeId: h.writeId(), start: h.now(), phase: 'run' as const };
    try {
      await this.client(node).send(new DeleteObjectCommand({ Bucket: bucket, Key: key }), { abortSignal: AbortSignal.timeout(this.o.opTimeoutMs) });
      this.record(base, 'ok');
    } catch (e) {
      const c = classify(e);
      this.record(base, c.status, { error: c.error });
    }
  }

  /** CreateMultipartUpload, the parts, Complete: one write whose interval spans all three. */
  private async mpu(worker: number, node: number, bucket: string, key: string, parts: number[]): Promise<void> {
    const h = this.o.history;
    const writeId = h.writeId();
    const total = parts.reduce((a, b) => a + b, 0);
    const body = bodyFor(bucket, key, writeId, total);
    const base = { worker, node, kind: 'mpu' as const, bucket, key, writeId, size: body.length, start: h.now(), phase: 'run' as const };
    const c = this.client(node);
    const signal = () => AbortSignal.timeout(this.o.opTimeoutMs);
    let uploadId: string | undefined;
    const etags: { PartNumber: number; ETag: string }[] = [];
    try {
      uploadId = (await c.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }), { abortSignal: signal() })).UploadId;
      let off = 0;
      for (let i = 0; i < parts.length; i++) {
        const end = i === parts.length - 1 ? body.length : off + parts[i]!;
        const r = await c.send(new UploadPartCommand({ Bucket: bucket, Key: key, UploadId: uploadId, PartNumber: i + 1, Body: body.subarray(off, end) }), { abortSignal: signal() });
        etags.push({ PartNumber: i + 1, ETag: r.ETag! });
        off = end;
      }
    } catch (e) {
      // Nothing was completed: the key cannot show this write.
      this.record(base, 'fail', { error: `before complete: ${classify(e).error}` });
      return;
    }
    try {
      await c.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId, MultipartUpload: { Parts: etags } }), { abortSignal: signal() });
      this.record(base, 'ok');
    } catch (e) {
      const cl = classify(e);
      this.record(base, cl.status, { error: `complete: ${cl.error}` });
    }
  }

  /** Every key of the set bucket (all pages, bounded). */
  async list(worker: number, node: number, phase: Op['phase']): Promise<Op | undefined> {
    const h = this.o.history;
    const base = { worker, node, kind: 'list' as const, bucket: SET_BUCKET, key: '', start: h.now(), phase };
    const elements: string[] = [];
    try {
      let token: string | undefined;
      for (let page = 0; page < 1000; page++) {
        const r = await this.client(node).send(new ListObjectsV2Command({ Bucket: SET_BUCKET, ContinuationToken: token }), { abortSignal: AbortSignal.timeout(this.o.opTimeoutMs) });
        for (const o of r.Contents ?? []) elements.push(o.Key!);
        if (!r.IsTruncated) return this.record(base, 'ok', { elements });
        token = r.NextContinuationToken;
      }
      return this.record(base, 'fail', { error: 'more than 1000 pages' });
    } catch (e) {
      return this.record(base, 'fail', { error: classify(e).error });
    }
  }
}
