// Read repair of a range over the simulated network: a replica that missed a page of entries gets
// them in a few batched puts (one per RANGE_REPAIR_BATCH), not one RPC per entry — a 1000-key
// listing used to block the coordinator's event loop for seconds and lose its peer connections.
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

interface Item {
  p: string;
  s: string;
  v: number;
}
const schema: TableSchema<Item> = {
  name: 'item',
  replication: 'sharded',
  partitionKey: (e) => e.p,
  sortKey: (e) => e.s,
  merge: (a, b) => (b.v > a.v ? b : a),
  isTombstone: () => false,
};

test('a range read repairs a replica that missed 1200 entries with batched puts, and a second read sends none', async () => {
  const net = new SimNetwork(11, { minDelayMs: 1, maxDelayMs: 3, dropRate: 0 });
  const ids = ['a', 'b', 'c'].map((x) => x.repeat(64));
  const placement: Placement = { readNodes: () => ids, writeSets: () => [ids], allNodes: () => ids };
  const dir = mkdtempSync(join(tmpdir(), 'grenier-range-repair-'));
  const puts: number[] = [];
  try {
    const nodes = ids.map((id) => {
      const rpc = new Rpc(net.transport(id), net.nodeClock(id));
      const t = new Table(new Db(join(dir, id.slice(0, 1)), { fsync: false }), schema);
      t.replicate({ rpc, placement, quorums: { read: 3, write: 2 }, timeoutMs: 2000 });
      return { id, rpc, t };
    });
    const [a, b, c] = nodes as [(typeof nodes)[0], (typeof nodes)[0], (typeof nodes)[0]];
    const call = a.rpc.call.bind(a.rpc);
    a.rpc.call = ((to: string, endpoint: string, msg: unknown, opts?: object) => {
      if (endpoint.endsWith('/put')) puts.push((msg as unknown[]).length);
      return call(to, endpoint, msg, opts as never);
    }) as typeof a.rpc.call;
    // a and b hold the page; c missed all of it (written while it was away, never queued).
    const items = Array.from({ length: 1200 }, (_, i) => ({ p: 'bucket', s: `k${String(i).padStart(5, '0')}`, v: 1 }));
    for (const n of [a, b]) for (const e of items) n.t.local.insert(e);
    const got = await net.await(a.t.range('bucket', { limit: 1200 }));
    assert.equal(got.length, 1200);
    await net.advance(500);
    assert.equal(c.t.local.get('bucket', 'k00000')?.v, 1, 'c was repaired');
    assert.equal(c.t.local.get('bucket', 'k01199')?.v, 1);
    assert.ok(puts.length <= 3, `repair sent ${puts.length} puts (one per entry would be 1200)`);
    assert.equal(puts.reduce((x, y) => x + y, 0), 1200);
    puts.length = 0;
    await net.await(a.t.range('bucket', { limit: 1200 }));
    assert.equal(puts.length, 0, 'nothing left to repair');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
