// The table the rest of the program uses: one code path behind a replication strategy (a node
// alone, sharded, everywhere): reads ask the strategy's replicas and merge (repairing stale ones),
// writes wait for a quorum in every write set, and replicas that missed a write get it from a
// persistent queue.
import { pack } from 'msgpackr';
import { DB_KEY_BYTES_MAX, checkKeyBytes, type Db, type Tree } from '../db/db.ts';
import { LocalTable, type RangeQuery } from './local.ts';
import type { TableSchema } from './schema.ts';
import { Everywhere, Sharded, SingleNode, type ReplicationContext, type ReplicationStrategy } from './replication.ts';
import { Rpc } from '../rpc/rpc.ts';
import { LocalTransport } from '../rpc/local-transport.ts';
import { systemClock } from '../util/time.ts';
import { InvariantError, assertInTransaction, invariant } from '../util/assert.ts';
import type { NodeId } from '../rpc/transport.ts';
import { MerkleCache, valueHash } from './merkle.ts';
import { log } from '../util/log.ts';
import { QuorumError, quorumOverSets } from '../rpc/quorum.ts';
import { PARTITION_COUNT } from './partitions.ts';
import { Endpoint, PayloadError, arr, bool, bytes, int, obj, opt, str, type Check } from '../rpc/schema.ts';

export type { RangeQuery };

/** Node ids are 32-byte public keys; queue keys start with one. */
const NODE_ID_BYTES = 32;

/** What a peer may send to a table endpoint (the client path never needs more in one call). */
export const TABLE_RPC_LIMITS = {
  /** Entries in one put (a write batch, a queue drain of 1000, an anti-entropy bucket). */
  entriesPerPut: 10_000,
  /** Storage keys in one fetch (one Merkle bucket's differing entries). */
  keysPerFetch: 100_000,
  /** Partition and sort keys: a storage key (32-byte hash ‖ sort key) must fit a queue key. */
  keyBytes: DB_KEY_BYTES_MAX - NODE_ID_BYTES - 32,
  rangeLimitMax: 1_000_000,
};

/** Entries kept for one replica in one table: past it, new entries for that node are dropped (it
 *  is far behind or gone; anti-entropy repairs it when it returns) and a warning is logged. */
export const PENDING_PER_NODE_MAX = 1_000_000;

/** Key (after the table's prefix) of the "counts match the queue" mark (not 32 bytes: no node id). */
const COUNTS_MARK = Buffer.from('counts-v1');

/** insertAfter's writes before it falls back to reading first (each retry follows a newer entry
 *  some replica reported: only concurrent writers to one key make more than one). */
const INSERT_AFTER_ATTEMPTS = 4;

const partition = int(0, 255);
const storageKey = bytes(DB_KEY_BYTES_MAX - NODE_ID_BYTES);
const keyStr = str(TABLE_RPC_LIMITS.keyBytes);
const getMsg = obj({ pk: keyStr, sk: keyStr });
const rangeMsg = obj({
  pk: keyStr,
  q: obj({ start: opt(keyStr), after: opt(keyStr), prefix: opt(keyStr), limit: opt(int(0, TABLE_RPC_LIMITS.rangeLimitMax)), reverse: opt(bool) }),
});
const tombstoneMsg = obj({ k: storageKey, h: bytes(16, 16) });
const itemsMsg = obj({ p: partition, b: partition });

type GetReq = ReturnType<typeof getMsg>;
type RangeReq = ReturnType<typeof rangeMsg>;
type TombstoneReq = ReturnType<typeof tombstoneMsg>;

/** A table's RPC endpoints, typed once (requests checked where they arrive, answers typed). */
export interface TableEndpoints<E> {
  get: Endpoint<GetReq, E | null>;
  range: Endpoint<RangeReq, E[]>;
  put: Endpoint<E[], boolean>;
  /** Merges, answering for each entry the newest timestamp it must follow (null: none). */
  putAfter: Endpoint<E[], (number | null)[]>;
  root: Endpoint<number, Buffer>;
  roots: Endpoint<number[], Buffer[]>;
  buckets: Endpoint<number, Buffer[]>;
  items: Endpoint<{ p: number; b: number }, [Buffer, Buffer][]>;
  /** Entries by storage key (null: absent); a caller checks the answer before storing it. */
  fetch: Endpoint<Buffer[], unknown>;
  gcCheck: Endpoint<TombstoneReq, boolean>;
  gcDelete: Endpoint<TombstoneReq, boolean>;
}

/** Deadline of a call to itself by a node alone (it never waits on a network). */
const LOCAL_TIMEOUT_MS = 30_000;

/** Entries per read-repair put of a range (well under the put endpoint's entry limit). */
const RANGE_REPAIR_BATCH = 500;

function sameBytes(a: unknown, b: unknown): boolean {
  return Buffer.compare(pack(a), pack(b)) === 0;
}

export class Table<E> {
  readonly local: LocalTable<E>;
  readonly schema: TableSchema<E>;
  readonly merkle: MerkleCache;
  /** The RPC layer (a node alone has one with no peers: its calls are to itself). */
  private rpc: Rpc;
  /** Deadline of one replica call. */
  private timeoutMs = LOCAL_TIMEOUT_MS;
  /** Where entries live and what a quorum is (SingleNode until replicate()). */
  strategy: ReplicationStrategy;
  /** This table's endpoints on `rpc`. */
  eps: TableEndpoints<E>;
  /** For an "everywhere" table: the one partition its constant partition key hashes to. */
  private readonly home?: number;
  private readonly db: Db;
  /** Entries some replica still lacks: key = node id (32 bytes) ‖ storage key, value = the entry
   *  (merged with what was already queued), so non-replica nodes keep nothing in the table itself. */
  private readonly pending: Tree<E>;

  /** Entries queued per node, in one tree shared by every table (LMDB's number of named
   *  databases is bounded): table name ‖ 0 ‖ node id (32 bytes) → count, written in the same
   *  transaction as the entries (a rolled-back enqueue counts nothing), so the bound is exact. */
  private readonly pendingCounts: Tree<number>;
  /** This table's prefix in pendingCounts. */
  private readonly countPrefix: Buffer;
  /** Set once the counts are known to match the queue (older databases count it once). */
  private countsReady = false;
  /** Bound of `pending` per node (PENDING_PER_NODE_MAX; lowered by tests). */
  pendingPerNodeMax = PENDING_PER_NODE_MAX;
  private droppedWarnedAt = 0;

  /** Nodes holding some partition in an active layout version (rehomeDeparted's "still in the
   *  layout"), derived once per layout change, not on every drain pass; undefined: to derive. */
  private activeNodesCache?: Set<NodeId>;
  /** Whether the placement tells of its changes (else the set is derived on each use). */
  private placementTellsChanges = false;

  /** Storage keys of tombstones, kept by an update hook so GC never scans the whole table. */
  readonly tombstones: Tree<1>;

  constructor(db: Db, schema: TableSchema<E>) {
    this.db = db;
    this.schema = schema;
    this.local = new LocalTable(db, schema);
    this.merkle = new MerkleCache(this.local);
    this.pending = db.tree<E>(`pending:${schema.name}`);
    this.pendingCounts = db.tree<number>('pending_counts');
    this.countPrefix = Buffer.from(`${schema.name}\0`);
    this.tombstones = db.tree<1>(`tombstones:${schema.name}`);
    // An everywhere table keeps every entry under one constant partition key (checked on every
    // write and every peer's entry): anti-entropy compares that partition only.
    if (schema.replication === 'everywhere') this.home = this.local.partitionOf(schema.partitionKey({} as E));
    this.rpc = new Rpc(new LocalTransport(), systemClock);
    this.strategy = new SingleNode(this.rpc.id);
    this.eps = this.serve(this.rpc);
    this.local.onUpdate((_before, after) => {
      const k = this.local.storageKeyOf(after);
      if (schema.isTombstone(after)) this.tombstones.put(k, 1);
      else if (_before !== undefined && schema.isTombstone(_before)) this.tombstones.remove(k);
    });
  }

  get name(): string {
    return this.schema.name;
  }

  private ep(op: string): string {
    return `table/${this.schema.name}/${op}`;
  }

  /** Turns on replication: the strategy of the schema over the cluster's placement; registers
   *  this table's RPC endpoints on the cluster's RPC layer. */
  replicate(ctx: ReplicationContext): void {
    const self = ctx.rpc.id;
    this.strategy = this.home !== undefined ? new Everywhere(self, ctx.placement, this.home) : new Sharded(self, ctx.placement, ctx.quorums);
    this.activeNodesCache = undefined;
    this.placementTellsChanges = ctx.placement.onChange !== undefined;
    ctx.placement.onChange?.(() => {
      this.activeNodesCache = undefined;
    });
    this.rpc = ctx.rpc;
    this.timeoutMs = ctx.timeoutMs;
    this.eps = this.serve(ctx.rpc);
  }

  /** Declares and serves the endpoints on `rpc`: each payload check runs before its handler (rpc/schema.ts). */
  private serve(rpc: Rpc): TableEndpoints<E> {
    const ep = <Req, Res>(op: string, check: Check<Req>) => new Endpoint<Req, Res>(rpc, this.ep(op), check);
    const eps: TableEndpoints<E> = {
      get: ep('get', getMsg),
      range: ep('range', rangeMsg),
      put: ep('put', this.entriesCheck),
      putAfter: ep('put-after', this.entriesCheck),
      root: ep('root', partition),
      roots: ep('roots', arr(partition, 256)),
      buckets: ep('buckets', partition),
      items: ep('items', itemsMsg),
      fetch: ep('fetch', arr(storageKey, TABLE_RPC_LIMITS.keysPerFetch)),
      gcCheck: ep('gc-check', tombstoneMsg),
      gcDelete: ep('gc-delete', tombstoneMsg),
    };
    eps.get.serve(async (_f, { pk, sk }) => this.local.get(pk, sk) ?? null);
    eps.range.serve(async (_f, { pk, q }) => [...this.local.range(pk, q)]);
    eps.put.serve(async (_f, es) => {
      await this.local.insertManyGrouped(es); // group commit: answered once durable (db/db.ts write)
      return true;
    });
    eps.putAfter.serve(async (_f, es) => this.mergeReporting(es));
    eps.root.serve(async (_f, p) => this.merkle.root(p));
    eps.roots.serve(async (_f, ps) => ps.map((p) => this.merkle.root(p)));
    eps.buckets.serve(async (_f, p) => this.merkle.buckets(p));
    eps.items.serve(async (_f, { p, b }) => this.merkle.items(p, b));
    eps.fetch.serve(async (_f, ks) => ks.map((k) => this.local.getByStorageKey(k) ?? null));
    eps.gcCheck.serve(async (_f, { k, h }) => {
      const cur = this.local.getByStorageKey(k);
      return cur !== undefined && valueHash(cur).equals(h);
    });
    eps.gcDelete.serve(async (_f, { k, h }) => this.removeTombstone(k, h));
    return eps;
  }

  /** Entries from a peer (a put, or an anti-entropy fetch answer): a bounded array of plain objects
   *  the schema can key, merge and classify, with keys this node can store and queue. Anything
   *  else is refused whole, before one entry is written. */
  readonly entriesCheck: Check<E[]> = (x, path) => {
    const es = arr(this.entryCheck, TABLE_RPC_LIMITS.entriesPerPut)(x, path);
    return es;
  };

  private readonly entryCheck: Check<E> = (x, path) => {
    if (typeof x !== 'object' || x === null || Array.isArray(x) || ArrayBuffer.isView(x)) throw new PayloadError(path, 'expected an entry object');
    const e = x as E;
    try {
      this.schema.validate?.(e);
      const pk = this.schema.partitionKey(e);
      const sk = this.schema.sortKey(e);
      if (typeof pk !== 'string' || typeof sk !== 'string') throw new Error('keys are not strings');
      const k = this.local.storageKeyOf(e);
      checkKeyBytes(this.pending.name, NODE_ID_BYTES + k.length);
      if (this.home !== undefined && k[0] !== this.home) throw new Error(`an everywhere table's entries live in partition ${this.home}, not ${k[0]}`);
      if (typeof this.schema.isTombstone(e) !== 'boolean') throw new Error('tombstone flag is not a boolean');
      this.schema.merge(e, e);
    } catch (err) {
      throw new PayloadError(path, `not a valid ${this.name} entry: ${(err as Error).message}`.slice(0, 300));
    }
    return e;
  };

  /** Deletes a tombstone if it is still exactly the one with hash `h`; drops its index entry. */
  removeTombstone(k: Buffer, h: Buffer): boolean {
    return this.db.transaction(() => {
      const cur = this.local.getByStorageKey(k);
      if (cur === undefined || !this.schema.isTombstone(cur)) {
        this.tombstones.remove(k);
        return false;
      }
      if (!valueHash(cur).equals(h)) return false;
      this.tombstones.remove(k);
      // A removal runs no update hook: the Merkle cache must hear of it (else its root keeps the tombstone).
      const removed = this.local.removeIfEqual(k, () => true);
      if (removed) this.merkle.touched(k);
      return removed;
    });
  }

  /** True once the table replicates in a cluster. */
  get replicated(): boolean {
    return this.strategy.kind !== 'single-node';
  }

  /** Node sets and per-set quorum for writing a partition. */
  private writePlan(partition: number): { sets: NodeId[][]; quorum: (set: NodeId[]) => number } {
    return { sets: this.strategy.writeSets(partition), quorum: (s) => this.strategy.writeQuorum(s) };
  }

  async get(pk: string, sk: string): Promise<E | undefined> {
    const p = this.local.partitionOf(pk);
    if (this.strategy.readsLocal(p)) return this.local.get(pk, sk);
    const nodes = this.rpc.preferred(this.strategy.readNodes(p));
    const replies = await this.eps.get.quorum(nodes, { pk, sk }, { quorum: this.strategy.readQuorum, timeoutMs: this.timeoutMs });
    let merged: E | undefined;
    for (const x of replies) if (x.value !== null) merged = merged === undefined ? x.value : this.schema.merge(merged, x.value);
    if (merged !== undefined) this.repair(replies, merged);
    return merged;
  }

  /** Like get, but an "everywhere" table that lacks the entry locally asks the other nodes:
   *  writes reached a majority, so some node that answers has it (e.g. a bucket or key created
   *  on another node a moment ago, or while this one was cut off). Misses cost one round trip. */
  async getFresh(pk: string, sk: string): Promise<E | undefined> {
    const local = await this.get(pk, sk);
    if (local !== undefined) return local;
    const nodes = this.strategy.freshReadNodes();
    if (nodes.length === 0) return undefined;
    const replies = await this.eps.get.all(nodes, { pk, sk }, { timeoutMs: Math.min(this.timeoutMs, 5000) });
    let merged: E | undefined;
    for (const x of replies) if (x.value) merged = merged === undefined ? x.value : this.schema.merge(merged, x.value);
    if (merged !== undefined) this.local.insert(merged);
    else if (replies.every((x) => x.error)) log.warn({ table: this.name, err: replies[0]?.error }, 'fresh read: no other node answered');
    return merged;
  }

  /** Read repair: replicas that answered something else get the merged entry. */
  private repair(replies: { node: NodeId; value: E | null }[], merged: E): void {
    const stale = replies.filter((x) => x.value === null || !sameBytes(x.value, merged)).map((x) => x.node);
    if (stale.length === 0) return;
    for (const n of stale) {
      this.eps.put.call(n, [merged], { timeoutMs: this.timeoutMs, priority: 'background' }).catch(() => {
        this.queueSafely(n, [merged], 'read repair');
      });
    }
  }

  async range(pk: string, q: RangeQuery = {}): Promise<E[]> {
    const p = this.local.partitionOf(pk);
    if (this.strategy.readsLocal(p)) return [...this.local.range(pk, q)];
    const nodes = this.rpc.preferred(this.strategy.readNodes(p));
    const replies = await this.eps.range.quorum(nodes, { pk, q }, { quorum: this.strategy.readQuorum, timeoutMs: this.timeoutMs });
    // Each replica returned its first `limit` entries; the union's first `limit` are all among them.
    const bySk = new Map<string, E>();
    for (const x of replies) {
      for (const e of x.value) {
        const sk = this.schema.sortKey(e);
        const cur = bySk.get(sk);
        bySk.set(sk, cur === undefined ? e : this.schema.merge(cur, e));
      }
    }
    const cmp = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));
    let keys = [...bySk.keys()].sort(cmp);
    if (q.reverse) keys.reverse();
    if (q.limit !== undefined) keys = keys.slice(0, q.limit);
    const out = keys.map((k) => bySk.get(k)!);
    this.repairRange(replies, out, q);
    return out;
  }

  /** range(), each entry mapped by `project` as it is read. A local read then never holds a page
   *  of whole decoded entries at once: a 1000-key listing page kept ~1.5 MB alive across the
   *  young generation's collections (1 MiB semi-space, cli/server.ts), so most of it was copied
   *  and promoted, and the old generation was compacted every few pages. */
  async rangeMap<R>(pk: string, q: RangeQuery, project: (e: E) => R): Promise<R[]> {
    if (!this.strategy.readsLocal(this.local.partitionOf(pk))) return (await this.range(pk, q)).map(project);
    const out: R[] = [];
    for (const e of this.local.range(pk, q)) out.push(project(e));
    return out;
  }

  /** Read repair of a range: each replica that missed or had a stale copy of a returned entry gets
   *  all of them in one put per RANGE_REPAIR_BATCH entries. (One lookup map per reply and one put
   *  per replica, not one `find` and one RPC per entry: a 1000-key page used to block the event
   *  loop for seconds, long enough for peers to drop the connection as silent.) */
  private repairRange(replies: { node: NodeId; value: E[] }[], out: E[], q: RangeQuery): void {
    for (const x of replies) {
      const have = new Map<string, E>();
      for (const y of x.value) have.set(this.schema.sortKey(y), y);
      // A replica that returned a full page may hold entries past its last one: those are unknown, not missing.
      const full = q.limit !== undefined && x.value.length >= q.limit;
      const last = full && x.value.length > 0 ? this.schema.sortKey(x.value[x.value.length - 1]!) : undefined;
      const stale: E[] = [];
      for (const e of out) {
        const sk = this.schema.sortKey(e);
        const v = have.get(sk);
        if (v === undefined && last !== undefined && (q.reverse ? Buffer.compare(Buffer.from(sk), Buffer.from(last)) < 0 : Buffer.compare(Buffer.from(sk), Buffer.from(last)) > 0)) continue;
        if (v === undefined || !sameBytes(v, e)) stale.push(e);
      }
      for (let i = 0; i < stale.length; i += RANGE_REPAIR_BATCH) {
        const batch = stale.slice(i, i + RANGE_REPAIR_BATCH);
        this.eps.put.call(x.node, batch, { timeoutMs: this.timeoutMs, priority: 'background' }).catch(() => {
          this.queueSafely(x.node, batch, 'read repair');
        });
      }
    }
  }

  /** Refuses, before anything is written or sent, an entry whose key could not be stored here or
   *  queued for a replica (the queue key is node id ‖ storage key): DbKeyTooLongError. */
  private checkKeys(es: E[]): void {
    for (const e of es) {
      const k = this.local.storageKeyOf(e);
      checkKeyBytes(this.pending.name, NODE_ID_BYTES + k.length);
      invariant(this.home === undefined || k[0] === this.home, `${this.name}: an everywhere table's entries live in one partition`, { table: this.name, partition: k[0], home: this.home });
    }
  }

  /** True when this node alone holds the partition (reads and writes are this node's). */
  private alone(partition: number): boolean {
    const sets = this.strategy.writeSets(partition);
    return this.strategy.readsLocal(partition) && sets.length === 1 && sets[0]!.length === 1 && sets[0]![0] === this.strategy.self;
  }

  async insert(e: E): Promise<E> {
    await this.insertMany([e]);
    return this.local.get(this.schema.partitionKey(e), this.schema.sortKey(e)) ?? e;
  }

  /**
   * Writes the entry `make(ts)`, which must be ordered after every write acknowledged before this
   * call (a write that follows another never gets an older timestamp, whatever the clocks say),
   * without reading first: each replica merges it and answers with the newest timestamp it held
   * (schema.newestOther). One round trip when W replicas of each write set held nothing at or after
   * `ts`: an acknowledged write is on W of them, so one of those would have said. Otherwise the
   * entry is written again as `make(newest + 1)`. Returns the timestamp written. Only for entries
   * whose rewrite with a new timestamp is harmless (the earlier form may be merged somewhere).
   */
  async insertAfter(ts: number, make: (ts: number) => E): Promise<number> {
    const newestOther = this.schema.newestOther;
    if (!newestOther) throw new Error(`${this.name}: insertAfter needs schema.newestOther`);
    const first = make(ts);
    if (this.alone(this.local.storageKeyOf(first)[0]!)) {
      // Its copy is the only one: read it, then write once after what it holds (both in one
      // group-committed fn, so the read also sees the writes queued before it).
      const e = first;
      this.checkKeys([e]);
      return this.db.write(() => {
        const cur = this.local.get(this.schema.partitionKey(e), this.schema.sortKey(e));
        const newest = cur === undefined ? undefined : newestOther(cur, e);
        const at = newest !== undefined && newest >= ts ? newest + 1 : ts;
        this.local.mergeIn(at === ts ? e : make(at));
        return at;
      });
    }
    for (let attempt = 0; attempt < INSERT_AFTER_ATTEMPTS; attempt++) {
      const e = make(ts);
      this.checkKeys([e]);
      const r = await this.write(this.local.storageKeyOf(e)[0]!, [e], 'putAfter', (v) => {
        const n = (v as (number | null)[] | undefined)?.[0];
        return n === null || (typeof n === 'number' && n < ts) ? undefined : typeof n === 'number' ? n : Infinity;
      });
      if (r.newest === undefined) return ts;
      if (!Number.isFinite(r.newest)) break; // a replica that cannot tell (an older release): read first
      ts = r.newest + 1;
    }
    // Read, then write after what was read (what every write did before insertAfter).
    const probe = make(ts);
    const cur = await this.get(this.schema.partitionKey(probe), this.schema.sortKey(probe));
    const newest = cur === undefined ? undefined : newestOther(cur, probe);
    if (newest !== undefined && newest >= ts) ts = newest + 1;
    await this.insert(make(ts));
    return ts;
  }

  /** put-after on a replica: merges the entries, answering for each the newest timestamp it held
   *  that the entry must follow (null: none). */
  private mergeReporting(es: E[]): Promise<(number | null)[]> {
    const newestOther = this.schema.newestOther;
    return this.db.write(() =>
      es.map((e) => {
        const cur = this.local.get(this.schema.partitionKey(e), this.schema.sortKey(e));
        const n = cur === undefined || !newestOther ? undefined : newestOther(cur, e);
        this.local.mergeIn(e);
        return n ?? null;
      }),
      { writes: es.length },
    );
  }

  async insertMany(es: E[]): Promise<E[]> {
    this.checkKeys(es);
    const byPartition = new Map<number, E[]>();
    for (const e of es) {
      const p = this.local.storageKeyOf(e)[0]!;
      let l = byPartition.get(p);
      if (!l) byPartition.set(p, (l = []));
      l.push(e);
    }
    await Promise.all([...byPartition].map(([p, l]) => this.write(p, l)));
    return es;
  }

  /** Sends entries to every node of every write set; resolves once each set has its quorum. With
   *  `newer` (put-after), an answer for which it returns a timestamp is not an ack: it resolves
   *  with the highest such timestamp once some set can no longer reach its quorum without them. */
  private async write(partition: number, es: E[], op: 'put' | 'putAfter' = 'put', newer?: (reply: unknown) => number | undefined): Promise<{ newest?: number }> {
    const { sets, quorum } = this.writePlan(partition);
    const self = this.strategy.self;
    /** A node of an older release lacks put-after: it cannot tell what it holds (Infinity). */
    const NO_HANDLER = Symbol('no handler');
    try {
      await quorumOverSets<unknown>({
        what: `${this.name}: write`,
        sets,
        quorum,
        call: (n) =>
          (this.eps[op] as Endpoint<E[], unknown>).call(n, es, { timeoutMs: this.timeoutMs }).catch((err: unknown) => {
            // A replica that missed the write gets it later from the queue (even if the write failed
            // overall: what was written on some nodes must converge everywhere).
            // This node's own broken invariant is a bug, not a missed write: retrying it from the
            // queue would break it again (the write fails, 500, and nothing is queued).
            const broken = n === self && err instanceof InvariantError;
            if (!broken && (n !== self || this.strategy.queuesOwnFailures) && this.queueSafely(n, es, 'replica write'))
              log.debug({ table: this.name, node: n.slice(0, 8), err: (err as Error)?.message }, 'replica write failed; queued');
            if (newer && (err as { code?: unknown })?.code === 'NoHandler') return NO_HANDLER;
            throw err;
          }),
        accept: (_n, reply) => reply !== NO_HANDLER && newer?.(reply) === undefined,
        fatal: (n, err) => n === self && err instanceof InvariantError,
      });
      return {};
    } catch (e) {
      // Asked of this node alone, its own error is the answer (a full disk, a broken invariant).
      if (e instanceof QuorumError && e.failures.length === 1 && e.failures[0]!.node === self && sets.length === 1 && sets[0]!.length === 1) throw e.failures[0]!.error;
      if (!(e instanceof QuorumError) || e.declined.length === 0) throw e;
      let newest = -Infinity;
      for (const d of e.declined) {
        const t = d.value === NO_HANDLER ? Infinity : newer!(d.value)!;
        if (t > newest) newest = t;
      }
      return { newest };
    }
  }

  /** Queues entries for a replica from a promise callback: a failure here is logged, never thrown
   *  (a throw would be an unhandled rejection, i.e. the end of the process). */
  private queueSafely(node: NodeId, es: E[], why: string): boolean {
    try {
      this.db.transaction(() => {
        for (const e of es) this.enqueue(node, e);
      });
      return true;
    } catch (err) {
      log.error({ table: this.name, node: node.slice(0, 8), err, why }, 'cannot queue entries for a replica; anti-entropy will repair it');
      return false;
    }
  }

  /** Keeps entries for a replica that missed them (e.g. block references whose block put failed
   *  there); the queue worker delivers them when it is up. Never throws. */
  queueFor(node: NodeId, es: E[], why: string): boolean {
    if (node === this.strategy.self) return false;
    return this.queueSafely(node, es, why);
  }

  /** Databases from before the persisted counts get them once, from one count per queued node. */
  private ensureCounts(): void {
    if (this.countsReady) return;
    const mark = Buffer.concat([this.countPrefix, COUNTS_MARK]);
    if (this.pendingCounts.get(mark) === undefined)
      this.db.transaction(() => {
        if (this.pendingCounts.get(mark) !== undefined) return;
        for (const node of this.queuedNodes()) this.pendingCounts.put(this.countKey(node), this.pending.count({ start: Buffer.from(node, 'hex'), end: nodeEnd(node) }));
        this.pendingCounts.put(mark, 1);
      });
    // Inside an outer transaction the count may still roll back with it: look again next time.
    if (!this.db.inTransaction) this.countsReady = true;
  }

  private countKey(node: NodeId): Buffer {
    return Buffer.concat([this.countPrefix, Buffer.from(node, 'hex')]);
  }

  private countOf(node: NodeId): number {
    this.ensureCounts();
    return this.pendingCounts.get(this.countKey(node)) ?? 0;
  }

  /** Every node's count (the mark excluded). */
  private counts(): Map<NodeId, number> {
    this.ensureCounts();
    const m = new Map<NodeId, number>();
    const p = this.countPrefix;
    for (const { key, value } of this.pendingCounts.range({ start: p, end: Buffer.concat([p.subarray(0, p.length - 1), Buffer.from([1])]) }))
      if (key.length === p.length + NODE_ID_BYTES) m.set(Buffer.from(key.subarray(p.length)).toString('hex'), value);
    return m;
  }

  /** Nodes with queued entries: one seek per node, not a scan of the queue. */
  private *queuedNodes(): Generator<NodeId> {
    let start: Buffer | undefined;
    for (;;) {
      let next: Buffer | undefined;
      for (const { key } of this.pending.range({ start, limit: 1 })) next = Buffer.from(key.subarray(0, NODE_ID_BYTES));
      if (!next || next.length < NODE_ID_BYTES) return;
      const node = next.toString('hex');
      yield node;
      start = nodeEnd(node);
    }
  }

  /** Must run inside a Db transaction (the entry and its count change together). */
  private enqueue(node: NodeId, e: E): void {
    assertInTransaction(this.db, `${this.name}: Table.enqueue`);
    const k = Buffer.concat([Buffer.from(node, 'hex'), this.local.storageKeyOf(e)]);
    const cur = this.pending.get(k);
    if (cur === undefined) {
      const n = this.countOf(node);
      invariant(n >= 0, `${this.name}: a replica queue count is negative`, { node: node.slice(0, 8), n });
      if (n >= this.pendingPerNodeMax) {
        const now = Date.now();
        if (now - this.droppedWarnedAt > 60_000) {
          this.droppedWarnedAt = now;
          log.warn({ table: this.name, node: node.slice(0, 8), queued: n, max: this.pendingPerNodeMax }, 'replica queue full: new entries for this node are left to anti-entropy');
        }
        return;
      }
      this.pendingCounts.put(this.countKey(node), n + 1);
    }
    this.pending.put(k, cur === undefined ? e : this.schema.merge(cur, e));
  }

  /** Inserts from inside another table's update hook (same transaction): merged locally when this
   *  node holds the partition, queued for the other replicas (the queue worker sends them). */
  queueInsert(e: E): void {
    // Called outside a transaction, the local merge and the queued copies would not be atomic
    // with the write that caused them (a crash in between loses the derived entry for good).
    assertInTransaction(this.db, `${this.name}: Table.queueInsert`);
    const self = this.strategy.self;
    const nodes = new Set(this.writePlan(this.local.storageKeyOf(e)[0]!).sets.flat());
    if (nodes.has(self)) this.local.mergeIn(e);
    for (const n of nodes) if (n !== self) this.enqueue(n, e);
  }

  /** Sends queued entries to replicas that are reachable, up to `limit` per node and call, each
   *  node from its own part of the queue (a long queue for a node that is down never delays the
   *  others); with `only`, to that node alone (it just came up). Returns how many were delivered. */
  async drainQueue(limit = 1000, only?: NodeId): Promise<number> {
    const byNode = new Map<NodeId, { k: Buffer; e: E }[]>();
    let n = 0;
    if (!only) this.rehomeDeparted(limit);
    const nodes = only ? [only] : [...this.queuedNodes()];
    for (const node of nodes) {
      if (!this.rpc.isUp(node)) continue;
      const l: { k: Buffer; e: E }[] = [];
      for (const { key, value } of this.pending.range({ start: Buffer.from(node, 'hex'), end: nodeEnd(node), limit })) l.push({ k: Buffer.from(key), e: value });
      if (l.length === 0) continue;
      byNode.set(node, l);
      n += l.length;
    }
    let delivered = 0;
    await Promise.all(
      [...byNode].map(async ([node, items]) => {
        try {
          await this.eps.put.call(node, items.map((x) => x.e), { timeoutMs: this.timeoutMs, priority: 'background' });
          // Remove only what was sent: an entry re-queued meanwhile (merged, so different) stays.
          this.db.transaction(() => {
            let removed = 0;
            for (const x of items) {
              const cur = this.pending.get(x.k);
              if (cur !== undefined && sameBytes(cur, x.e)) {
                this.pending.remove(x.k);
                removed++;
              }
            }
            if (removed > 0) this.uncount(node, removed);
          });
          delivered += items.length;
        } catch {
          // Still down or slow: retried on the next pass.
        }
      }),
    );
    return n === 0 ? 0 : delivered;
  }

  /** Entries queued for a node that is in no active layout version any more can never be
   *  delivered (it is gone), and would be debt forever. Each one (up to `limit` per node and call)
   *  leaves the queue, its count with it in the same transaction, once it is sure to reach the
   *  partition's current replicas: merged here when this node is one of them (anti-entropy of the
   *  partition brings it to the others, new replicas included), else queued for them. */
  private rehomeDeparted(limit: number): void {
    // Until replicate() there is no layout to judge by: a peer's entries are not "departed".
    if (this.strategy.kind === 'single-node') return;
    // A node that is up takes its entries (drainQueue): only down ones may have left for good.
    const queued = [...this.queuedNodes()].filter((n) => !this.rpc.isUp(n));
    if (queued.length === 0) return;
    const active = this.activeNodes();
    if (active.size === 0) return;
    const self = this.strategy.self;
    for (const node of queued) {
      if (active.has(node)) continue;
      let merged = 0;
      let requeued = 0;
      this.db.transaction(() => {
        const batch: { k: Buffer; e: E }[] = [];
        for (const { key, value } of this.pending.range({ start: Buffer.from(node, 'hex'), end: nodeEnd(node), limit })) batch.push({ k: Buffer.from(key), e: value });
        let removed = 0;
        for (const x of batch) {
          const sk = x.k.subarray(NODE_ID_BYTES);
          const replicas = new Set(this.strategy.writeSets(sk[0]!).flat());
          if (replicas.size === 0) continue;
          if (replicas.has(self)) {
            const held = this.local.getByStorageKey(sk);
            if (held === undefined || !sameBytes(this.schema.merge(held, x.e), held)) this.local.mergeIn(x.e);
            merged++;
          } else {
            for (const r of replicas) this.enqueue(r, x.e);
            requeued++;
          }
          this.pending.remove(x.k);
          removed++;
        }
        if (removed > 0) this.uncount(node, removed);
      });
      if (merged + requeued > 0)
        log.info({ table: this.name, node: node.slice(0, 8), merged, requeued }, 'entries queued for a node that left the layout: handed to the current replicas');
    }
  }

  /** Every node of every write set of every partition: 256 partitions' worth of sets, so kept
   *  until the placement says it changed (cost by change, not by pass). */
  private activeNodes(): Set<NodeId> {
    if (this.activeNodesCache) return this.activeNodesCache;
    const active = new Set<NodeId>();
    for (let p = 0; p < PARTITION_COUNT; p++) for (const set of this.strategy.writeSets(p)) for (const id of set) active.add(id);
    if (this.placementTellsChanges) this.activeNodesCache = active;
    return active;
  }

  /** Takes `removed` delivered entries off a node's count (inside the removal's transaction). */
  private uncount(node: NodeId, removed: number): void {
    const key = this.countKey(node);
    let left = this.countOf(node) - removed;
    if (left < 0) {
      // Out of step with the entries (a bug: both change in one transaction): never clamped
      // silently. Logged, and the node's count is taken again from its entries.
      log.error({ table: this.name, node: node.slice(0, 8), count: left + removed, removed }, 'replica queue count below its entries: recounted');
      left = this.pending.count({ start: Buffer.from(node, 'hex'), end: nodeEnd(node) });
    }
    if (left > 0) this.pendingCounts.put(key, left);
    else this.pendingCounts.remove(key);
  }

  queueLength(): number {
    let n = 0;
    for (const c of this.counts().values()) n += c;
    return n;
  }

  /** Entries queued for each node (the replication debt this node owes them). */
  queuedByNode(): Map<NodeId, number> {
    return new Map([...this.counts()].filter(([, c]) => c > 0));
  }
}

/** The first key after every queue key of `node`. */
function nodeEnd(node: NodeId): Buffer {
  const b = Buffer.from(node, 'hex');
  for (let i = b.length - 1; i >= 0; i--) {
    if (b[i]! < 0xff) {
      b[i]!++;
      return b.subarray(0, i + 1);
    }
  }
  return Buffer.alloc(b.length + 1, 0xff);
}

