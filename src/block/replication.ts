// Block replication: a block goes to its partition's nodes and the put returns after W acks,
// the remaining replicas finishing in the background within a bounded memory budget; reads go
// to the closest replica (self, same zone, lowest RTT) and verify the hash, falling back on error.
import type { Rpc } from '../rpc/rpc.ts';
import type { NodeId } from '../rpc/transport.ts';
import type { BlockManager, BlockRemote } from './manager.ts';
import { BlockCorrupted, BlockMissing } from './store.ts';
import { sha256, sha256Block } from '../util/hash.ts';
import { log } from '../util/log.ts';
import { Endpoint, arr, bytes, obj, opt, str } from '../rpc/schema.ts';
import { quorumOverSets } from '../rpc/quorum.ts';
import { invariant } from '../util/assert.ts';
import { currentTrace, startTrace } from '../util/trace.ts';

/** Hashes in one block/has (a resync batch). */
const HASHES_PER_CALL_MAX = 10_000;
const hash32 = bytes(32, 32);

/** A block put: the block, and the reference (version uuid) the replica records with it. */
export interface BlockPutReq {
  hash: Buffer;
  data: Buffer;
  ref?: string;
}

export interface BlockPlacement {
  readNodes(partition: number): NodeId[];
  writeSets(partition: number): NodeId[][];
}

export interface BlockReplicationOptions {
  writeQuorum: number;
  timeoutMs: number;
  /** Bytes of blocks whose last replicas may still be in flight after the put returned. */
  backgroundBytes: number;
}

export class BlockReplication implements BlockRemote {
  private readonly mgr: BlockManager;
  private readonly rpc: Rpc;
  readonly placement: BlockPlacement;
  private readonly opts: BlockReplicationOptions;
  private bgBytes = 0;
  /** The block endpoints, typed once (requests checked where they arrive). */
  private readonly eps: {
    put: Endpoint<BlockPutReq, boolean>;
    get: Endpoint<Buffer, Buffer>;
    has: Endpoint<Buffer[], boolean[]>;
    referenced: Endpoint<Buffer[], boolean[]>;
  };
  /** Records a block reference on this node (set by the store: block_ref lives with the block);
   *  a put is acknowledged once what it returns (the reference's group commit) has resolved. */
  onRef: (hash: Buffer, version: string) => unknown = () => {};
  /** Called when a replica could not get a block (with the put's reference, if any): the store
   *  keeps that reference for the node, whose arrival there queues the block's fetch. */
  onMissedReplica: (node: NodeId, hash: Buffer, ref?: string) => void = () => {};

  constructor(mgr: BlockManager, rpc: Rpc, placement: BlockPlacement, opts: BlockReplicationOptions) {
    this.mgr = mgr;
    this.rpc = rpc;
    this.placement = placement;
    this.opts = opts;
    // A block is at most block_size; twice that leaves room for a peer configured differently.
    const putMsg = obj({ hash: hash32, data: bytes(2 * mgr.blockSize), ref: opt(str(256)) });
    this.eps = {
      put: new Endpoint<BlockPutReq, boolean>(rpc, 'block/put', putMsg),
      get: new Endpoint<Buffer, Buffer>(rpc, 'block/get', hash32),
      has: new Endpoint<Buffer[], boolean[]>(rpc, 'block/has', arr(hash32, HASHES_PER_CALL_MAX)),
      referenced: new Endpoint<Buffer[], boolean[]>(rpc, 'block/referenced', arr(hash32, HASHES_PER_CALL_MAX)),
    };
    this.eps.put.serve(async (f, m) => {
      const t = startTrace('block put trace', { from: String(f).slice(0, 8), bytes: m.data.length, ref: m.ref });
      // The block outlives the message buffer it was decoded from: a view of it would pin that
      // buffer (for a one-chunk message, the socket read it came in). The data of a big block is
      // most of its message (decoded from a buffer joined for it): kept as is, not copied again.
      const h = Buffer.from(m.hash);
      const d = m.data.byteLength * 2 >= m.data.buffer.byteLength ? m.data : Buffer.from(m.data);
      const ref = m.ref;
      if (!(await sha256Block(d)).equals(h)) throw new Error('block/put: data does not match its hash');
      t?.mark('hashed');
      // Answered once the block and its reference are durable (the reference in a group commit).
      await mgr.putLocal(h, d, ref ? () => (t?.mark('on disk'), this.onRef(h, ref)) : undefined);
      t?.end();
      return true;
    });
    this.eps.get.serve(async (_f, h) => {
      try {
        return await mgr.store.get(h);
      } catch (e) {
        if (e instanceof BlockCorrupted) await mgr.store.quarantine(h);
        throw e;
      }
    });
    this.eps.has.serve(async (_f, hs) => hs.map((h) => mgr.store.has(h)));
    this.eps.referenced.serve(async (_f, hs) => hs.map((h) => mgr.refcount(h) > 0));
  }

  /** Every node that should hold a block's partition (all active layout versions). */
  holders(hash: Buffer): NodeId[] {
    return [...new Set(this.placement.writeSets(hash[0]!).flat())];
  }

  async put(hash: Buffer, data: Buffer, ref?: string): Promise<void> {
    const sets = this.placement.writeSets(hash[0]!);
    let reserved = false;
    const t = currentTrace();
    t?.mark('block hashed');
    const r = await quorumOverSets<unknown>({
      what: `block ${hash.toString('hex').slice(0, 16)}: write`,
      sets,
      quorum: (s) => Math.min(this.opts.writeQuorum, s.length),
      // Return before the last replicas only if their bytes fit the background budget, taken at
      // that moment (concurrent puts cannot all fit in what one saw free): memory stays bounded.
      returnEarly: () => {
        if (this.bgBytes + data.length > this.opts.backgroundBytes) return false;
        this.bgBytes += data.length;
        invariant(this.bgBytes <= this.opts.backgroundBytes, 'block background bytes within their budget', { bytes: this.bgBytes, max: this.opts.backgroundBytes });
        reserved = true;
        return true;
      },
      call: (n) => {
        const p =
          n === this.rpc.id
            ? this.mgr.putLocal(hash, data, ref ? () => this.onRef(hash, ref) : undefined)
            : this.eps.put.call(n, { hash, data, ref }, { timeoutMs: this.opts.timeoutMs, priority: 'normal' });
        if (t) void p.then(() => t.mark(`block ack ${n === this.rpc.id ? 'self' : n.slice(0, 8)}`), () => {});
        return p;
      },
      onFailure: (n, e) => {
        try {
          this.onMissedReplica(n, hash, ref);
        } catch (err) {
          log.error({ node: n.slice(0, 8), err: (err as Error).message }, 'cannot record a missed block replica');
        }
        log.debug({ node: n.slice(0, 8), err: (e as Error)?.message }, 'block replica write failed');
      },
    });
    t?.mark('block quorum');
    if (reserved) {
      // The last replicas finish in the background: their bytes count against the budget until then.
      void r.settled.then(() => {
        this.bgBytes -= data.length;
        if (this.bgBytes < 0) log.error({ bytes: this.bgBytes }, 'block background bytes below zero: a put released more than it took');
      });
    }
  }

  async get(hash: Buffer, into?: Buffer): Promise<Buffer> {
    let repairLocal = false;
    if (this.mgr.store.has(hash)) {
      try {
        return await this.mgr.store.get(hash, into);
      } catch (e) {
        if (e instanceof BlockCorrupted) {
          await this.mgr.store.quarantine(hash);
          repairLocal = true;
        } else if (!(e instanceof BlockMissing)) throw e;
      }
    }
    // A holder that lacks its copy gets it back from this read (the resync worker would too, later).
    if (!repairLocal && this.holders(hash).includes(this.rpc.id) && this.mgr.refcount(hash) > 0) repairLocal = true;
    const d = await this.fetchRemote(hash);
    if (repairLocal) this.mgr.putLocal(hash, d).catch((e) => log.warn({ err: (e as Error).message }, 'block read repair failed'));
    return d;
  }

  /** A block from the other nodes that may hold it (closest first), hash verified; no local write. */
  async fetchRemote(hash: Buffer): Promise<Buffer> {
    const candidates = [...new Set([...this.placement.readNodes(hash[0]!), ...this.holders(hash)])].filter((n) => n !== this.rpc.id);
    const errors: string[] = [];
    for (const n of this.rpc.preferred(candidates)) {
      try {
        const d = Buffer.from(await this.eps.get.call(n, hash, { timeoutMs: this.opts.timeoutMs }));
        if (!sha256(d).equals(hash)) {
          errors.push(`${n.slice(0, 8)}: corrupted`);
          continue;
        }
        return d;
      } catch (e) {
        errors.push(`${n.slice(0, 8)}: ${(e as Error).message}`);
      }
    }
    throw new BlockMissing(`${hash.toString('hex')} (no replica could serve it: ${errors.join('; ') || 'no replicas'})`);
  }

  /** Which of `hashes` a node has. */
  async has(node: NodeId, hashes: Buffer[]): Promise<boolean[]> {
    if (node === this.rpc.id) return hashes.map((h) => this.mgr.store.has(h));
    return this.eps.has.call(node, hashes, { timeoutMs: this.opts.timeoutMs, priority: 'background' });
  }

  /** Which of `hashes` a node holds a reference to (refcount > 0): a node that has a block's file
   *  but no reference yet would let its GC delete it, so a hand-over waits for this. */
  async referenced(node: NodeId, hashes: Buffer[]): Promise<boolean[]> {
    if (node === this.rpc.id) return hashes.map((h) => this.mgr.refcount(h) > 0);
    return this.eps.referenced.call(node, hashes, { timeoutMs: this.opts.timeoutMs, priority: 'background' });
  }

  /** Sends a block to one node (resync hand-over). */
  async pushTo(node: NodeId, hash: Buffer, data: Buffer): Promise<void> {
    if (node === this.rpc.id) await this.mgr.putLocal(hash, data);
    else await this.eps.put.call(node, { hash, data }, { timeoutMs: this.opts.timeoutMs, priority: 'background' });
  }

  backgroundBytes(): number {
    return this.bgBytes;
  }
}
