// Test support for the website server: a real Store in a temp dir, sites made the way the
// S3/admin APIs make them, objects written straight into the tables, and raw HTTP requests
// (raw so the Host header and unnormalised paths reach the server exactly as given).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { request, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Store, type StoreOptions } from '../model/store.ts';
import { createBucket, addAlias } from '../model/bucket-ops.ts';
import type { Bucket, WebsiteConfig } from '../model/bucket.ts';
import type { ObjectVersion } from '../model/object.ts';
import type { BlockRef } from '../model/version.ts';

export interface WebTestEnv {
  store: Store;
  dir: string;
  /** Creates a bucket (with optional extra aliases) and, unless website is null, enables it. */
  site(name: string, website?: WebsiteConfig | null, aliases?: string[]): Promise<Bucket>;
  setWebsite(b: Bucket, website: WebsiteConfig | null): Promise<void>;
  put(b: Bucket, key: string, body: string | Buffer, headers?: Record<string, string>): Promise<ObjectVersion>;
  close(): Promise<void>;
}

export async function webTestEnv(opts: Partial<StoreOptions> = {}): Promise<WebTestEnv> {
  const dir = mkdtempSync(join(tmpdir(), 'grenier-web-'));
  const store = new Store({
    metadataDir: join(dir, 'meta'),
    dataDir: join(dir, 'data'),
    // Small blocks and inline threshold so multi-block bodies stay small in tests.
    blockSize: 1024,
    compression: 'none',
    dataFsync: false,
    metadataFsync: false,
    inlineThreshold: 100,
    ...opts,
  });
  const env: WebTestEnv = {
    store,
    dir,
    async site(name, website = {}, aliases = []) {
      const b = await createBucket(store, name);
      for (const a of aliases) await addAlias(store, (await store.bucketById(b.id))!, a);
      if (website !== null) await env.setWebsite(b, website);
      return (await store.bucketById(b.id))!;
    },
    async setWebsite(b, website) {
      const cur = (await store.bucketById(b.id))!;
      await store.buckets.insert({ ...cur, website: { t: store.ts(), v: website } });
    },
    async put(b, key, body, headers = {}) {
      const data = Buffer.from(body);
      const v: ObjectVersion = {
        uuid: store.newUuid(),
        ts: store.ts(),
        state: 'complete',
        nullVersion: true,
        deleteMarker: false,
        multipart: false,
        meta: {
          size: data.length,
          etag: createHash('md5').update(data).digest('hex'),
          headers: Object.entries({ 'content-type': 'binary/octet-stream', ...headers }),
        },
      };
      const w = await store.writeData(Readable.from([data]));
      if (w.inline) v.inline = w.inline;
      else {
        let offset = 0;
        const refs: BlockRef[] = w.blocks.map((x) => {
          const r = { part: 1, offset, hash: x.hash, size: x.size };
          offset += x.size;
          return r;
        });
        await store.saveVersionBlocks(v.uuid, refs);
      }
      await store.objects.insert({ bucket: b.id, key, versions: [v] });
      return v;
    },
    async close() {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return env;
}

export async function listen(server: Server): Promise<{ port: number; close: () => Promise<void> }> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    port,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

export interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  text: string;
}

/** One request with an exact Host header and request target. */
export function get(port: number, host: string, path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, headers: { host, ...headers }, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks);
        resolve({ status: res.statusCode!, headers: res.headers, body, text: body.toString('utf8') });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}
