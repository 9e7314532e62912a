// The quorum-over-sets helper: resolves when every set has its quorum, fails with one QuorumError
// (by instanceof) naming the failed sets and per-node errors, calls a node shared by sets once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { QuorumError, quorumOverSets } from './quorum.ts';

type Ctl = { resolve: (v: unknown) => void; reject: (e: unknown) => void };

function controlled(): { call: (n: string) => Promise<unknown>; ctl: Map<string, Ctl>; calls: string[] } {
  const ctl = new Map<string, Ctl>();
  const calls: string[] = [];
  return {
    ctl,
    calls,
    call: (n) => {
      calls.push(n);
      return new Promise((resolve, reject) => ctl.set(n, { resolve, reject }));
    },
  };
}

const tick = () => new Promise((r) => setImmediate(r));

test('quorum over sets: resolves once every set has its quorum; a node in two sets is called once', async () => {
  const c = controlled();
  let resolved = false;
  const p = quorumOverSets({ what: 'w', sets: [['a', 'b', 'c'], ['b', 'c', 'd']], quorum: () => 2, call: c.call }).then((r) => {
    resolved = true;
    return r;
  });
  await tick();
  assert.deepEqual(c.calls.sort(), ['a', 'b', 'c', 'd']);
  c.ctl.get('a')!.resolve(1);
  c.ctl.get('b')!.resolve(2);
  await tick();
  assert.equal(resolved, false, 'the second set has only one ack');
  c.ctl.get('d')!.resolve(4);
  const r = await p;
  assert.deepEqual(r.acks.map((x) => x.node), ['a', 'b', 'd']);
  assert.equal(r.outstanding, 1);
  c.ctl.get('c')!.reject(new Error('late'));
  await r.settled;
});

test('quorum over sets: one QuorumError (instanceof) with the failed set, the per-node errors and their common code', async () => {
  const c = controlled();
  const failures: string[] = [];
  const p = quorumOverSets({ what: 'block x: write', sets: [['a', 'b', 'c'], ['c', 'd', 'e']], quorum: () => 2, call: c.call, onFailure: (n) => failures.push(n) });
  await tick();
  c.ctl.get('a')!.resolve(true);
  c.ctl.get('c')!.resolve(true);
  c.ctl.get('d')!.reject(Object.assign(new Error('disk full'), { code: 'ENOSPC' }));
  c.ctl.get('e')!.reject(Object.assign(new Error('disk full'), { code: 'ENOSPC' }));
  const err = await p.then(
    () => assert.fail('must reject'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof QuorumError);
  assert.deepEqual(err.failedSets, [1]);
  assert.deepEqual(err.failures.map((f) => f.node), ['d', 'e']);
  assert.equal(err.code, 'ENOSPC');
  assert.equal(err.successes, 2);
  assert.equal(err.needed, 2);
  assert.deepEqual(failures, ['d', 'e']);
  assert.match(err.message, /^block x: write: quorum not reached/);
});

test('quorum over sets: mixed failure codes carry no code; a call that throws synchronously is a failure', async () => {
  const err = await quorumOverSets({
    what: 'w',
    sets: [['a', 'b', 'c']],
    quorum: () => 2,
    call: (n) => {
      if (n === 'a') throw Object.assign(new Error('x'), { code: 'EIO' });
      return n === 'b' ? Promise.reject(new Error('y')) : new Promise(() => {});
    },
  }).then(
    () => assert.fail('must reject'),
    (e: unknown) => e as QuorumError,
  );
  assert.ok(err instanceof QuorumError);
  assert.equal(err.code, undefined);
  assert.equal(err.failures.length, 2, 'rejected as soon as the set could not reach 2 acks (c never answers)');
});

test('quorum over sets: declined answers neither ack nor fail; the error carries them', async () => {
  const err = await quorumOverSets({
    what: 'w',
    sets: [['a', 'b', 'c']],
    quorum: () => 2,
    call: async (n) => (n === 'a' ? 'ok' : n === 'b' ? 7 : 9),
    accept: (_n, v) => v === 'ok',
  }).then(
    () => assert.fail('must reject'),
    (e: unknown) => e as QuorumError,
  );
  assert.ok(err instanceof QuorumError);
  assert.deepEqual(err.failures, []);
  assert.deepEqual(err.declined.map((d) => d.value).sort(), [7, 9]);
});

test('quorum over sets: returnEarly false resolves only once every call settled; asked again at each answer', async () => {
  const c = controlled();
  let resolved = false;
  let asked = 0;
  const p = quorumOverSets({ what: 'w', sets: [['a', 'b', 'c', 'd']], quorum: () => 2, call: c.call, returnEarly: () => ++asked > 1 && false }).then((r) => {
    resolved = true;
    return r;
  });
  await tick();
  c.ctl.get('a')!.resolve(1);
  c.ctl.get('b')!.resolve(1);
  await tick();
  assert.equal(resolved, false);
  c.ctl.get('c')!.resolve(1);
  await tick();
  assert.equal(resolved, false);
  assert.equal(asked, 2);
  c.ctl.get('d')!.reject(new Error('down'));
  const r = await p;
  assert.equal(r.outstanding, 0);
  assert.equal(asked, 2, 'not asked once nothing is outstanding');
});

test('quorum over sets: no sets, or a zero quorum, resolve at once', async () => {
  const r = await quorumOverSets({ what: 'w', sets: [], quorum: () => 1, call: () => assert.fail('no call') });
  assert.deepEqual(r.acks, []);
  await r.settled;
});

test('quorum over sets: a fatal failure rejects at once with that very error, whatever the others answer', async () => {
  const c = controlled();
  class Broken extends Error {}
  const p = quorumOverSets({ what: 'w', sets: [['a', 'b', 'c']], quorum: () => 2, call: c.call, fatal: (_n, e) => e instanceof Broken });
  await tick();
  c.ctl.get('b')!.resolve(1);
  c.ctl.get('a')!.reject(new Broken('invariant'));
  c.ctl.get('c')!.resolve(1);
  const err = await p.then(
    () => assert.fail('must reject'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof Broken);
});

test('quorum over sets: a throwing callback (a broken invariant in accept or quorum) rejects the call, never escapes as an unhandled rejection', async () => {
  const boom = new Error('broken');
  await assert.rejects(
    quorumOverSets({ what: 'w', sets: [['a', 'b']], quorum: () => 2, call: async () => 1, accept: () => { throw boom; } }),
    (e: unknown) => e === boom,
  );
  let n = 0;
  await assert.rejects(
    quorumOverSets({ what: 'w', sets: [['a']], quorum: () => { if (++n > 1) throw boom; return 1; }, call: async () => 1 }),
    (e: unknown) => e === boom,
  );
});
