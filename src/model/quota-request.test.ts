// Size parsing, the owner/admin quota rule, and the quota request state machine and its merge.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  decide,
  mayManage,
  mergeDecision,
  newQuotaRequest,
  parseSize,
  quotaRefusal,
  quotaRequestSchema,
  visibleTo,
  type Principal,
  type QuotaRequest,
} from './quota-request.ts';
import { newBucket } from './bucket.ts';

test('parseSize: SI and binary units, decimals, plain bytes', () => {
  assert.equal(parseSize('50MB'), 50_000_000);
  assert.equal(parseSize('1.5GB'), 1_500_000_000);
  assert.equal(parseSize('200MiB'), 200 * 1024 * 1024);
  assert.equal(parseSize('1000'), 1000);
  assert.equal(parseSize(' 2 gib '), 2 * 1024 ** 3);
  assert.equal(parseSize('10k'), 10_000);
  assert.equal(parseSize('7B'), 7);
  assert.equal(parseSize(123), 123);
});

test('parseSize: bad sizes are refused with a message naming the value', () => {
  for (const bad of ['', 'MB', '12XB', '-5MB', '1,5GB', '0', '0MB', 'ten', '5 M B', '1e9']) {
    assert.throws(() => parseSize(bad), (e: Error) => e.message.includes(`"${bad}"`), bad);
  }
  assert.throws(() => parseSize('99999999999TB'), /too large/);
  assert.throws(() => parseSize(1.5), /1\.5/);
  assert.throws(() => parseSize(-1), /-1/);
});

const admin: Principal = { admin: true };
const alice: Principal = { admin: false, keyId: 'GKalice' };
const bob: Principal = { admin: false, keyId: 'GKbob' };

test('owners may set up to 200 MB or lower what they have; admins anything', () => {
  assert.equal(quotaRefusal(alice, 's.org', 50_000_000, 200_000_000), undefined);
  assert.equal(quotaRefusal(alice, 's.org', 50_000_000, 10_000_000), undefined);
  assert.match(quotaRefusal(alice, 's.org', 50_000_000, 200_000_001)!, /up to 200 MB.*grenier site quota s\.org --request 200MB/);
  assert.match(quotaRefusal(alice, 's.org', 200_000_000, 300_000_000)!, /--request 300MB/);
  // After an approval of 1 GB the owner may go down without asking again, not up.
  assert.equal(quotaRefusal(alice, 's.org', 1_000_000_000, 500_000_000), undefined);
  assert.ok(quotaRefusal(alice, 's.org', 1_000_000_000, 1_000_000_001));
  assert.ok(quotaRefusal(alice, 's.org', null, 300_000_000), 'no limit is not a licence to set any size');
  assert.equal(quotaRefusal(admin, 's.org', 50_000_000, 5e12), undefined);
});

test('mayManage: the admin, and keys with the owner flag on the bucket', () => {
  const b = newBucket('b1', 1);
  b.keys.GKalice = { t: 1, v: { read: true, write: true, owner: true } };
  b.keys.GKbob = { t: 1, v: { read: true, write: true, owner: false } };
  assert.equal(mayManage(admin, b), true);
  assert.equal(mayManage(alice, b), true);
  assert.equal(mayManage(bob, b), false, 'write access is not ownership');
  assert.equal(mayManage({ admin: false, keyId: 'GKnobody' }, b), false);
});

function req(over: Partial<QuotaRequest> = {}): QuotaRequest {
  return { ...newQuotaRequest({ id: 'r1', bucket: 'b1', site: 's.org', requester: 'GKalice', bytes: 300_000_000, reason: ' gallery ', now: 10 }), ...over };
}

test('quota request: pending → approved | denied once, with who and why', () => {
  const r = req();
  assert.equal(r.reason, 'gallery');
  assert.equal(r.decision.v.state, 'pending');
  const a = decide(r, 'approve', 'admin', null, 20);
  assert.deepEqual(a.decision.v, { state: 'approved', by: 'admin', reason: null, at: 20 });
  const d = decide(r, 'deny', 'admin', 'too big', 20);
  assert.equal(d.decision.v.state, 'denied');
  assert.equal(d.decision.v.reason, 'too big');
  assert.throws(() => decide(a, 'deny', 'admin', null, 30), /already approved \(by admin\)/);
  assert.throws(() => decide(d, 'approve', 'admin', null, 30), /already denied/);
  // A decision's timestamp is after the request's even if the clock went back.
  assert.ok(decide(r, 'approve', 'admin', null, 1).decision.t > r.decision.t);
  assert.throws(() => newQuotaRequest({ id: 'x', bucket: 'b', site: 's', requester: 'k', bytes: 1, reason: '  ', now: 1 }), /needs a reason/);
});

test('quota request merge: decided beats pending whatever the clocks; commutative, associative, idempotent', () => {
  const r = req();
  const late = { ...r, decision: { t: 1000, v: { ...r.decision.v } } }; // a pending copy with a later stamp
  const approved = decide(r, 'approve', 'admin', null, 20);
  const denied = decide(r, 'deny', 'admin', null, 25);
  const m = quotaRequestSchema.merge;
  assert.equal(m(late, approved).decision.v.state, 'approved');
  assert.equal(m(approved, late).decision.v.state, 'approved');
  assert.equal(m(approved, denied).decision.v.state, 'denied', 'between decisions the later wins');
  const expired = { ...denied, expired: true as const }; // dropped past the 100 kept decisions
  const all = [r, late, approved, denied, expired];
  assert.equal(m(expired, approved).expired, true, 'an expired request stays expired');
  assert.equal(quotaRequestSchema.isTombstone(m(late, expired)), true);
  for (const x of all)
    for (const y of all) {
      assert.deepEqual(m(x, y), m(y, x));
      assert.deepEqual(m(x, x), x);
      for (const z of all) assert.deepEqual(m(m(x, y), z), m(x, m(y, z)));
    }
  assert.deepEqual(mergeDecision(r.decision, r.decision), r.decision);
});

test('owners see only the requests they filed', () => {
  const r = req();
  assert.equal(visibleTo(admin, r), true);
  assert.equal(visibleTo(alice, r), true);
  assert.equal(visibleTo(bob, r), false);
});
