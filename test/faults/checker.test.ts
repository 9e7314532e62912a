// The fault-run checker and bodies on hand-made histories: each anomaly kind is found, and
// what the semantics allow (concurrent, indeterminate, deleted) is not flagged.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { check } from './lib/checker.ts';
import type { Op } from './lib/history.ts';
import { bodyFor, decodeBody } from './lib/values.ts';

let nextId = 0;
function op(p: Partial<Op> & Pick<Op, 'kind' | 'start' | 'end'>): Op {
  return { id: nextId++, worker: 0, node: 0, bucket: 'b', key: 'k', status: 'ok', phase: 'run', ...p };
}

test('register: a read after an acknowledged write that returns an older one is stale; in the final phase, lost', () => {
  const ops = [
    op({ kind: 'put', writeId: 1, start: 0, end: 10 }),
    op({ kind: 'put', writeId: 2, start: 20, end: 30 }),
    op({ kind: 'get', read: 1, start: 15, end: 25 }), // concurrent with w2: fine
    op({ kind: 'get', read: 2, start: 25, end: 28 }), // w2 not yet acknowledged but visible: fine
    op({ kind: 'get', read: 1, start: 31, end: 40 }), // stale
    op({ kind: 'get', read: null, start: 41, end: 45 }), // stale: no delete
    op({ kind: 'get', read: 1, start: 100, end: 110, phase: 'final' }), // lost
  ];
  const r = check(ops, { slackMs: 0 });
  assert.deepEqual(r.stale.map((a) => a.op.start), [31, 41]);
  assert.deepEqual(r.lost.map((a) => a.op.start), [100]);
  assert.equal(r.wrong.length, 0);
  assert.equal(r.acknowledged, 2);
});

test('register: deletes, indeterminate writes and the slack', () => {
  const ops = [
    op({ kind: 'put', writeId: 1, start: 0, end: 10 }),
    op({ kind: 'delete', writeId: 2, start: 20, end: 30 }),
    op({ kind: 'get', read: null, start: 31, end: 35 }), // after the delete: fine
    op({ kind: 'put', writeId: 3, start: 40, end: 50, status: 'info' }), // timed out at 50
    op({ kind: 'put', writeId: 4, start: 60, end: 70 }),
    op({ kind: 'get', read: 3, start: 55, end: 58 }), // the indeterminate one, concurrent: fine
    op({ kind: 'get', read: 3, start: 80, end: 90 }), // w3 gave up at 50 < w4's start: stale unless slack ≥ 10
    op({ kind: 'get', read: null, start: 80, end: 90 }), // the delete ended before w4 began: stale
  ];
  assert.deepEqual(check(ops, { slackMs: 0 }).stale.map((a) => a.op.id), [ops[6]!.id, ops[7]!.id]);
  assert.deepEqual(check(ops, { slackMs: 15 }).stale.map((a) => a.op.id), [ops[7]!.id]);
});

test('register: impossible reads are wrong (unknown write, a write that never reached a server, a future write, bad bytes)', () => {
  const ops = [
    op({ kind: 'put', writeId: 1, start: 0, end: 10, status: 'fail' }),
    op({ kind: 'put', writeId: 2, start: 50, end: 60 }),
    op({ kind: 'get', read: 1, start: 11, end: 12 }),
    op({ kind: 'get', read: 2, start: 20, end: 30 }),
    op({ kind: 'get', read: 9, start: 20, end: 30 }),
    op({ kind: 'get', read: 2, start: 70, end: 80, wrong: 'bytes differ' }),
  ];
  const r = check(ops, { slackMs: 0 });
  assert.equal(r.wrong.length, 4);
  assert.equal(r.stale.length, 0);
});

test('set: a listing must hold every add acknowledged before it began, and only added keys', () => {
  const s = (p: Partial<Op> & Pick<Op, 'kind' | 'start' | 'end'>) => op({ bucket: 'set', ...p });
  const ops = [
    s({ kind: 'add', key: 'e1', writeId: 1, start: 0, end: 10 }),
    s({ kind: 'add', key: 'e2', writeId: 2, start: 5, end: 20 }),
    s({ kind: 'add', key: 'e3', writeId: 3, start: 5, end: 8, status: 'info' }),
    s({ kind: 'list', key: '', elements: ['e1'], start: 15, end: 25 }), // e2 not acknowledged yet: fine
    s({ kind: 'list', key: '', elements: ['e1'], start: 21, end: 25 }), // e2 missing: stale
    s({ kind: 'list', key: '', elements: ['e1', 'e2', 'e3'], start: 30, end: 35 }), // e3 indeterminate, may show
    s({ kind: 'list', key: '', elements: ['e1', 'e2', 'x'], start: 30, end: 35 }), // x never added: wrong
    s({ kind: 'list', key: '', elements: ['e2'], start: 90, end: 95, phase: 'final' }), // e1 lost
  ];
  const r = check(ops, { slackMs: 0 });
  assert.deepEqual(r.stale.map((a) => a.op.start), [21]);
  assert.equal(r.wrong.length, 1);
  assert.equal(r.lost.length, 1);
});

test('bodies: decoded to their write, any changed byte or length is wrong', () => {
  for (const size of [10, 100, 3000, 70_000]) {
    const b = bodyFor('bk', 'key', 42, size);
    assert.equal(b.length, Math.max(size, 'grenier-fault 42 10 0123456789ab\n'.length));
    assert.deepEqual(decodeBody('bk', 'key', b), { ok: true, writeId: 42, size });
    assert.equal(decodeBody('bk', 'other', b).ok, false, 'another key’s bytes');
    const flipped = Buffer.from(b);
    flipped[flipped.length - 1]! ^= 1;
    assert.equal(decodeBody('bk', 'key', flipped).ok, false);
    assert.equal(decodeBody('bk', 'key', b.subarray(0, b.length - 1)).ok, false);
  }
  assert.equal(decodeBody('bk', 'key', Buffer.from('hello')).ok, false);
});
