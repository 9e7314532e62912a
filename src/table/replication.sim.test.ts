// Replication core over the seeded simulated network: random delays, drops, partitions and
// crashes; after healing every replica converges and every acknowledged write is readable.
// A failing seed replays exactly: run with GRENIER_SIM_SEED=<seed>.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pack } from 'msgpackr';
import { Db } from '../db/db.ts';
import { Table } from './table.ts';
import { Rpc } from '../rpc/rpc.ts';
import { SimNetwork } from '../rpc/sim.ts';
import { mergeLww, nextTs, type Lww } from './crdt.ts';
import type { TableSchema } from './schema.ts';
import type { Placement } from './replication.ts';
import { syncTable } from './sync.ts';

interface Reg {
  k: string;
  r: Lww<string>;
}
const schema: TableSchema<Reg> = {
  name: 'reg',
  replication: 'sharded',
  partitionKey: (e) => e.k,
  sortKey: () => '',
  merge: (a, b) => ({ k: a.k, r: mergeLww(a.r, b.r) }),
  isTombstone: () => false,
  // Values are unique per write: a replica holding this very write (an earlier attempt) is no conflict.
  newestOther: (cur, inc) => (cur.r.v === inc.r.v ? undefined : cur.r.t),
};

/** How a step writes: read the key then write after it (2 round trips), or write with the local
 *  clock and let replicas that hold something newer make the coordinator write again (1). */
type WriteMode = 'read-modify-write' | 'insert-after';

function placement(nodes: string[]): Placement {
  const assign = (p: number) => [0, 1, 2].map((i) => nodes[(p + i) % nodes.length]!);
  return { readNodes: assign, writeSets: (p) => [assign(p)], allNodes: () => nodes };
}

async function scenario(seed: number, mode: WriteMode = 'read-modify-write'): Promise<{ acked: number; ops: number }> {
  const net = new SimNetwork(seed, { minDelayMs: 1, maxDelayMs: 40, dropRate: 0.05 });
  const ids = ['a', 'b', 'c', 'd', 'e'].map((x) => x.repeat(64));
  const dir = mkdtempSync(join(tmpdir(), 'grenier-sim-'));
  // Clocks disagree by up to ±5 minutes: ordering must still follow causality.
  ids.forEach((id, i) => net.skew.set(id, (i - 2) * 150_000));
  const nodes = ids.map((id) => {
    const rpc = new Rpc(net.transport(id), net.nodeClock(id));
    const t = new Table(new Db(join(dir, id.slice(0, 1))), schema);
    t.replicate({ rpc, placement: placement(ids), quorums: { read: 2, write: 2 }, timeoutMs: 500 });
    return { id, rpc, t };
  });
  const rand = net.rand;
  const keys = Array.from({ length: 12 }, (_, i) => `key-${i}`);
  /** Highest acknowledged write per key: it must win in the end. */
  const lastAcked = new Map<string, Lww<string>>();
  let ops = 0;
  let acked = 0;
  try {
    for (let step = 0; step < 150; step++) {
      const roll = rand();
      if (roll < 0.04) net.crash(ids[Math.floor(rand() * 5)]!);
      else if (roll < 0.08) for (const id of ids) net.restart(id);
      else if (roll < 0.11) net.partition(ids.slice(0, 2), ids.slice(2));
      else if (roll < 0.15) net.heal();
      const n = nodes[Math.floor(rand() * 5)]!;
      if (net.isCrashed(n.id)) continue;
      const k = keys[Math.floor(rand() * keys.length)]!;
      ops++;
      // Read-modify-write: the new timestamp is after what the client saw, whatever its clock says.
      const res = await net.await(
        (async () => {
          const v = `${n.id[0]}-${step}`;
          if (mode === 'insert-after') {
            const t = await n.t.insertAfter(n.rpc.clock.now(), (ts) => ({ k, r: { t: ts, v } }));
            return { t, v };
          }
          const cur = await n.t.get(k, '');
          const r = { t: nextTs(n.rpc.clock.now(), cur?.r), v };
          await n.t.insert({ k, r });
          return r;
        })().then(
          (r) => r,
          () => undefined,
        ),
      );
      if (res) {
        acked++;
        const prev = lastAcked.get(k);
        // Sequential ops: each acknowledged write read the previous one, so it must be newer.
        if (prev) assert.ok(res.t > prev.t, `seed ${seed}: timestamp went backwards on ${k}`);
        lastAcked.set(k, res);
        // Read-after-write from another live node (when a quorum is reachable).
        const other = nodes.find((x) => x !== n && !net.isCrashed(x.id))!;
        const back = await net.await(other.t.get(k, '').catch(() => 'unavailable' as const));
        if (back !== 'unavailable' && back !== undefined) assert.ok(back.r.t >= res.t, `seed ${seed}: stale read of ${k} after ack`);
      }
      await net.advance(Math.floor(rand() * 50));
    }
    // Heal everything, then let queues and anti-entropy converge (bounded rounds).
    net.heal();
    for (const id of ids) net.restart(id);
    net.opts.dropRate = 0;
    for (let round = 0; round < 5; round++) {
      for (const x of nodes) await net.await(x.t.drainQueue());
      for (const x of nodes) await net.await(syncTable(x.t, { rpc: x.rpc, placement: placement(ids), quorums: { read: 2, write: 2 }, timeoutMs: 500 }, () => true));
    }
    for (const k of keys) {
      const p = nodes[0]!.t.local.partitionOf(k);
      const holders = placement(ids).readNodes(p).map((id) => nodes.find((x) => x.id === id)!);
      const copies = holders.map((h) => h.t.local.get(k, ''));
      const want = lastAcked.get(k);
      if (!want) continue;
      for (const c of copies) {
        assert.ok(c, `seed ${seed}: replica lacks ${k}`);
        assert.deepEqual(pack(c), pack(copies[0]), `seed ${seed}: replicas of ${k} differ`);
        assert.ok(c.r.t >= want.t, `seed ${seed}: acknowledged write of ${k} lost`);
      }
    }
    return { acked, ops };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('replicated table converges under delays, drops, partitions, crashes and skewed clocks', async (t) => {
  const seeds = process.env.GRENIER_SIM_SEED ? [Number(process.env.GRENIER_SIM_SEED)] : [1, 2, 3, 4, 5, 6];
  let totalAcked = 0;
  for (const seed of seeds) {
    const r = await scenario(seed);
    totalAcked += r.acked;
    t.diagnostic(`seed ${seed}: ${r.acked}/${r.ops} writes acknowledged`);
  }
  assert.ok(totalAcked > seeds.length * 20, 'too few writes succeeded for the test to mean anything');
});

test('writes stamped with the local clock (no read first) still follow the writes acknowledged before them', async (t) => {
  const seeds = process.env.GRENIER_SIM_SEED ? [Number(process.env.GRENIER_SIM_SEED)] : [1, 2, 3, 4, 5, 6];
  let totalAcked = 0;
  for (const seed of seeds) {
    const r = await scenario(seed, 'insert-after');
    totalAcked += r.acked;
    t.diagnostic(`seed ${seed}: ${r.acked}/${r.ops} writes acknowledged`);
  }
  assert.ok(totalAcked > seeds.length * 20, 'too few writes succeeded for the test to mean anything');
});

test('a seed replays exactly', async () => {
  const a = await scenario(42);
  const b = await scenario(42);
  assert.deepEqual(a, b);
});
