// A table-sync pass that skipped replicas which were down must not count as proving a layout
// version: a write acknowledged by those replicas alone is missing here, and once the version is
// marked synced everywhere the old one is pruned and no pass compares with them for that reason.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Db } from '../db/db.ts';
import { Table } from './table.ts';
import { Rpc } from '../rpc/rpc.ts';
import { SimNetwork } from '../rpc/sim.ts';
import type { TableSchema } from './schema.ts';
import type { Placement } from './replication.ts';
import { syncTable } from './sync.ts';

interface Ent {
  k: string;
  v: number;
}
const schema: TableSchema<Ent> = {
  name: 'ent',
  replication: 'sharded',
  partitionKey: (e) => e.k,
  sortKey: () => '',
  merge: (a, b) => (a.v >= b.v ? a : b),
  isTombstone: () => false,
};

test('a sync pass that skipped down replicas holding a write does not prove the partition; one that met the quorums does', async () => {
  const net = new SimNetwork(7);
  const [a, b, c, d] = ['a', 'b', 'c', 'd'].map((x) => x.repeat(64)) as [string, string, string, string];
  // Layout v1 puts every partition on a, b, c; v2 moves a's copy to d (a removed, d added).
  let sets: string[][] = [[a, b, c]];
  const placement: Placement = { readNodes: () => sets[0]!, writeSets: () => sets, allNodes: () => [...new Set(sets.flat())] };
  const dir = mkdtempSync(join(tmpdir(), 'grenier-sync-proof-'));
  try {
    const nodes = new Map(
      [a, b, c, d].map((id) => {
        const rpc = new Rpc(net.transport(id), net.nodeClock(id));
        const t = new Table(new Db(join(dir, id[0]!)), schema);
        const ctx = { rpc, placement, quorums: { read: 2, write: 2 }, timeoutMs: 200 };
        t.replicate(ctx);
        return [id, { t, ctx }] as const;
      }),
    );
    const at = (id: string) => nodes.get(id)!;
    // c is down: the write is acknowledged by a and b (quorum 2 of 3).
    net.crash(c);
    await net.await(at(a).t.insertMany([{ k: 'x', v: 1 }]));
    net.restart(c);
    assert.equal(at(c).t.local.get('x', ''), undefined);
    // v2 is in use; d syncs while a and b are down: it compares with c only.
    sets = [[a, b, c], [b, c, d]];
    net.crash(a);
    net.crash(b);
    const isUp = (n: string) => !net.isCrashed(n);
    const st = await net.await(syncTable(at(d).t, at(d).ctx, isUp));
    assert.equal(at(d).t.local.get('x', ''), undefined, 'd cannot have the write: only a and b hold it');
    assert.equal(st.errors, 0, 'down peers are skipped, not errors');
    assert.deepEqual(new Set(st.skipped), new Set([a, b]));
    assert.equal(st.unproved, st.partitions, `a pass that compared with c alone proved ${st.partitions - st.unproved} of ${st.partitions} partitions`);
    // With b back, d compares with b and c: every write quorum of {a,b,c} and {b,c,d} meets them.
    net.restart(b);
    const again = await net.await(syncTable(at(d).t, at(d).ctx, isUp));
    assert.equal(again.errors, 0);
    assert.equal(again.unproved, 0);
    assert.equal(at(d).t.local.get('x', '')?.v, 1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
