// The domain store: every table of the model, the block manager, and the hooks that keep
// derived data (refcounts, counters, version cleanup) atomic with the entries that drive them.
import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
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
import { Counters } from './counters.ts';

export interface StoreOptions {
  metadataDir: string;
  dataDir: string;
  blockSize: number;
  compression: number | 'none';
  dataFsync: boolean;
  metadataFsync: boolean;
  inlineThreshold: number;
  clock?: Clock;
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
  readonly counters: Counters;
  readonly inlineThreshold: number;
  private lastTs = 0;

  constructor(o: StoreOptions) {
    this.clock = o.clock ?? systemClock;
    this.db = new Db(o.metadataDir, { fsync: o.metadataFsync });
    this.blocks = new BlockManager(this.db, o.dataDir, this.clock, {
      blockSize: o.blockSize,
      compression: o.compression,
      fsync: o.dataFsync,
    });
    this.inlineThreshold = o.inlineThreshold;
    this.buckets = new Table(this.db, bucketSchema);
    this.aliases = new Table(this.db, aliasSchema);
    this.keys = new Table(this.db, keySchema);
    this.objects = new Table(this.db, objectSchema);
    this.versions = new Table(this.db, versionSchema);
    this.blockRefs = new Table(this.db, blockRefSchema);
    this.mpus = new Table(this.db, mpuSchema);
    this.counters = new Counters(this.db);
    this.installHooks();
  }

  private installHooks(): void {
    // Object versions that disappear (superseded, deleted) release their data.
    this.objects.local.onUpdate((before, after) => {
      const u0 = usage(before);
      const u1 = usage(after);
      this.counters.add(after.bucket, { objects: u1.objects - u0.objects, bytes: u1.bytes - u0.bytes });
      if (!before) return;
      const kept = new Set(after.versions.map((v) => v.uuid));
      for (const v of before.versions) {
        if (kept.has(v.uuid)) continue;
        if (!v.inline && !v.deleteMarker) this.versions.local.mergeIn({ uuid: v.uuid, deleted: true, blocks: [] });
        if (v.multipart) this.mpus.local.mergeIn({ uploadId: v.uuid, bucket: after.bucket, key: after.key, deleted: true, parts: {} });
      }
      for (const v of after.versions) {
        if (v.state === 'aborted' && !v.inline) this.versions.local.mergeIn({ uuid: v.uuid, deleted: true, blocks: [] });
      }
    });
    // A deleted version drops its block references.
    this.versions.local.onUpdate((before, after) => {
      if (after.deleted && before && !before.deleted) {
        for (const b of before.blocks)
          this.blockRefs.local.mergeIn({ block: b.hash.toString('hex'), version: after.uuid, deleted: true });
      }
    });
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
          this.versions.local.mergeIn({ uuid: p.version, deleted: true, blocks: [] });
      }
    });
  }

  /** A timestamp for a new write: strictly increasing on this node even if the clock steps back. */
  ts(): number {
    this.lastTs = Math.max(this.clock.now(), this.lastTs + 1);
    return this.lastTs;
  }

  newUuid(): string {
    return randomUUID().replaceAll('-', '');
  }

  async bucketByName(name: string): Promise<Bucket | undefined> {
    const a = await this.aliases.get('alias', name);
    const id = a?.bucket.v;
    if (!id) return undefined;
    const b = await this.buckets.get('bucket', id);
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
  async writeData(body: AsyncIterable<Buffer>): Promise<{ inline?: Buffer; blocks: StoredBlock[]; size: number }> {
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
    const { blocks, size } = await this.blocks.writeStream(rest());
    return { blocks, size };
  }

  /** Atomically records a version's blocks and references (before the object entry points at it). */
  async saveVersionBlocks(uuid: string, blocks: BlockRef[]): Promise<void> {
    this.db.transaction(() => {
      this.versions.local.mergeIn({ uuid, deleted: false, blocks: sortBlocks([...blocks]) });
      for (const b of blocks) this.blockRefs.local.mergeIn({ block: b.hash.toString('hex'), version: uuid, deleted: false });
    });
  }

  /** Reads [start, end) of a version's data. */
  async readData(v: ObjectVersion, start: number, end: number): Promise<Readable> {
    if (v.inline) {
      const { Readable } = await import('node:stream');
      return Readable.from([v.inline.subarray(start, end)]);
    }
    const ve = await this.versions.get(v.uuid, '');
    if (!ve || ve.deleted) throw new Error(`version ${v.uuid} has no data`);
    return this.blocks.readRange(ve.blocks, start, end);
  }

  async close(): Promise<void> {
    await this.db.close();
  }
}
