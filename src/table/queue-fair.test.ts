// The replica queue over the simulated network: a long queue for a node that is down never
// delays the entries of a node that is up (each node is drained from its own part of the queue),
// and the queue for one node is bounded.
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
  k: string;
  v: number;
}
const schema: TableSchema<Item> = {
  name: 'item',
  replication: 'sharded',
  partitionKey: (e) => e.k,
  sortKey: () => '',
  merge: (a, b) => (b.v > a.v ? b : a),
  isTombstone: () => false,
};

function setup() {
  const net = new SimNetwork(7, { minDelayMs: 1, maxDelayMs: 5, dropRate: 0 });
  const ids = ['a', 'b', 'c'].map((x) => x.repeat(64));
  const placement: Placement = { readNodes: () => ids, writeSets: () => [ids], allNodes: () => ids };
  const dir = mkdtempSync(join(tmpdir(), 'grenier-queue-'));
  const nodes = ids.map((id) => {
    const rpc = new Rpc(net.transport(id), net.nodeClock(id));
    const t = new Table(new Db(join(dir, id.slice(0, 1)), { fsync: false }), schema);
    t.replicate({ rpc, placement, quorums: { read: 2, write: 2 }, timeoutMs: 200 });
    return { id, t };
  });
  return { net, ids, nodes, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

test('entries queued for an up node are delivered although 1100 wait for a down node ahead of them', async () => {
  const { net, ids, nodes, cleanup } = setup();
  try {
    const [a, b, c] = nodes as [(typeof nodes)[0], (typeof nodes)[0], (typeof nodes)[0]];
    net.crash(ids[1]!); // b is down for a long time: 1100 writes queue up for it
    for (let i = 0; i < 11; i++) await net.await(a.t.insertMany(Array.from({ length: 100 }, (_, j) => ({ k: `old-${i * 100 + j}`, v: 1 }))));
    net.crash(ids[2]!); // c misses 5 writes too (they fail their quorum, and are queued for both)
    await net.await(a.t.insertMany(Array.from({ length: 5 }, (_, j) => ({ k: `new-${j}`, v: 1 }))).catch(() => {}));
    await net.advance(1000); // the calls to the down nodes time out: queued
    net.restart(ids[2]!);
    assert.equal(a.t.queueLength(), 1105 + 5);
    assert.deepEqual([...a.t.queuedByNode().values()].sort((x, y) => x - y), [5, 1105]);
    const delivered = await net.await(a.t.drainQueue());
    assert.equal(delivered, 5, 'the up node got its entries');
    for (let j = 0; j < 5; j++) assert.ok(c.t.local.get(`new-${j}`, ''), `c holds new-${j}`);
    assert.equal(a.t.queueLength(), 1105, 'what the down node needs is kept');
    assert.equal(b.t.local.get('old-0', ''), undefined);
    // b comes back: it gets everything, 1000 per call.
    net.restart(ids[1]!);
    let sent = 0;
    for (let i = 0; i < 5 && a.t.queueLength() > 0; i++) sent += await net.await(a.t.drainQueue());
    assert.equal(sent, 1105);
    assert.equal(a.t.queueLength(), 0);
    assert.ok(b.t.local.get('old-1099', '') && b.t.local.get('new-4', ''));
  } finally {
    cleanup();
  }
});

test('the queue for one node is bounded: past it, new entries are left to anti-entropy', async () => {
  const { net, ids, nodes, cleanup } = setup();
  try {
    const a = nodes[0]!;
    a.t.pendingPerNodeMax = 50;
    net.crash(ids[1]!);
    await net.await(a.t.insertMany(Array.from({ length: 80 }, (_, j) => ({ k: `k-${j}`, v: 1 }))));
    await net.advance(1000);
    assert.equal(a.t.queueLength(), 50);
    // Merging into an entry already queued is still allowed (it does not grow the queue).
    await net.await(a.t.insertMany([{ k: 'k-0', v: 2 }]).catch(() => {}));
    await net.advance(1000);
    assert.equal(a.t.queueLength(), 50);
  } finally {
    cleanup();
  }
});
