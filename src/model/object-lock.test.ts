// The object merge keeps tag updates and locks: the newer tag register wins whatever the bodies,
// compliance dates only grow, legal hold is an LWW register, and a locked version is never pruned.
import test from 'node:test';
import assert from 'node:assert/strict';
import { objectSchema, type ObjectEntry, type ObjectVersion } from './object.ts';
import { effectiveRetention, lockedBy, defaultUntil } from './object-lock.ts';

const DAY = 86_400_000;
const base: ObjectVersion = {
  uuid: 'u1', ts: 5, state: 'complete', nullVersion: false, deleteMarker: false, multipart: false,
  meta: { size: 1, etag: 'e', headers: [] },
};
const entry = (...versions: ObjectVersion[]): ObjectEntry => ({ bucket: 'b', key: 'k', versions });
const both = (a: ObjectEntry, b: ObjectEntry): ObjectEntry[] => [objectSchema.merge(a, b), objectSchema.merge(b, a)];

test('a newer tag register wins the merge in both orders, whatever the bodies encode to', () => {
  // The older register's tags sort after the newer's: a body-bytes tie-break would pick it.
  const older = { ...base, tags: { t: 1, v: [['zz', 'old']] as [string, string][] } };
  const newer = { ...base, tags: { t: 2, v: [['aa', 'new']] as [string, string][] } };
  for (const m of both(entry(older), entry(newer))) assert.deepEqual(m.versions[0]!.tags, newer.tags);
});

test('the merge keeps the later compliance date and the newer legal hold, in both orders', () => {
  const a = { ...base, retention: { t: 3, v: { mode: 'GOVERNANCE' as const, until: 1000 } }, compliance: 5000, legalHold: { t: 1, v: true } };
  const b = { ...base, retention: { t: 2, v: { mode: 'COMPLIANCE' as const, until: 9000 } }, compliance: 9000, legalHold: { t: 4, v: false } };
  for (const m of both(entry(a), entry(b))) {
    const v = m.versions[0]!;
    assert.equal(v.compliance, 9000);
    assert.deepEqual(v.legalHold, { t: 4, v: false });
    // The register says GOVERNANCE (newer write), but the compliance date is in force.
    assert.deepEqual(effectiveRetention(v, 2000), { mode: 'COMPLIANCE', until: 9000 });
    assert.equal(lockedBy(v, 2000), 'compliance');
    assert.equal(lockedBy(v, 9001), undefined);
  }
});

test('a version with a lock is not pruned by a newer null version, in any merge order', () => {
  const locked: ObjectVersion = { ...base, uuid: 'old', ts: 1, nullVersion: true, legalHold: { t: 1, v: true } };
  const newer: ObjectVersion = { ...base, uuid: 'new', ts: 2, nullVersion: true };
  for (const m of both(entry(locked), entry(newer))) assert.deepEqual(m.versions.map((v) => v.uuid), ['old', 'new']);
  // Without the lock the older null version is superseded, as before.
  const plain: ObjectVersion = { ...locked, legalHold: undefined };
  delete plain.legalHold;
  for (const m of both(entry(plain), entry(newer))) assert.deepEqual(m.versions.map((v) => v.uuid), ['new']);
});

test('legal hold locks whatever the retention; governance and compliance until their date', () => {
  assert.equal(lockedBy({ legalHold: { t: 1, v: true } }, 0), 'legal-hold');
  assert.equal(lockedBy({ legalHold: { t: 1, v: false } }, 0), undefined);
  assert.equal(lockedBy({ retention: { t: 1, v: { mode: 'GOVERNANCE', until: 10 } } }, 9), 'governance');
  assert.equal(lockedBy({ retention: { t: 1, v: { mode: 'GOVERNANCE', until: 10 } } }, 10), undefined);
  assert.equal(lockedBy({ retention: { t: 1, v: null } }, 0), undefined);
});

test('default retention: days and years from the write time (UTC calendar)', () => {
  const t = Date.UTC(2024, 1, 29);
  assert.equal(defaultUntil({ mode: 'GOVERNANCE', days: 2 }, t), t + 2 * DAY);
  assert.equal(defaultUntil({ mode: 'GOVERNANCE', years: 1 }, t), Date.UTC(2025, 2, 1));
});
