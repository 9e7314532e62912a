// The background budget of block puts (block_ram_buffer_max): a put may return at its quorum
// while its last replicas are still being written only if those bytes fit the budget — checked
// when the quorum is reached, so concurrent puts cannot together hold more than the budget.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Db } from '../db/db.ts';
import { BlockManager } from './manager.ts';
import { BlockReplication } from './replication.ts';
import { Rpc } from '../rpc/rpc.ts';
import type { Handler, NodeId, PeerView, Transport } from '../rpc/transport.ts';
import { sha256 } from '../util/hash.ts';
import { systemClock } from '../util/time.ts';

/** Node b answers every put at once; node c holds each put until released. */
class TwoPeers implements Transport {
  readonly id = 'a'.repeat(64);
  readonly held: (() => void)[] = [];
  register(_e: string, _h: Handler): void {}
  call(to: NodeId): Promise<unknown> {
    if (to.startsWith('b')) return Promise.resolve(true);
    return new Promise((resolve) => this.held.push(() => resolve(true)));
  }
  peers(): PeerView[] {
    return [{ id: 'b'.repeat(64), connected: true }, { id: 'c'.repeat(64), connected: true }];
  }
}

test('concurrent block puts never hold more than the background budget in flight', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'grenier-bg-budget-'));
  try {
    const db = new Db(join(dir, 'meta'));
    const blockSize = 64 * 1024;
    const mgr = new BlockManager(db, join(dir, 'data'), systemClock, { blockSize, compression: 'none', fsync: false });
    const tr = new TwoPeers();
    const ids = ['a', 'b', 'c'].map((x) => x.repeat(64));
    const repl = new BlockReplication(mgr, new Rpc(tr, systemClock), { readNodes: () => ids, writeSets: () => [ids] }, {
      writeQuorum: 2,
      timeoutMs: 10_000,
      backgroundBytes: Math.floor(1.5 * blockSize),
    });
    const blocks = [0, 1, 2].map(() => randomBytes(blockSize));
    let returned = 0;
    const puts = blocks.map((b) => repl.put(sha256(b), b).then(() => returned++));
    for (let i = 0; i < 50 && returned < 1; i++) await new Promise((r) => setTimeout(r, 10));
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(returned, 1, 'only one block fits the budget: the others wait for their last replica');
    assert.ok(repl.backgroundBytes() <= 1.5 * blockSize, `background bytes ${repl.backgroundBytes()} over the budget`);
    for (const release of tr.held) release();
    await Promise.all(puts);
    for (let i = 0; i < 10 && repl.backgroundBytes() > 0; i++) await new Promise((r) => setImmediate(r));
    assert.equal(repl.backgroundBytes(), 0);
    await db.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
