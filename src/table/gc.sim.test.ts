// Tombstone GC over the simulated network: a tombstone is removed only once every replica holds
// exactly the same one; a replica that is down or behind keeps it everywhere.
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
import { gcTombstones } from './sync.ts';

interface Ent {
  k: string;
  dead: boolean;
}
const schema: TableSchema<Ent> = {
  name: 'ent',
  replication: 'sharded',
  partitionKey: (e) => e.k,
  sortKey: () => '',
  merge: (a, b) => ({ k: a.k, dead: a.dead || b.dead }),
  isTombstone: (e) => e.dead,
};

test('tombstones go only when every replica has them', async () => {
  const net = new SimNetwork(7);
  const ids = ['a', 'b', 'c'].map((x) => x.repeat(64));
  const placement: Placement = { readNodes: () => ids, writeSets: () => [ids], allNodes: () => ids };
  const dir = mkdtempSync(join(tmpdir(), 'grenier-gc-'));
  try {
    const nodes = ids.map((id) => {
      const rpc = new Rpc(net.transport(id), net.nodeClock(id));
      const t = new Table(new Db(join(dir, id[0]!)), schema);
      const ctx = { rpc, placement, quorums: { read: 2, write: 2 }, timeoutMs: 200 };
      t.replicate(ctx);
      return { t, ctx };
    });
    const [a, b, c] = nodes as [(typeof nodes)[0], (typeof nodes)[0], (typeof nodes)[0]];
    await net.await(a.t.insertMany([{ k: 'x', dead: false }, { k: 'y', dead: false }]));
    await net.advance(100);
    // x is deleted everywhere; y's tombstone misses c (down during the write).
    await net.await(a.t.insert({ k: 'x', dead: true }));
    net.crash(ids[2]!);
    await net.await(a.t.insert({ k: 'y', dead: true }));
    await net.advance(500);
    const removedWhileDown = await net.await(gcTombstones(a.t, a.ctx));
    assert.equal(removedWhileDown, 0, 'a tombstone was removed while a replica could not confirm it');
    net.restart(ids[2]!);
    assert.equal(c.t.local.get('y', '')?.dead, false, 'c should still have the live y');
    const removedX = await net.await(gcTombstones(a.t, a.ctx));
    assert.equal(removedX, 1, 'x (identical tombstone everywhere) should be removed');
    for (const n of nodes) assert.equal(n.t.local.get('x', ''), undefined, 'x left behind on a replica');
    assert.ok(a.t.local.get('y', '')?.dead, 'y was removed although c has not seen its tombstone');
    // Once c catches up (the propagation queue delivers it), y can go too.
    await net.await(a.t.drainQueue());
    await net.await(b.t.drainQueue());
    assert.ok(c.t.local.get('y', '')?.dead, 'the queue did not deliver the tombstone to c');
    assert.equal(await net.await(gcTombstones(a.t, a.ctx)), 1);
    for (const n of nodes) assert.equal(n.t.local.get('y', ''), undefined);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
