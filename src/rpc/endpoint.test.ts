// Typed endpoints (rpc/schema.ts Endpoint<Req, Res>): the handler is registered with its checker,
// so a peer's malformed request is refused before the handler runs; calls to self skip the check.
// The store's counters endpoint is one: a peer's non-string bucket id is refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pack, unpack } from 'msgpackr';
import { Rpc } from './rpc.ts';
import { Endpoint, PayloadError, int, obj } from './schema.ts';
import type { Handler, NodeId, PeerView, Transport } from './transport.ts';
import { systemClock } from '../util/time.ts';
import { Store } from '../model/store.ts';

/** A transport with no peers whose handlers a test calls as a peer would (through msgpack). */
class Peerless implements Transport {
  readonly id = 'a'.repeat(64);
  readonly handlers = new Map<string, Handler>();
  register(endpoint: string, h: Handler): void {
    this.handlers.set(endpoint, h);
  }
  call(): Promise<unknown> {
    return Promise.reject(new Error('no peers'));
  }
  peers(): PeerView[] {
    return [];
  }
  fromPeer(endpoint: string, msg: unknown): Promise<unknown> {
    return this.handlers.get(endpoint)!('b'.repeat(64) as NodeId, endpoint, unpack(pack(msg)));
  }
}

test('a typed endpoint: checked requests from peers, typed answers, self calls unchecked', async () => {
  const t = new Peerless();
  const rpc = new Rpc(t, systemClock);
  const seen: number[] = [];
  const add = new Endpoint<{ a: number; b: number }, number>(rpc, 'test/add', obj({ a: int(0, 10), b: int(0, 10) })).serve(async (_f, { a, b }) => {
    seen.push(a);
    return a + b;
  });
  const sum: number = await add.call(rpc.id, { a: 2, b: 3 });
  assert.equal(sum, 5);
  assert.equal(await t.fromPeer('test/add', { a: 1, b: 1 }), 2);
  await assert.rejects(t.fromPeer('test/add', { a: 11, b: 1 }), PayloadError);
  await assert.rejects(t.fromPeer('test/add', { a: 1, b: 1, c: 0 }), PayloadError);
  assert.deepEqual(seen, [2, 1], 'the handler never saw a refused request');
});

test("the store's counters endpoint refuses a peer's bucket id that is not a string", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'grenier-counters-ep-'));
  try {
    const store = new Store({ metadataDir: join(dir, 'meta'), dataDir: join(dir, 'data'), blockSize: 1 << 20, compression: 'none', dataFsync: false, metadataFsync: false, inlineThreshold: 3072 });
    const t = new Peerless();
    const ids = [t.id];
    store.enableCluster({ rpc: new Rpc(t, systemClock), placement: { readNodes: () => ids, writeSets: () => [ids], allNodes: () => ids }, quorums: { read: 1, write: 1 }, timeoutMs: 1000 }, { backgroundBytes: 1 << 20 });
    assert.deepEqual(await t.fromPeer('counters/get', 'b'.repeat(64)), { objects: 0, bytes: 0 });
    await assert.rejects(t.fromPeer('counters/get', [1, 2, 3]), PayloadError);
    await store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
