// Anti-entropy and tombstone GC for one replicated table: per partition its strategy names (the
// shared ones for a sharded table, the one partition of an everywhere table), compare Merkle roots
// with the other replicas, then bucket hashes, then exchange only the entries that differ;
// tombstones are removed once every replica holds exactly the same one.
import type { Table } from './table.ts';
import type { ReplicationContext } from './replication.ts';
import type { NodeId } from '../rpc/transport.ts';
import { valueHash } from './merkle.ts';

export interface SyncStats {
  partitions: number;
  bucketsDiffering: number;
  pushed: number;
  pulled: number;
  errors: number;
  /** Peers that were down, so not compared (this pass proves nothing about them). */
  skipped: NodeId[];
  /** Partitions where the replicas compared (this node included) do not meet every write quorum
   *  of every write set: a write acknowledged by the others alone may be missing here, so the pass
   *  does not prove this node holds the partition (a layout version must not be marked synced). */
  unproved: number;
}

/** One full anti-entropy pass over every partition this node holds (with `only`: those it shares
 *  with that one peer, e.g. one that just came up). Where the partitions live is the table's
 *  strategy's word; `ctx` gives the deadline of each call. */
export async function syncTable<E>(t: Table<E>, ctx: ReplicationContext, isUp: (n: NodeId) => boolean, only?: NodeId): Promise<SyncStats> {
  const stats: SyncStats = { partitions: 0, bucketsDiffering: 0, pushed: 0, pulled: 0, errors: 0, skipped: [], unproved: 0 };
  const opts = { timeoutMs: ctx.timeoutMs, priority: 'background' } as const;
  let parts = t.strategy.partitionsToSync();
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
        const roots = await t.eps.roots.call(n, ps, opts);
        rootsOf.set(n, new Map(ps.map((p, i) => [p, Buffer.from(roots[i]!)])));
      } catch {
        stats.errors++;
      }
    }),
  );
  for (const { p, peers } of parts) {
    stats.partitions++;
    if (!only && !meetsEveryQuorum(t, p, (n) => rootsOf.has(n))) stats.unproved++;
    const myRoot = t.merkle.root(p);
    for (const peer of peers) {
      const theirRoot = rootsOf.get(peer)?.get(p);
      if (!theirRoot) continue;
      try {
        if (theirRoot.equals(myRoot)) continue;
        const theirs = (await t.eps.buckets.call(peer, p, opts)).map((b) => Buffer.from(b));
        const mine = t.merkle.buckets(p);
        for (let b = 0; b < 256; b++) {
          if (mine[b]!.equals(theirs[b]!)) continue;
          stats.bucketsDiffering++;
          const remote = new Map((await t.eps.items.call(peer, { p, b }, opts)).map(([k, h]) => [Buffer.from(k).toString('hex'), Buffer.from(h)]));
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
            const answer = await t.eps.fetch.call(peer, pull, opts);
            // A peer's entries are checked like a put's before they are stored (throws: counted as an error).
            const got = t.entriesCheck(Array.isArray(answer) ? answer.filter((e) => e !== null) : answer, `${t.eps.fetch.name} answer`);
            if (got.length) t.local.insertMany(got);
            stats.pulled += got.length;
          }
          if (push.length) {
            // Send the merged versions, so both sides converge in one round.
            const merged = push.map((e) => t.local.get(t.schema.partitionKey(e), t.schema.sortKey(e)) ?? e);
            await t.eps.put.call(peer, merged, opts);
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

/** Whether the replicas of partition `p` this pass compares (this node and those `compared`
 *  says) meet every write quorum of each write set: only then is every write acknowledged so far
 *  on one of them. With fewer (peers down or unreachable: skipped, not errors), a write
 *  acknowledged by the uncompared ones alone may be missing here. */
function meetsEveryQuorum<E>(t: Table<E>, p: number, compared: (n: NodeId) => boolean): boolean {
  const me = t.strategy.self;
  for (const set of t.strategy.writeSets(p)) {
    const notCompared = set.filter((n) => n !== me && !compared(n)).length;
    if (notCompared >= t.strategy.writeQuorum(set)) return false;
  }
  return true;
}

/** Removes tombstones that every replica holds identically (the table's strategy names them; a
 *  node alone is every replica); returns how many were removed here. Walks the table's tombstone
 *  index, not the table. `ctx` gives the deadline of each call. */
export async function gcTombstones<E>(t: Table<E>, ctx: ReplicationContext | undefined, limit = 1000): Promise<number> {
  let removed = 0;
  const me = t.strategy.self;
  const timeoutMs = ctx?.timeoutMs ?? 30_000;
  const keys: Buffer[] = [];
  for (const { key } of t.tombstones.range({ limit })) keys.push(Buffer.from(key));
  for (const k of keys) {
    const value = t.local.getByStorageKey(k);
    if (value === undefined || !t.schema.isTombstone(value)) {
      t.removeTombstone(k, Buffer.alloc(0)); // drops the stale index entry
      continue;
    }
    const tb = { k, h: valueHash(value) };
    const nodes = t.strategy.tombstoneHolders(k[0]!);
    if (!nodes.includes(me)) continue;
    const others = nodes.filter((n) => n !== me);
    const checks = await Promise.all(others.map((n) => t.eps.gcCheck.call(n, tb, { timeoutMs, priority: 'background' }).catch(() => false)));
    if (!checks.every(Boolean)) continue;
    await Promise.all(others.map((n) => t.eps.gcDelete.call(n, tb, { timeoutMs }).catch(() => false)));
    if (t.removeTombstone(tb.k, tb.h)) removed++;
  }
  return removed;
}
