// Invariants asserted by replicated tables: queueInsert (derived entries) only inside the
// transaction that caused them; this node's own broken invariant fails the write at once (a bug:
// 500) and is never queued for retry, while the other replicas' state is left as they merged it.
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
import { InvariantError, invariant } from '../util/assert.ts';

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

function cluster(dir: string, placementOf: (ids: string[]) => Placement) {
  const net = new SimNetwork(11);
  const ids = ['a', 'b', 'c'].map((x) => x.repeat(64));
  const nodes = ids.map((id) => {
    const rpc = new Rpc(net.transport(id), net.nodeClock(id));
    const db = new Db(join(dir, id[0]!));
    const t = new Table(db, schema);
    t.replicate({ rpc, placement: placementOf(ids), quorums: { read: 2, write: 2 }, timeoutMs: 200 });
    return { id, db, t };
  });
  return { net, ids, nodes };
}

test('queueInsert outside a transaction is refused (InvariantError) and queues nothing', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'grenier-queue-tx-'));
  try {
    // Node a holds no replica: queueInsert only queues for b and c.
    const { nodes } = cluster(dir, (ids) => ({ readNodes: () => ids.slice(1), writeSets: () => [ids.slice(1)], allNodes: () => ids }));
    const a = nodes[0]!;
    assert.throws(() => a.t.queueInsert({ k: 'x', v: 1 }), InvariantError);
    assert.equal(a.t.queueLength(), 0);
    a.db.transaction(() => a.t.queueInsert({ k: 'x', v: 1 }));
    assert.equal(a.t.queueLength(), 2, 'inside a transaction it queues for both replicas');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("this node's broken invariant fails a replicated write with that InvariantError, and nothing is queued for itself", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'grenier-own-invariant-'));
  try {
    const { net, nodes } = cluster(dir, (ids) => ({ readNodes: () => ids, writeSets: () => [ids], allNodes: () => ids }));
    const a = nodes[0]!;
    a.t.local.onUpdate((_b, after) => invariant(after.v < 100, 'v below 100', { v: after.v }));
    const err = await net.await(a.t.insert({ k: 'x', v: 100 })).then(
      () => assert.fail('the write must fail'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof InvariantError, `got ${String(err)}`);
    assert.equal(a.t.local.get('x', ''), undefined, 'nothing written here');
    assert.equal(a.t.queueLength(), 0, 'a broken invariant is not queued for a retry that would break it again');
    // A write that keeps the invariant goes through as before.
    await net.await(a.t.insert({ k: 'y', v: 1 }));
    assert.equal(a.t.local.get('y', '')?.v, 1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the replica queue count is kept in the same transaction as its entries: a rolled-back enqueue counts nothing, so the bound is exact', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'grenier-queue-count-'));
  try {
    const { nodes } = cluster(dir, (ids) => ({ readNodes: () => ids.slice(1), writeSets: () => [ids.slice(1)], allNodes: () => ids }));
    const a = nodes[0]!;
    a.t.pendingPerNodeMax = 2;
    for (let i = 0; i < 5; i++)
      assert.throws(() =>
        a.db.transaction(() => {
          a.t.queueInsert({ k: `rolled-back-${i}`, v: 1 });
          throw new Error('the write that caused it failed');
        }),
      );
    assert.equal(a.t.queueLength(), 0, 'rolled-back enqueues were counted');
    a.db.transaction(() => {
      a.t.queueInsert({ k: 'x', v: 1 });
      a.t.queueInsert({ k: 'y', v: 1 });
      a.t.queueInsert({ k: 'z', v: 1 });
    });
    assert.equal(a.t.queueLength(), 4, 'two entries (the bound) for each of b and c');
    assert.deepEqual([...a.t.queuedByNode().values()], [2, 2]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a queue from before the persisted counts is counted once from its entries', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'grenier-queue-count-migrate-'));
  try {
    const { nodes } = cluster(dir, (ids) => ({ readNodes: () => ids.slice(1), writeSets: () => [ids.slice(1)], allNodes: () => ids }));
    const a = nodes[0]!;
    a.db.transaction(() => {
      for (const k of ['x', 'y', 'z']) a.t.queueInsert({ k, v: 1 });
    });
    // What an older release left: the entries, no counts.
    const counts = a.db.tree<number>('pending_counts');
    a.db.transaction(() => {
      for (const { key } of [...counts.range()]) counts.remove(Buffer.from(key));
    });
    const again = new Table(a.db, schema);
    assert.equal(again.queueLength(), 6);
    assert.deepEqual([...again.queuedByNode().values()], [3, 3]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
