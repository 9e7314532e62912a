// LMDB opens at most maxDbs named databases (db/db.ts): a store with every table, plus the trees
// the node and its workers open, must fit with room to spare (per-table trees multiply by 14: a
// per-table count tree once made real nodes fail to start with MDB_DBS_FULL at maxDbs 64).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Store } from '../model/store.ts';

/** Named databases left free after the store and the node's own trees (for what comes next). */
const HEADROOM = 6;

test('a store, its replica queues and the node trees fit in the named-database limit, with headroom', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'grenier-db-budget-'));
  try {
    const store = new Store({ metadataDir: join(dir, 'meta'), dataDir: join(dir, 'data'), blockSize: 1 << 20, compression: 'none', dataFsync: false, metadataFsync: false, inlineThreshold: 3072 });
    // What first use opens (queue counts, resync queue length) and what the node opens.
    for (const t of store.tables()) t.queueLength();
    store.blocks.resync.length();
    for (const name of ['layout', 'lifecycle_progress', 'upload_expiry', 'block_meta', 'counters']) store.db.tree(name);
    for (let i = 0; i < HEADROOM; i++) assert.doesNotThrow(() => store.db.tree(`headroom_${i}`), `only ${i} named databases left`);
    await store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
