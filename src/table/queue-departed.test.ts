// Entries queued for a node that left every active layout version (removed while down) can never
// be delivered: the queue must empty by itself (the debt `grenier status` shows goes to 0), each
// entry still reaching the partition's current replicas: merged here when this node is one of them
// (anti-entropy carries it to the others), else queued for them.
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

test('a node removed from the layout while down: entries queued for it leave the queue and reach the new replicas', async () => {
  const net = new SimNetwork(11, { minDelayMs: 1, maxDelayMs: 5, dropRate: 0 });
  // a, b, c store; d joins in c's place; g is a gateway (no partition: it only queues).
  const [A, B, C, D, G] = ['a', 'b', 'c', 'd', 'g'].map((x) => x.repeat(64)) as [string, string, string, string, string];
  let replicas = [A, B, C];
  const placement: Placement = { readNodes: () => replicas, writeSets: () => [replicas], allNodes: () => replicas };
  const dir = mkdtempSync(join(tmpdir(), 'grenier-departed-'));
  try {
    const t = new Map<string, Table<Item>>();
    for (const id of [A, B, C, D, G]) {
      const table = new Table(new Db(join(dir, id.slice(0, 1)), { fsync: false }), schema);
      table.replicate({ rpc: new Rpc(net.transport(id), net.nodeClock(id)), placement, quorums: { read: 2, write: 2 }, timeoutMs: 200 });
      t.set(id, table);
    }
    net.crash(C);
    await net.await(t.get(A)!.insertMany([1, 2, 3, 4].map((i) => ({ k: `via-a-${i}`, v: 1 }))));
    await net.await(t.get(G)!.insertMany([1, 2, 3].map((i) => ({ k: `via-g-${i}`, v: 1 }))));
    await net.advance(1000); // the calls to c time out: queued for it
    assert.deepEqual([...t.get(A)!.queuedByNode()], [[C, 4]]);
    assert.deepEqual([...t.get(G)!.queuedByNode()], [[C, 3]]);
    // While c is only down (still in the layout), its entries wait for it.
    await net.await(t.get(A)!.drainQueue());
    assert.equal(t.get(A)!.queueLength(), 4);

    // c is removed (d takes its place) and the layout change completes: c is in no version.
    replicas = [A, B, D];
    await net.await(t.get(A)!.drainQueue());
    assert.equal(t.get(A)!.queueLength(), 0, 'a holds what it queued for c and replicates the partition: anti-entropy covers d');
    assert.deepEqual([...t.get(A)!.queuedByNode()], []);
    for (let i = 1; i <= 4; i++) assert.ok(t.get(A)!.local.get(`via-a-${i}`, ''), 'a still holds it');
    // The gateway holds nothing: its entries for c go to the current replicas instead.
    for (let i = 0; i < 3 && t.get(G)!.queueLength() > 0; i++) await net.await(t.get(G)!.drainQueue());
    assert.equal(t.get(G)!.queueLength(), 0);
    assert.deepEqual([...t.get(G)!.queuedByNode()], []);
    for (let i = 1; i <= 3; i++) assert.ok(t.get(D)!.local.get(`via-g-${i}`, ''), `d (a new replica) got via-g-${i}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the active nodes are derived once per layout change, not on every drain pass', async () => {
  const net = new SimNetwork(12, { minDelayMs: 1, maxDelayMs: 5, dropRate: 0 });
  const [A, B, C, D] = ['a', 'b', 'c', 'd'].map((x) => x.repeat(64)) as [string, string, string, string];
  let replicas = [A, B, C];
  let writeSetCalls = 0;
  const listeners: (() => void)[] = [];
  const placement: Placement = {
    readNodes: () => replicas,
    writeSets: () => (writeSetCalls++, [replicas]),
    allNodes: () => replicas,
    onChange: (cb) => listeners.push(cb),
  };
  const changeLayout = (to: string[]) => {
    replicas = to;
    for (const l of listeners) l();
  };
  const dir = mkdtempSync(join(tmpdir(), 'grenier-departed-'));
  try {
    const a = new Table(new Db(join(dir, 'a'), { fsync: false }), schema);
    a.replicate({ rpc: new Rpc(net.transport(A), net.nodeClock(A)), placement, quorums: { read: 2, write: 2 }, timeoutMs: 200 });
    for (const id of [B, D]) new Table(new Db(join(dir, id.slice(0, 1)), { fsync: false }), schema).replicate({ rpc: new Rpc(net.transport(id), net.nodeClock(id)), placement, quorums: { read: 2, write: 2 }, timeoutMs: 200 });
    net.crash(C);
    await net.await(a.insertMany([{ k: 'x', v: 1 }]));
    await net.advance(1000);
    assert.deepEqual([...a.queuedByNode()], [[C, 1]]);
    // c is down, still in the layout: the passes keep its entry; only the first derives the set.
    writeSetCalls = 0;
    for (let i = 0; i < 5; i++) await net.await(a.drainQueue());
    assert.equal(a.queueLength(), 1);
    assert.ok(writeSetCalls <= 256, `5 passes asked writeSets ${writeSetCalls} times (256 per derivation)`);
    // The layout changes (d replaces c): the next pass sees it and hands c's entry over.
    changeLayout([A, B, D]);
    await net.await(a.drainQueue());
    assert.equal(a.queueLength(), 0, 'the change was seen: c left, its entry rehomed');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
