// The domain store: every table of the model, the block manager, and the hooks that keep
// derived data (refcounts, counters, version cleanup) atomic with the entries that drive them.
import { randomUUID } from 'node:crypto';
import { Readable, pipeline as pipelineCb, type Writable } from 'node:stream';
import { once } from 'node:events';
import { Db } from '../db/db.ts';
import { Table } from '../table/table.ts';
import { BlockManager, type StoredBlock } from '../block/manager.ts';
import { systemClock, type Clock } from '../util/time.ts';
import { bucketSchema, type Bucket } from './bucket.ts';
import { aliasSchema, type Alias } from './alias.ts';
import { keySchema, type AccessKey } from './key.ts';
import { objectSchema, usage, type ObjectEntry, type ObjectVersion } from './object.ts';
import { versionSchema, sortBlocks, type VersionEntry, type BlockRef } from './version.ts';
import { blockRefSchema, type BlockRefEntry } from './block-ref.ts';
import { mpuSchema, type MpuEntry } from './mpu.ts';
import { Counters, type Usage } from './counters.ts';
import { routeSchema, type Route } from './route.ts';
import { certificateSchema, type CertificateEntry } from './certificate.ts';
import { acmeTokenSchema, type AcmeToken } from './acme-token.ts';
import { siteSchema, type SiteEntry } from './site.ts';
import { quotaRequestSchema, type QuotaRequest } from './quota-request.ts';
import { indexUploads } from './upload-index.ts';
import { adminTokenSchema, type AdminToken } from './admin-token.ts';
import { auditSchema, type AuditEvent } from './audit.ts';
import { defaultLimits, type LimitsConfig } from '../config/config.ts';
import type { ReplicationContext } from '../table/replication.ts';
import { BlockReplication } from '../block/replication.ts';
import { Endpoint, str } from '../rpc/schema.ts';
import { Rpc } from '../rpc/rpc.ts';
import { LocalTransport } from '../rpc/local-transport.ts';

/** Longest bucket id a peer may ask the counters of (ids are 64 hex characters). */
const BUCKET_ID_BYTES_MAX = 256;
import { cryptSlice, decryptBlocks } from './sse-c-cipher.ts';
import { installSiteIndexes } from './site-index.ts';

/** Objects of up to this many blocks carry their block list in the object entry. */
export const EMBED_MAX_BLOCKS = 4;

export interface StoreOptions {
  metadataDir: string;
  dataDir: string;
  blockSize: number;
  compression: number | 'none';
  dataFsync: boolean;
  metadataFsync: boolean;
  inlineThreshold: number;
  gcDelayMs?: number;
  clock?: Clock;
  /** The config's [limits] (object size, upload expiry); defaults when absent (tests). */
  limits?: Partial<LimitsConfig>;
}

export class Store {
  readonly db: Db;
  readonly clock: Clock;
  readonly blocks: BlockManager;
  readonly buckets: Table<Bucket>;
  readonly aliases: Table<Alias>;
  readonly keys: Table<AccessKey>;
  readonly objects: Table<ObjectEntry>;
  readonly versions: Table<VersionEntry>;
  readonly blockRefs: Table<BlockRefEntry>;
  readonly mpus: Table<MpuEntry>;
  readonly routes: Table<Route>;
  readonly certs: Table<CertificateEntry>;
  readonly acmeTokens: Table<AcmeToken>;
  readonly sites: Table<SiteEntry>;
  readonly quotaRequests: Table<QuotaRequest>;
  readonly adminTokens: Table<AdminToken>;
  readonly audit: Table<AuditEvent>;
  readonly counters: Counters;
  readonly inlineThreshold: number;
  readonly limits: LimitsConfig;
  private lastTs = 0;
  /** The counters endpoint (a bucket's usage, asked of its partition's nodes): on a node alone,
   *  served on an RPC layer with no peers, whose reads the SingleNode strategy keeps local. */
  private countersEp: Endpoint<string, Usage>;
  /** Deadline of one replica call (the cluster's once enableCluster ran). */
  private timeoutMs = 30_000;

  constructor(o: StoreOptions) {
    this.clock = o.clock ?? systemClock;
    this.db = new Db(o.metadataDir, { fsync: o.metadataFsync, limits: defaultLimits(o.limits) });
    this.blocks = new BlockManager(this.db, o.dataDir, this.clock, {
      blockSize: o.blockSize,
      compression: o.compression,
      fsync: o.dataFsync,
      gcDelayMs: o.gcDelayMs,
      writesInFlightMax: Math.floor(defaultLimits(o.limits).block_writes_in_flight_bytes_max / o.blockSize),
    });
    this.inlineThreshold = o.inlineThreshold;
    this.limits = defaultLimits(o.limits);
    this.buckets = new Table(this.db, bucketSchema);
    this.aliases = new Table(this.db, aliasSchema);
    this.keys = new Table(this.db, keySchema);
    this.objects = new Table(this.db, objectSchema);
    this.versions = new Table(this.db, versionSchema);
    this.blockRefs = new Table(this.db, blockRefSchema);
    this.mpus = new Table(this.db, mpuSchema);
    this.routes = new Table(this.db, routeSchema);
    this.certs = new Table(this.db, certificateSchema);
    this.acmeTokens = new Table(this.db, acmeTokenSchema);
    this.sites = new Table(this.db, siteSchema);
    this.quotaRequests = new Table(this.db, quotaRequestSchema);
    this.adminTokens = new Table(this.db, adminTokenSchema);
    this.audit = new Table(this.db, auditSchema);
    this.counters = new Counters(this.db);
    this.countersEp = this.serveCounters(new Rpc(new LocalTransport(), this.clock));
    this.installHooks();
  }

  private serveCounters(rpc: Rpc): Endpoint<string, Usage> {
    return new Endpoint<string, Usage>(rpc, 'counters/get', str(BUCKET_ID_BYTES_MAX)).serve(async (_f, bucket) => this.counters.get(bucket));
  }

  private installHooks(): void {
    // The site workflow's local indexes (an owner's sites, a site's requests): model/site-index.ts.
    installSiteIndexes(this);
    // Object versions that disappear (superseded, deleted) release their data.
    this.objects.local.onUpdate((before, after) => {
      const u0 = usage(before);
      const u1 = usage(after);
      this.counters.add(after.bucket, { objects: u1.objects - u0.objects, bytes: u1.bytes - u0.bytes });
      indexUploads(this, before, after);
      if (!before) return;
      const kept = new Set(after.versions.map((v) => v.uuid));
      for (const v of before.versions) {
        if (kept.has(v.uuid)) continue;
        if (v.blocks) for (const b of v.blocks) this.blockRefs.queueInsert({ block: b.hash.toString('hex'), version: v.uuid, deleted: true });
        else if (!v.inline && !v.deleteMarker) this.versions.queueInsert({ uuid: v.uuid, deleted: true, blocks: [] });
        if (v.multipart) this.mpus.queueInsert({ uploadId: v.uuid, bucket: after.bucket, key: after.key, deleted: true, parts: {} });
      }
      for (const v of after.versions) {
        if (v.state !== 'aborted' || v.inline) continue;
        if (v.blocks) for (const b of v.blocks) this.blockRefs.queueInsert({ block: b.hash.toString('hex'), version: v.uuid, deleted: true });
        else this.versions.queueInsert({ uuid: v.uuid, deleted: true, blocks: [] });
      }
    });
    // A deleted version drops its block references.
    this.versions.local.onUpdate((before, after) => {
      if (after.deleted && before && !before.deleted) {
        for (const b of before.blocks)
          this.blockRefs.queueInsert({ block: b.hash.toString('hex'), version: after.uuid, deleted: true });
      }
    });
    // Without a cluster, a put's reference is recorded at once too (replicas do it for remote puts),
    // in a group commit shared with concurrent puts; the put returns once it is durable.
    this.blocks.onLocalRef = (hash, version) => this.blockRefs.local.insertManyGrouped([{ block: hash.toString('hex'), version, deleted: false }]);
    // Block references drive the local refcounts.
    this.blockRefs.local.onUpdate((before, after) => {
      const was = before !== undefined && !before.deleted;
      const is = !after.deleted;
      if (was !== is) this.blocks.refChanged(after.block, is ? 1 : -1);
    });
    // A finished or aborted multipart upload releases the part versions.
    this.mpus.local.onUpdate((before, after) => {
      if (after.deleted && before && !before.deleted) {
        for (const p of Object.values(before.parts))
          this.versions.queueInsert({ uuid: p.version, deleted: true, blocks: [] });
      }
    });
  }

  /** A timestamp for a new write: strictly increasing on this node even if the clock steps back. */
  ts(): number {
    this.lastTs = Math.max(this.clock.now(), this.lastTs + 1);
    return this.lastTs;
  }

  /** Keeps this node's timestamps after one it saw (hybrid logical clock). */
  observeTs(t: number): void {
    if (t > this.lastTs) this.lastTs = t;
  }

  newUuid(): string {
    return randomUUID().replaceAll('-', '');
  }

  async bucketByName(name: string): Promise<Bucket | undefined> {
    const a = await this.aliases.getFresh('alias', name);
    const id = a?.bucket.v;
    if (!id) return undefined;
    const b = await this.buckets.getFresh('bucket', id);
    return b && !b.deleted.v ? b : undefined;
  }

  async bucketById(id: string): Promise<Bucket | undefined> {
    const b = await this.buckets.get('bucket', id);
    return b && !b.deleted.v ? b : undefined;
  }

  async liveBuckets(): Promise<Bucket[]> {
    return (await this.buckets.range('bucket')).filter((b) => !b.deleted.v);
  }

  async key(id: string): Promise<AccessKey | undefined> {
    const k = await this.keys.get('key', id);
    return k && !k.deleted.v ? k : undefined;
  }

  /** Stores a body: small ones are returned inline, larger ones as blocks. Never holds more than
   *  the inline threshold plus the block manager's bounded window in memory. */
  async writeData(body: AsyncIterable<Buffer>, ref?: string): Promise<{ inline?: Buffer; blocks: StoredBlock[]; size: number }> {
    const it = body[Symbol.asyncIterator]();
    const head: Buffer[] = [];
    let headLen = 0;
    let done = false;
    while (headLen <= this.inlineThreshold) {
      const r = await it.next();
      if (r.done) {
        done = true;
        break;
      }
      const b = Buffer.isBuffer(r.value) ? r.value : Buffer.from(r.value);
      head.push(b);
      headLen += b.length;
    }
    if (done) return { inline: Buffer.concat(head, headLen), blocks: [], size: headLen };
    async function* rest(): AsyncGenerator<Buffer> {
      yield* head;
      for (let r = await it.next(); !r.done; r = await it.next()) yield r.value;
    }
    const { blocks, size } = await this.blocks.writeStream(rest(), ref);
    return { blocks, size };
  }

  /** Atomically records a version's blocks and references (before the object entry points at it). */
  async saveVersionBlocks(uuid: string, blocks: BlockRef[]): Promise<void> {
    const version: VersionEntry = { uuid, deleted: false, blocks: sortBlocks([...blocks]) };
    const refs = blocks.map((b) => ({ block: b.hash.toString('hex'), version: uuid, deleted: false }));
    await Promise.all([this.versions.insert(version), this.blockRefs.insertMany(refs)]);
  }

  /** Drops the references a failed write made through block puts (writeData/writeStream with
   *  `uuid` as ref), then deletes at once the blocks nothing else references: a refused upload
   *  gives its disk space back now, not after the GC delay. */
  async releaseRefs(uuid: string, blocks: { hash: Buffer }[]): Promise<void> {
    if (blocks.length === 0) return;
    await this.blockRefs.insertMany(blocks.map((b) => ({ block: b.hash.toString('hex'), version: uuid, deleted: true })));
    await new Promise((r) => setImmediate(r)); // let the puts' own "storing" marks clear
    await this.blocks.discard(blocks.map((b) => b.hash));
  }

  /** The blocks a failed writeData/writeStream had stored (attached to its error). */
  static landedBlocks(e: unknown): StoredBlock[] {
    return (e as { storedBlocks?: StoredBlock[] } | null)?.storedBlocks ?? [];
  }

  /** References `blocks` from version `uuid` (copies share blocks). */
  async addRefs(uuid: string, blocks: BlockRef[]): Promise<void> {
    await this.blockRefs.insertMany(blocks.map((b) => ({ block: b.hash.toString('hex'), version: uuid, deleted: false })));
  }

  /** Records the blocks of a version written with writeData(body, uuid). The block puts already
   *  stored the references on the blocks' replicas (on a node alone, LocalBlocks on this one); a
   *  short list is embedded in the object version (returned) so neither PUT nor GET touches the
   *  version table. */
  async commitBlocks(uuid: string, blocks: StoredBlock[]): Promise<BlockRef[] | undefined> {
    let offset = 0;
    const refs = blocks.map((x) => {
      const r = { part: 0, offset, hash: x.hash, size: x.size };
      offset += x.size;
      return r;
    });
    if (refs.length <= EMBED_MAX_BLOCKS) return refs;
    await this.versions.insert({ uuid, deleted: false, blocks: refs });
    return undefined;
  }

  /** Joins a cluster: every table replicates, blocks go to their partition's nodes. */
  enableCluster(ctx: ReplicationContext, blockOpts: { backgroundBytes: number }): BlockReplication {
    this.timeoutMs = ctx.timeoutMs;
    for (const t of this.tables()) t.replicate(ctx);
    const repl = new BlockReplication(this.blocks, ctx.rpc, ctx.placement, {
      writeQuorum: ctx.quorums.write,
      timeoutMs: ctx.timeoutMs,
      backgroundBytes: blockOpts.backgroundBytes,
    });
    this.blocks.remote = repl;
    // Group commit: the references of concurrent block puts share one durable commit.
    repl.onRef = (hash, version) => this.blockRefs.local.insertManyGrouped([{ block: hash.toString('hex'), version, deleted: false }]);
    // A replica that missed a block put also missed its reference (it travels with the put): keep
    // the reference for it in the block_ref queue. Delivered when it is back, it queues the fetch.
    repl.onMissedReplica = (node, hash, version) => {
      if (version) this.blockRefs.queueFor(node, [{ block: hash.toString('hex'), version, deleted: false }], 'missed block put');
    };
    this.countersEp = this.serveCounters(ctx.rpc);
    return repl;
  }

  tables(): Table<any>[] {
    return [this.buckets, this.aliases, this.keys, this.objects, this.versions, this.blockRefs, this.mpus, this.routes, this.certs, this.acmeTokens, this.sites, this.quotaRequests, this.adminTokens, this.audit];
  }

  /** A bucket's usage. Its objects all live in one partition (pk = bucket id), so the nodes of
   *  that partition count them; others ask them and keep the largest (most complete) answer. */
  async usage(bucketId: string): Promise<Usage> {
    // Where the objects table reads this partition from (SingleNode, alone: here).
    const s = this.objects.strategy;
    const p = this.objects.local.partitionOf(bucketId);
    const nodes = s.readNodes(p);
    if (nodes.length === 0 || s.readsLocal(p)) return this.counters.get(bucketId);
    const replies = await this.countersEp.all(nodes, bucketId, { timeoutMs: this.timeoutMs });
    let best: Usage | undefined;
    for (const r of replies) if (r.value && (!best || r.value.bytes > best.bytes || r.value.objects > best.objects)) best = r.value;
    if (!best) throw new Error('usage: no replica of the bucket answered');
    return best;
  }

  /** Sends [start, end) of a version's data to `out` and ends it (reusing pooled buffers). An
   *  SSE-C version needs the customer's key (checked by the caller) and is decrypted on the way. */
  async sendData(v: ObjectVersion, start: number, end: number, out: Writable, key?: Buffer): Promise<void> {
    if (v.ssec) {
      const src = await this.readData(v, start, end, key);
      const closed = new Promise<never>((_, rej) => out.once('close', () => rej(new Error('client went away'))));
      closed.catch(() => {});
      try {
        for await (const c of src) if (!out.write(c)) await Promise.race([once(out, 'drain'), closed]);
      } catch (e) {
        src.destroy();
        throw e;
      }
      out.end();
      return;
    }
    if (v.inline) {
      out.end(v.inline.subarray(start, end));
      return;
    }
    const blocks = v.blocks ?? (await this.versionBlocks(v.uuid));
    await this.blocks.sendRange(blocks, start, end, out);
  }

  private async versionBlocks(uuid: string): Promise<BlockRef[]> {
    const ve = await this.versions.get(uuid, '');
    if (!ve || ve.deleted) throw new Error(`version ${uuid} has no data`);
    return ve.blocks;
  }

  /** Reads [start, end) of a version's data (an SSE-C version's decrypted with `key`, which the
   *  caller has checked against it: without one the ciphertext is never handed out). */
  async readData(v: ObjectVersion, start: number, end: number, key?: Buffer): Promise<Readable> {
    if (v.ssec) {
      if (!key) throw new Error(`version ${v.uuid} is SSE-C encrypted: reading it needs the customer's key`);
      if (v.inline) return Readable.from([cryptSlice(v.inline, start, end, key, v.ssec.iv!)]);
      const blocks = v.blocks ?? (await this.versionBlocks(v.uuid));
      // pipeline, not pipe: a failed block read must reach the reader as an error, not an early end.
      const plain = decryptBlocks(blocks, start, key, v.ssec.iv);
      pipelineCb(this.blocks.readRange(blocks, start, end), plain, () => {});
      return plain;
    }
    if (v.inline) return Readable.from([v.inline.subarray(start, end)]);
    return this.blocks.readRange(v.blocks ?? (await this.versionBlocks(v.uuid)), start, end);
  }

  async close(): Promise<void> {
    await this.db.close();
  }
}
