// Over-long keys through a replicated table: refused with a typed error before anything is written,
// sent or queued, and a replica failure whose entry cannot be queued is logged, never thrown into
// a promise callback (that was an unhandled rejection: the end of the node process).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Db, DbKeyTooLongError, DB_KEY_BYTES_MAX } from '../db/db.ts';
import { Table } from './table.ts';
import { Rpc } from '../rpc/rpc.ts';
import { SimNetwork } from '../rpc/sim.ts';
import type { TableSchema } from './schema.ts';

interface Row {
  pk: string;
  sk: string;
  v: number;
}
const schema: TableSchema<Row> = {
  name: 'rows',
  replication: 'sharded',
  partitionKey: (e) => e.pk,
  sortKey: (e) => e.sk,
  merge: (a, b) => (b.v >= a.v ? b : a),
  isTombstone: () => false,
};

async function withTables(fn: (ts: { a: Table<Row>; net: SimNetwork }) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'grenier-table-keys-'));
  const net = new SimNetwork(1);
  const ids = ['a'.repeat(64), 'b'.repeat(64)];
  const dbs = ids.map((id) => new Db(join(dir, id[0]!)));
  const tables = ids.map((id, i) => {
    const t = new Table(dbs[i]!, schema);
    const rpc = new Rpc(net.transport(id), net.nodeClock(id));
    t.replicate({ rpc, placement: { readNodes: () => ids, writeSets: () => [ids], allNodes: () => ids }, quorums: { read: 1, write: 1 }, timeoutMs: 200 });
    return t;
  });
  const unhandled: unknown[] = [];
  const onUnhandled = (e: unknown) => unhandled.push(e);
  process.on('unhandledRejection', onUnhandled);
  try {
    await fn({ a: tables[0]!, net });
    // Let every callback of the simulated network run.
    await net.await(new Promise((r) => net.schedule(1000, () => r(undefined))));
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(unhandled, [], 'a promise rejected with nobody to catch it');
  } finally {
    process.off('unhandledRejection', onUnhandled);
    await Promise.all(dbs.map((d) => d.close()));
    rmSync(dir, { recursive: true, force: true });
  }
}

test('an entry whose key the store cannot hold is refused with DbKeyTooLongError, nothing queued', async () => {
  await withTables(async ({ a, net }) => {
    for (const len of [2048, DB_KEY_BYTES_MAX - 32 - 32 + 1]) {
      // Over the store's limit, or fitting the table (32 + len) but not the queue (32 + 32 + len).
      const p = a.insert({ pk: 'p', sk: 's'.repeat(len), v: 1 });
      await assert.rejects(net.await(p), (e: unknown) => e instanceof DbKeyTooLongError, `key of ${len} bytes`);
    }
    assert.equal(a.queueLength(), 0);
    assert.equal(a.local.get('p', 's'.repeat(2048)), undefined);
    // The largest key that fits both still works.
    await net.await(a.insert({ pk: 'p', sk: 's'.repeat(DB_KEY_BYTES_MAX - 64), v: 1 }));
  });
});

test('a replica write failure whose entry cannot be queued is logged, not thrown into a callback', async () => {
  await withTables(async ({ a, net }) => {
    net.crash('b'.repeat(64));
    // Bypass the up-front check, as an entry built on another code path might: the local write
    // succeeds, the one to the crashed replica fails, and the queue cannot take the key.
    (a as unknown as { checkKeys: () => void }).checkKeys = () => {};
    await net.await(a.insert({ pk: 'p', sk: 'q'.repeat(DB_KEY_BYTES_MAX - 40), v: 1 }));
    assert.equal(a.queueLength(), 0);
  });
});
