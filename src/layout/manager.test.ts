// The live layout against a buggy peer and a damaged disk: a malformed history pushed by a peer is
// refused whole (nothing saved, placement unchanged), and a node whose stored layout is invalid
// starts with its last valid versions instead of refusing to start.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { pack, unpack } from 'msgpackr';
import fc from 'fast-check';
import { Rpc } from '../rpc/rpc.ts';
import type { Handler, PeerView, Transport } from '../rpc/transport.ts';
import { systemClock } from '../util/time.ts';
import { log } from '../util/log.ts';
import { LayoutManager, type LayoutStore } from './manager.ts';
import { apply, current, emptyHistory, stage } from './history.ts';
import { checkHistory } from './validate.ts';
import { PARTITIONS, type LayoutHistory } from './types.ts';

const newId = (): string => randomBytes(32).toString('hex');

/** A transport with no peers whose handlers a test calls as a peer would (through msgpack). */
class PeerlessTransport implements Transport {
  readonly id = newId();
  readonly handlers = new Map<string, Handler>();
  register(endpoint: string, h: Handler): void {
    this.handlers.set(endpoint, h);
  }
  call(): Promise<unknown> {
    return Promise.reject(new Error('no peers'));
  }
  peers() {
    return [];
  }
  /** What a remote peer's call does: the payload crosses msgpack, errors come back as rejections. */
  fromPeer(endpoint: string, msg: unknown): Promise<unknown> {
    return this.handlers.get(endpoint)!(newId(), endpoint, unpack(pack(msg)));
  }
}

class MemStore implements LayoutStore {
  value: unknown;
  saves = 0;
  constructor(value?: unknown) {
    this.value = value;
  }
  load(): LayoutHistory | undefined {
    return this.value === undefined ? undefined : (unpack(pack(this.value)) as LayoutHistory);
  }
  save(h: LayoutHistory): void {
    this.saves++;
    this.value = unpack(pack(h));
  }
}

/** A real three-node layout at version 1 (what a cluster has after `layout apply`). */
function threeNodes(): LayoutHistory {
  let h = emptyHistory(3);
  for (const [i, z] of ['A', 'B', 'C'].entries()) h = stage(h, newId(), { zone: z, capacity: 1e9 * (i + 1), tags: [] }, 1);
  return apply(h, 1, 2);
}

function setup(stored?: unknown): { t: PeerlessTransport; store: MemStore; m: LayoutManager } {
  const t = new PeerlessTransport();
  const store = new MemStore(stored);
  const m = new LayoutManager(new Rpc(t, systemClock), store, 3);
  return { t, store, m };
}

function placementWorks(m: LayoutManager): void {
  for (let p = 0; p < PARTITIONS; p++) {
    assert.ok(Array.isArray(m.readNodes(p)));
    assert.ok(Array.isArray(m.writeSets(p)));
  }
  checkHistory(m.history());
}

test('layout/push with assignment: null is refused; nothing is saved; placement unchanged', async () => {
  const good = threeNodes();
  const { t, store, m } = setup(good);
  const before = JSON.stringify(m.history());
  const saves = store.saves;
  const bad = structuredClone(good);
  bad.versions.push({ ...structuredClone(current(good)), version: 2, assignment: null as never });
  await assert.rejects(t.fromPeer('layout/push', bad), (e: Error & { code?: string }) => e.code === 'BadRequest' || e.code === 'InvalidLayout');
  assert.equal(JSON.stringify(m.history()), before);
  assert.equal(store.saves, saves, 'nothing saved');
  placementWorks(m);
  // A restart from what is on disk is fine.
  placementWorks(new LayoutManager(new Rpc(new PeerlessTransport(), systemClock), store, 3));
});

test('a layout that puts partitions on unknown nodes, or versions out of order, is refused', async () => {
  const good = threeNodes();
  const { t, store, m } = setup(good);
  const saves = store.saves;
  const stranger = structuredClone(good);
  const v2 = { ...structuredClone(current(good)), version: 2 };
  v2.assignment = v2.assignment.map(() => [newId()]);
  stranger.versions.push(v2);
  const gap = structuredClone(good);
  gap.versions.push({ ...structuredClone(current(good)), version: 5 });
  const dup = structuredClone(good);
  const v3 = { ...structuredClone(current(good)), version: 2 };
  v3.assignment = v3.assignment.map((l) => [l[0]!, l[0]!, l[0]!]);
  dup.versions.push(v3);
  for (const bad of [stranger, gap, dup]) await assert.rejects(t.fromPeer('layout/push', bad));
  assert.equal(store.saves, saves);
  placementWorks(m);
});

test('a valid history from a peer is still merged and saved', async () => {
  const { t, store, m } = setup();
  assert.equal(await t.fromPeer('layout/push', threeNodes()), true);
  assert.equal(current(m.history()).version, 1);
  assert.ok(store.saves > 0);
  placementWorks(m);
});

test('property: any mutation of a valid history pushed by a peer leaves the node working', async () => {
  const good = threeNodes();
  // Paths into the history a buggy peer could get wrong.
  const paths: (string | number)[][] = [
    [],
    ['versions'],
    ['versions', 0],
    ['versions', 1],
    ['versions', 1, 'version'],
    ['versions', 1, 'replicationFactor'],
    ['versions', 1, 'roles'],
    ['versions', 1, 'assignment'],
    ['versions', 1, 'assignment', 7],
    ['versions', 1, 'assignment', 7, 0],
    ['versions', 1, 'partitionSize'],
    ['staging'],
    ['stagingSince'],
    ['stagingRf'],
    ['syncMap'],
    ['ackMap'],
  ];
  await fc.assert(
    fc.asyncProperty(fc.constantFrom(...paths), fc.anything({ maxDepth: 3, withNullPrototype: true, withMap: true, withSet: true }), async (path, value) => {
      const { t, store, m } = setup(good);
      // What the peer means to send: our version 1 and a new version 2, then one part of it broken.
      const next = structuredClone(good);
      next.versions.push({ ...structuredClone(current(good)), version: 2 });
      const mutated = next as unknown as Record<string | number, unknown>;
      let payload: unknown = mutated;
      if (path.length === 0) payload = value;
      else {
        let o = mutated as Record<string | number, unknown>;
        for (const k of path.slice(0, -1)) o = o[k] as Record<string | number, unknown>;
        o[path[path.length - 1]!] = value;
      }
      const saves = store.saves;
      let accepted = true;
      try {
        await t.fromPeer('layout/push', payload);
      } catch {
        accepted = false;
      }
      if (!accepted) assert.equal(store.saves, saves, 'a refused push saves nothing');
      placementWorks(m);
      placementWorks(new LayoutManager(new Rpc(new PeerlessTransport(), systemClock), store, 3));
    }),
    { numRuns: 300 },
  );
});

test('a corrupted stored layout: the node starts with its last valid versions and says so', (t) => {
  const err = t.mock.method(log, 'error');
  const good = threeNodes();
  const broken = structuredClone(good);
  broken.versions.push({ ...structuredClone(current(good)), version: 2, assignment: null as never });
  const { m, store } = setup(broken);
  assert.equal(current(m.history()).version, 1, 'version 1 kept, the broken version 2 dropped');
  placementWorks(m);
  assert.ok(err.mock.callCount() >= 1, 'the repair is logged');
  checkHistory(store.value);
  // Nothing valid at all: an empty layout.
  const { m: m2 } = setup({ versions: 'garbage', staging: 7 });
  assert.equal(current(m2.history()).version, 0);
  placementWorks(m2);
});

/** One connected peer whose layout/get answers `answer` (through msgpack, as a real peer's would). */
class OnePeer implements Transport {
  readonly id = newId();
  readonly peer = newId();
  answer: unknown;
  register(): void {}
  call(to: string, endpoint: string): Promise<unknown> {
    if (to === this.peer && endpoint === 'layout/get') return Promise.resolve(unpack(pack(this.answer)));
    return Promise.reject(new Error('no such peer'));
  }
  peers(): PeerView[] {
    return [{ id: this.peer, connected: true } as PeerView];
  }
}

test("pull: a peer's layout/get answer is checked where the endpoint is declared (a malformed one is refused, logged, nothing saved)", async () => {
  const t = new OnePeer();
  const store = new MemStore();
  const m = new LayoutManager(new Rpc(t, systemClock), store, 3);
  const saves = store.saves;
  const logged: string[] = [];
  const warn = log.warn.bind(log);
  (log as unknown as { warn: (o: unknown, msg: string) => void }).warn = (_o, msg) => void logged.push(msg);
  try {
    t.answer = { ...threeNodes(), versions: 'not a list' };
    await m.pull();
    assert.equal(store.saves, saves, 'nothing saved');
    assert.equal(current(m.history()).version, 0);
    assert.ok(logged.some((x) => x.includes('invalid layout from a peer refused')), `logged: ${logged.join(' | ')}`);
    t.answer = threeNodes();
    await m.pull();
    assert.equal(current(m.history()).version, 1, 'a valid history is merged');
  } finally {
    (log as unknown as { warn: typeof warn }).warn = warn;
  }
});
