// Typed endpoints (rpc/schema.ts Endpoint<Req, Res>): the handler is registered with its checker,
// so a peer's malformed request is refused before the handler runs; calls to self skip the check.
// The store's counters endpoint is one: a peer's non-string bucket id is refused. An answer check
// (node/debt, layout/get) refuses a peer's nonsense answer as a BadAnswerError; no module outside
// rpc/ names an endpoint by a string in a call.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { pack, unpack } from 'msgpackr';
import { Rpc } from './rpc.ts';
import { BadAnswerError, Endpoint, PayloadError, int, none, obj } from './schema.ts';
import type { Handler, NodeId, PeerView, Transport } from './transport.ts';
import { systemClock } from '../util/time.ts';
import { Store } from '../model/store.ts';
import { nodeEndpoints } from '../api/admin/cluster-handle.ts';

/** A transport with no peers whose handlers a test calls as a peer would (through msgpack). */
class Peerless implements Transport {
  readonly id = 'a'.repeat(64);
  readonly handlers = new Map<string, Handler>();
  register(endpoint: string, h: Handler): void {
    this.handlers.set(endpoint, h);
  }
  call(_to: NodeId): Promise<unknown> {
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

/** A transport whose one peer answers every call with `answer`. */
class Answering extends Peerless {
  readonly peer = 'c'.repeat(64);
  private readonly answer: unknown;
  constructor(answer: unknown) {
    super();
    this.answer = answer;
  }
  override call(to: NodeId): Promise<unknown> {
    return to === this.peer ? Promise.resolve(unpack(pack(this.answer))) : Promise.reject(new Error('unreachable'));
  }
}

test("an endpoint with an answer check: a peer's nonsense is a BadAnswerError, never handed on", async () => {
  const good = new Answering(7);
  const ep = (rpc: Rpc) => new Endpoint<null, number>(rpc, 'test/seven', none, int(0, 10));
  assert.equal(await ep(new Rpc(good, systemClock)).call(good.peer, null), 7);
  const bad = new Answering('seven');
  await assert.rejects(ep(new Rpc(bad, systemClock)).call(bad.peer, null), (e: unknown) => e instanceof BadAnswerError && e.node === bad.peer);
  // all(): per-node answers and errors; quorum(): the checked answers.
  const rpc = new Rpc(good, systemClock);
  assert.deepEqual(await ep(rpc).all([good.peer, 'd'.repeat(64)], null), [{ node: good.peer, value: 7 }, { node: 'd'.repeat(64), error: 'unreachable' }]);
  assert.deepEqual(await ep(rpc).quorum([good.peer], null, { quorum: 1 }), [{ node: good.peer, value: 7 }]);
});

test("a peer's node/debt answer is checked where the endpoint is declared (nodeEndpoints)", async () => {
  const t = new Answering({ entriesQueued: -1, entriesQueuedByNode: {}, blocksQueued: 0, blockErrors: 0, nodesBehind: [] });
  await assert.rejects(nodeEndpoints(new Rpc(t, systemClock)).debt.call(t.peer, null), BadAnswerError);
});

test('outside rpc/, endpoints are declared typed once: no string-named rpc.call / rpc.endpoint / transport.call', () => {
  const src = join(import.meta.dirname, '..');
  const found: string[] = [];
  const walk = (d: string): void => {
    for (const f of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, f.name);
      if (f.isDirectory()) walk(p);
      else if (p.endsWith('.ts') && !p.endsWith('.test.ts') && !relative(src, p).startsWith('rpc/')) {
        const text = readFileSync(p, 'utf8');
        for (const m of text.matchAll(/\b(?:rpc|transport)\.(?:call|endpoint|all|quorum)\s*(?:<[^>]*>)?\s*\([^)]*?['"`][a-z-]+\/[^'"`]*['"`]/g)) found.push(`${relative(src, p)}: ${m[0].slice(0, 80)}`);
      }
    }
  };
  walk(src);
  assert.deepEqual(found, []);
});
