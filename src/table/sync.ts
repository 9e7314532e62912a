// Anti-entropy and tombstone GC for one replicated table: per partition, compare Merkle roots
// with the other replicas, then bucket hashes, then exchange only the entries that differ;
// tombstones are removed once every replica holds exactly the same one.
import type { Table } from './table.ts';
import type { ReplicationContext } from './replication.ts';
import type { NodeId } from '../rpc/transport.ts';
import { valueHash } from './merkle.ts';
import { PARTITION_COUNT } from './partitions.ts';

export interface SyncStats {
  partitions: number;
  bucketsDiffering: number;
  pushed: number;
  pulled: number;
  errors: number;
  /** Peers that were down, so not compared (this pass proves nothing about them). */
  skipped: NodeId[];
}

/** The partitions this node replicates for a table, with the other replicas of each. */
function partitionsOf<E>(t: Table<E>, ctx: ReplicationContext): { p: number; peers: NodeId[] }[] {
  const me = ctx.rpc.id;
  const out: { p: number; peers: NodeId[] }[] = [];
  if (t.schema.replication === 'everywhere') {
    const peers = ctx.placement.allNodes().filter((n) => n !== me);
    if (peers.length === 0) return out;
    // Only one partition holds anything for an everywhere table (constant pk), but any could.
    for (let p = 0; p < PARTITION_COUNT; p++) out.push({ p, peers });
    return out;
  }
  for (let p = 0; p < PARTITION_COUNT; p++) {
    const nodes = new Set(ctx.placement.writeSets(p).flat());
    if (!nodes.has(me)) continue;
    nodes.delete(me);
    if (nodes.size > 0) out.push({ p, peers: [...nodes] });
  }
  return out;
}

/** One full anti-entropy pass over every partition this node holds (with `only`: those it shares
 *  with that one peer, e.g. one that just came up). */
export async function syncTable<E>(t: Table<E>, ctx: ReplicationContext, isUp: (n: NodeId) => boolean, only?: NodeId): Promise<SyncStats> {
  const stats: SyncStats = { partitions: 0, bucketsDiffering: 0, pushed: 0, pulled: 0, errors: 0, skipped: [] };
  const ep = (op: string) => `table/${t.name}/${op}`;
  const call = <T>(n: NodeId, op: string, m: unknown) => ctx.rpc.call<T>(n, ep(op), m, { timeoutMs: ctx.timeoutMs, priority: 'background' });
  let parts = partitionsOf(t, ctx);
  if (only) parts = parts.filter((x) => x.peers.includes(only)).map((x) => ({ p: x.p, peers: [only] }));
  // One call per peer fetches the roots of every partition shared with it.
  const rootsOf = new Map<NodeId, Map<number, Buffer>>();
  const byPeer = new Map<NodeId, number[]>();
  for (const { p, peers } of parts) for (const n of peers) byPeer.set(n, [...(byPeer.get(n) ?? []), p]);
  await Promise.all(
    [...byPeer].map(async ([n, ps]) => {
      if (!isUp(n)) {
        stats.skipped.push(n);
        return;
      }
      try {
        const roots = await call<Buffer[]>(n, 'roots', ps);
        rootsOf.set(n, new Map(ps.map((p, i) => [p, Buffer.from(roots[i]!)])));
      } catch {
        stats.errors++;
      }
    }),
  );
  for (const { p, peers } of parts) {
    stats.partitions++;
    const myRoot = t.merkle.root(p);
    for (const peer of peers) {
      const theirRoot = rootsOf.get(peer)?.get(p);
      if (!theirRoot) continue;
      try {
        if (theirRoot.equals(myRoot)) continue;
        const theirs = (await call<Buffer[]>(peer, 'buckets', p)).map((b) => Buffer.from(b));
        const mine = t.merkle.buckets(p);
        for (let b = 0; b < 256; b++) {
          if (mine[b]!.equals(theirs[b]!)) continue;
          stats.bucketsDiffering++;
          const remote = new Map((await call<[Buffer, Buffer][]>(peer, 'items', { p, b })).map(([k, h]) => [Buffer.from(k).toString('hex'), Buffer.from(h)]));
          const local = new Map(t.merkle.items(p, b).map(([k, h]) => [k.toString('hex'), h]));
          const push: E[] = [];
          const pull: Buffer[] = [];
          for (const [k, h] of local) {
            const rh = remote.get(k);
            if (!rh || !rh.equals(h)) push.push(t.local.getByStorageKey(Buffer.from(k, 'hex'))!);
            if (rh && !rh.equals(h)) pull.push(Buffer.from(k, 'hex'));
          }
          for (const k of remote.keys()) if (!local.has(k)) pull.push(Buffer.from(k, 'hex'));
          if (pull.length) {
            const answer = await call<unknown>(peer, 'fetch', pull);
            // A peer's entries are checked like a put's before they are stored (throws: counted as an error).
            const got = t.entriesCheck(Array.isArray(answer) ? answer.filter((e) => e !== null) : answer, `${ep('fetch')} answer`);
            if (got.length) t.local.insertMany(got);
            stats.pulled += got.length;
          }
          if (push.length) {
            // Send the merged versions, so both sides converge in one round.
            const merged = push.map((e) => t.local.get(t.schema.partitionKey(e), t.schema.sortKey(e)) ?? e);
            await call(peer, 'put', merged);
            stats.pushed += merged.length;
          }
        }
      } catch {
        stats.errors++;
      }
    }
  }
  return stats;
}

/** Removes tombstones that every replica holds identically; returns how many were removed here.
 *  Walks the table's tombstone index, not the table. */
export async function gcTombstones<E>(t: Table<E>, ctx: ReplicationContext | undefined, limit = 1000): Promise<number> {
  let removed = 0;
  const me = ctx?.rpc.id;
  const keys: Buffer[] = [];
  for (const { key } of t.tombstones.range({ limit })) keys.push(Buffer.from(key));
  for (const k of keys) {
    const value = t.local.getByStorageKey(k);
    if (value === undefined || !t.schema.isTombstone(value)) {
      t.removeTombstone(k, Buffer.alloc(0)); // drops the stale index entry
      continue;
    }
    const tb = { k, h: valueHash(value) };
    if (ctx) {
      const nodes = t.schema.replication === 'everywhere' ? ctx.placement.allNodes() : [...new Set(ctx.placement.writeSets(k[0]!).flat())];
      if (!nodes.includes(me!)) continue;
      const others = nodes.filter((n) => n !== me);
      const checks = await Promise.all(
        others.map((n) => ctx.rpc.call<boolean>(n, `table/${t.name}/gc-check`, tb, { timeoutMs: ctx.timeoutMs, priority: 'background' }).catch(() => false)),
      );
      if (!checks.every(Boolean)) continue;
      await Promise.all(others.map((n) => ctx.rpc.call(n, `table/${t.name}/gc-delete`, tb, { timeoutMs: ctx.timeoutMs }).catch(() => false)));
    }
    if (t.removeTombstone(tb.k, tb.h)) removed++;
  }
  return removed;
}
