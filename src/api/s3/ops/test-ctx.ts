// Test support for S3 handlers: a real Store in a temp dir with one bucket and key, and a fake
// S3Ctx whose request body goes through the real body decoder and whose response is captured.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { Store, type StoreOptions } from '../../../model/store.ts';
import { newBucket, type Bucket, type Perm } from '../../../model/bucket.ts';
import type { AccessKey } from '../../../model/key.ts';
import { decodeBody, type AuthResult, type DecodedBody } from '../auth/index.ts';
import type { S3Ctx, S3Settings } from '../context.ts';
import { parseXml, type XmlElement } from '../xml.ts';

export interface TestEnv {
  store: Store;
  dir: string;
  accessKey: AccessKey;
  /** Creates (or re-reads) a bucket named `name` that `accessKey` may read and write. */
  bucket(name: string, perm?: Perm): Promise<Bucket>;
  close(): Promise<void>;
}

export async function testEnv(opts: Partial<StoreOptions> = {}): Promise<TestEnv> {
  const dir = mkdtempSync(join(tmpdir(), 'grenier-s3-'));
  const store = new Store({
    metadataDir: join(dir, 'meta'),
    dataDir: join(dir, 'data'),
    blockSize: 1024 * 1024,
    compression: 'none',
    dataFsync: false,
    metadataFsync: false,
    inlineThreshold: 3072,
    ...opts,
  });
  const now = Date.now();
  const accessKey: AccessKey = {
    id: 'GK000000000000000000000001',
    secret: 'x'.repeat(64),
    created: now,
    name: { t: now, v: 'test' },
    deleted: { t: now, v: false },
    allowCreateBucket: { t: now, v: true },
  };
  await store.keys.insert(accessKey);
  return {
    store,
    dir,
    accessKey,
    async bucket(name, perm = { read: true, write: true, owner: true }) {
      const existing = await store.bucketByName(name);
      if (existing) return existing;
      const b = newBucket(store.newUuid(), now);
      b.aliases[name] = { t: now, v: true };
      b.keys[accessKey.id] = { t: now, v: perm };
      await store.buckets.insert(b);
      await store.aliases.insert({ name, bucket: { t: now, v: b.id } });
      return b;
    },
    async close() {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** What a handler wrote to the response. */
export class FakeRes {
  status = 0;
  headers: Record<string, string | number | string[]> = {};
  chunks: Buffer[] = [];
  ended = false;
  headersSent = false;
  setHeader(k: string, v: string | number | string[]): this {
    this.headers[k.toLowerCase()] = v;
    return this;
  }
  getHeader(k: string): string | number | string[] | undefined {
    return this.headers[k.toLowerCase()];
  }
  /** Never closes early (handlers race their writes against 'close'). */
  once(_event: string, _f: () => void): this {
    return this;
  }
  removeHeader(k: string): void {
    delete this.headers[k.toLowerCase()];
  }
  writeHead(status: number, a?: unknown, b?: unknown): this {
    this.status = status;
    const h = typeof a === 'object' && a !== null ? a : b;
    if (h && typeof h === 'object') for (const [k, v] of Object.entries(h)) this.setHeader(k, v as string);
    this.headersSent = true;
    return this;
  }
  write(c: Buffer | string, cb?: (e?: Error | null) => void): boolean {
    if (!this.headersSent) this.writeHead(this.status || 200);
    // A copy: Store.sendData reuses a pooled buffer once the callback says it was written.
    this.chunks.push(Buffer.from(c));
    if (cb) queueMicrotask(() => cb(null));
    return true;
  }
  end(c?: Buffer | string | (() => void)): this {
    if (c !== undefined && typeof c !== 'function') this.write(c);
    if (!this.headersSent) this.writeHead(this.status || 200);
    this.ended = true;
    return this;
  }
  get body(): Buffer {
    return Buffer.concat(this.chunks);
  }
  text(): string {
    return this.body.toString('utf8');
  }
  xml(): XmlElement {
    return parseXml(this.text());
  }
  header(k: string): string | undefined {
    const v = this.headers[k.toLowerCase()];
    return v === undefined ? undefined : String(v);
  }
}

export interface FakeRequest {
  method?: string;
  bucketName?: string;
  bucket?: Bucket;
  key?: string;
  query?: Record<string, string> | string;
  headers?: IncomingHttpHeaders;
  /** The raw request body; an async iterable lets tests stream large bodies. */
  body?: Buffer | string | AsyncIterable<Buffer>;
  perm?: Perm;
  settings?: Partial<S3Settings>;
}

export function fakeCtx(env: TestEnv, r: FakeRequest): { ctx: S3Ctx; res: FakeRes } {
  const headers: IncomingHttpHeaders = { host: 'localhost:3900', ...(r.headers ?? {}) };
  const raw = r.body ?? Buffer.alloc(0);
  const src = typeof raw === 'string' || Buffer.isBuffer(raw) ? Readable.from([Buffer.from(raw)]) : Readable.from(raw);
  const req = Object.assign(src, { headers, method: r.method ?? 'GET', url: '/' }) as unknown as IncomingMessage;
  const res = new FakeRes();
  const auth: AuthResult = {
    accessKeyId: env.accessKey.id,
    payload: { kind: 'unsigned' },
    signing: { signingKey: Buffer.alloc(32), scope: '', seedSignature: '', amzDate: '' },
  };
  let decoded: DecodedBody | undefined;
  const query = typeof r.query === 'string' ? new URLSearchParams(r.query) : new URLSearchParams(r.query ?? {});
  const ctx: S3Ctx = {
    req,
    res: res as unknown as ServerResponse,
    store: env.store,
    settings: { region: 'garage', ...(r.settings ?? {}) },
    requestId: 'test-request',
    method: r.method ?? 'GET',
    bucketName: r.bucketName,
    key: r.key,
    query,
    auth,
    accessKey: env.accessKey,
    bucket: r.bucket,
    perm: r.perm ?? { read: true, write: true, owner: true },
    body() {
      if (decoded) throw new Error('fakeCtx: body() called twice');
      decoded = decodeBody(auth, headers, req);
      return decoded;
    },
  };
  return { ctx, res };
}

/** Deterministic pseudo-random bytes (xorshift), so block contents differ without crypto cost. */
export function pseudoRandom(size: number, seed: number): Buffer {
  const b = Buffer.allocUnsafe(size);
  let x = seed >>> 0 || 1;
  let i = 0;
  for (; i + 4 <= size; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b.writeUInt32LE(x >>> 0, i);
  }
  for (; i < size; i++) b[i] = (x = (x * 31 + 7) >>> 0) & 255;
  return b;
}

/** Yields `data` in small slices, as a socket would. */
export async function* slices(data: Buffer, size = 64 * 1024): AsyncGenerator<Buffer> {
  for (let i = 0; i < data.length; i += size) yield data.subarray(i, i + size);
}

export async function readAll(s: AsyncIterable<Buffer>): Promise<Buffer> {
  const out: Buffer[] = [];
  for await (const c of s) out.push(c);
  return Buffer.concat(out);
}
