// A Store alone runs the code a cluster runs (issue 14 item 7): its writes of version entries and
// block references, and its usage reads, go through each table's replication strategy (SingleNode
// here, Sharded in production), not through a separate "no cluster" branch of local merges.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Store } from './store.ts';
import type { Table } from '../table/table.ts';
import type { ReplicationStrategy } from '../table/replication.ts';

/** Counts the strategy calls a table makes (a write asks writeSets, a read readsLocal). */
function spy(t: Table<any>): Map<string, number> {
  const calls = new Map<string, number>();
  const inner = t.strategy;
  t.strategy = new Proxy(inner, {
    get(target, prop, recv) {
      const v = Reflect.get(target, prop, recv);
      if (typeof v !== 'function') return v;
      return (...args: unknown[]) => {
        calls.set(String(prop), (calls.get(String(prop)) ?? 0) + 1);
        return (v as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  }) as ReplicationStrategy;
  return calls;
}

async function* once(b: Buffer): AsyncGenerator<Buffer> {
  yield b;
}

test('a store alone writes versions and references, and reads usage, through the tables\' strategies', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'grenier-one-path-'));
  // 1 KiB blocks: a 6 KiB body has more blocks than an object entry embeds (a version entry too).
  const store = new Store({ metadataDir: join(dir, 'meta'), dataDir: join(dir, 'data'), blockSize: 1024, compression: 'none', dataFsync: false, metadataFsync: false, inlineThreshold: 100 });
  try {
    assert.equal(store.versions.strategy.kind, 'single-node');
    const versions = spy(store.versions);
    const refs = spy(store.blockRefs);
    const objects = spy(store.objects);

    // commitBlocks: the references came with the puts (LocalBlocks), the version entry is a table write.
    const w = await store.writeData(once(randomBytes(6 * 1024)), 'v1');
    assert.equal(w.blocks.length, 6);
    assert.equal(await store.commitBlocks('v1', w.blocks), undefined);
    assert.ok((versions.get('writeSets') ?? 0) >= 1, 'commitBlocks wrote the version entry through the strategy');
    assert.equal((await store.versions.get('v1', ''))?.blocks.length, 6);
    for (const b of w.blocks) assert.equal(store.blocks.refcount(b.hash), 1, 'one reference per block, recorded by its put');

    // saveVersionBlocks: both the version entry and its references are table writes.
    const before = versions.get('writeSets') ?? 0;
    const listed = w.blocks.map((b, i) => ({ part: 1, offset: i * 1024, hash: b.hash, size: b.size }));
    await store.saveVersionBlocks('v2', listed);
    assert.ok((versions.get('writeSets') ?? 0) > before, 'saveVersionBlocks wrote the version through the strategy');
    assert.ok((refs.get('writeSets') ?? 0) >= 1, 'saveVersionBlocks wrote the references through the strategy');
    for (const b of w.blocks) assert.equal(store.blocks.refcount(b.hash), 2);

    // usage: the objects table's strategy says where the bucket's counters are read.
    await store.usage('0'.repeat(64));
    assert.ok((objects.get('readsLocal') ?? 0) >= 1, 'usage asked the strategy where to read');
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
