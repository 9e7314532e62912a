// Replication strategies: an "everywhere" table's anti-entropy compares its one partition (not
// 256) and still converges; a table alone runs the same write path (endpoints, quorum) as in a
// cluster, and its own failure is the caller's error, not a quorum error.
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
import { QuorumError } from '../rpc/quorum.ts';

interface Ent {
  k: string;
  v: number;
}
const schemaOf = (replication: 'sharded' | 'everywhere'): TableSchema<Ent> => ({
  name: `ent-${replication}`,
  replication,
  partitionKey: () => 'ent',
  sortKey: (e) => e.k,
  merge: (a, b) => (a.v >= b.v ? a : b),
  isTombstone: () => false,
});

test('an everywhere table: anti-entropy compares ONE partition, and a node that missed writes converges', async () => {
  const net = new SimNetwork(3);
  const ids = ['a', 'b', 'c'].map((x) => x.repeat(64));
  const placement: Placement = { readNodes: () => ids, writeSets: () => [ids], allNodes: () => ids };
  const dir = mkdtempSync(join(tmpdir(), 'grenier-everywhere-'));
  try {
    const nodes = ids.map((id) => {
      const rpc = new Rpc(net.transport(id), net.nodeClock(id));
      const t = new Table(new Db(join(dir, id[0]!)), schemaOf('everywhere'));
      const ctx = { rpc, placement, quorums: { read: 2, write: 2 }, timeoutMs: 200 };
      t.replicate(ctx);
      return { t, ctx };
    });
    const [a, , c] = nodes as [(typeof nodes)[0], (typeof nodes)[0], (typeof nodes)[0]];
    net.crash(ids[2]!);
    await net.await(a.t.insertMany([{ k: 'x', v: 1 }, { k: 'y', v: 2 }]));
    net.restart(ids[2]!);
    assert.equal(c.t.local.get('ent', 'x'), undefined, 'c was down: it must lack the writes');
    const st = await net.await(syncTable(c.t, c.ctx, () => true));
    assert.equal(st.partitions, 1, `an everywhere table synced ${st.partitions} partitions`);
    assert.equal(st.errors, 0);
    assert.equal(c.t.local.get('ent', 'x')?.v, 1);
    assert.equal(c.t.local.get('ent', 'y')?.v, 2);
    // A sharded table over the same nodes compares every partition it holds.
    const s = new Table(new Db(join(dir, 'sharded')), schemaOf('sharded'));
    s.replicate({ ...a.ctx });
    assert.equal(s.strategy.partitionsToSync().length, 256);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a table alone writes through its own put endpoint (the cluster code path) and reads its copy', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'grenier-alone-'));
  try {
    const t = new Table(new Db(join(dir, 'db')), schemaOf('sharded'));
    assert.equal(t.strategy.kind, 'single-node');
    assert.equal(t.replicated, false);
    const served: number[] = [];
    const put = t.eps.put;
    t.eps.put = Object.assign(Object.create(Object.getPrototypeOf(put)), put, {
      call: (n: string, es: Ent[], o?: object) => {
        served.push(es.length);
        return put.call(n, es, o);
      },
    });
    await t.insertMany([{ k: 'x', v: 1 }, { k: 'y', v: 1 }]);
    assert.deepEqual(served, [2], 'one put for the one partition');
    assert.equal((await t.get('ent', 'x'))?.v, 1);
    assert.equal((await t.range('ent')).length, 2);
    assert.equal(t.queueLength(), 0);
    assert.equal(await t.drainQueue(), 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a table alone: its own failed write is the caller's error (not a QuorumError) and nothing is queued", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'grenier-alone-fail-'));
  try {
    const t = new Table(new Db(join(dir, 'db')), schemaOf('sharded'));
    class DiskFull extends Error {
      code = 'ENOSPC';
    }
    t.local.onUpdate(() => {
      throw new DiskFull('no space');
    });
    const err = await t.insert({ k: 'x', v: 1 }).then(
      () => assert.fail('must fail'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof DiskFull, `got ${String(err)}`);
    assert.ok(!(err instanceof QuorumError));
    assert.equal(t.local.get('ent', 'x'), undefined, 'the failed write left nothing');
    assert.equal(t.queueLength(), 0, 'nothing queued for itself');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an everywhere table refuses an entry outside its one partition, from a peer and locally', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'grenier-home-'));
  try {
    const bad: TableSchema<Ent> = { ...schemaOf('everywhere'), partitionKey: (e) => (e.k ? e.k : 'ent') };
    const t = new Table(new Db(join(dir, 'db')), bad);
    assert.throws(() => t.entriesCheck([{ k: 'elsewhere', v: 1 }], 'put'), /everywhere table/);
    await assert.rejects(t.insert({ k: 'elsewhere', v: 1 }), /everywhere table/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
