// S3 object lock as stored: a bucket's lock configuration, and an object version's retention and
// legal hold, merged so that a replica can never lose a lock (compliance only grows; see below).
import { mergeLww, type Lww } from '../table/crdt.ts';

export type RetentionMode = 'GOVERNANCE' | 'COMPLIANCE';
export const RETENTION_MODES: readonly RetentionMode[] = ['GOVERNANCE', 'COMPLIANCE'];

export interface Retention {
  mode: RetentionMode;
  /** Retain-until date, ms since the epoch. */
  until: number;
}

/** A bucket's ObjectLockConfiguration. Once enabled it stays enabled (S3 offers no way back). */
export interface ObjectLockConfig {
  enabled: true;
  /** Default retention given to new versions without their own lock headers. */
  rule?: { mode: RetentionMode; days?: number; years?: number };
}

/** The lock registers of an object version (all absent: never locked).
 *  - retention: the retention as last set (PutObjectRetention, lock headers, default retention);
 *    an LWW register, so a governance retention can be shortened or removed (with bypass).
 *  - compliance: the latest COMPLIANCE retain-until ever set, a max register: merging keeps the
 *    later date, so no replica, order or concurrent governance write can shorten it.
 *  - legalHold: ON/OFF, an LWW register. */
export interface VersionLock {
  retention?: Lww<Retention | null>;
  compliance?: number;
  legalHold?: Lww<boolean>;
}

/** The merged lock registers of two forms of one version (commutative, associative, idempotent). */
export function mergeLock(a: VersionLock, b: VersionLock): VersionLock {
  const out: VersionLock = {};
  const r = a.retention && b.retention ? mergeLww(a.retention, b.retention) : (a.retention ?? b.retention);
  if (r) out.retention = r;
  const c = a.compliance !== undefined && b.compliance !== undefined ? Math.max(a.compliance, b.compliance) : (a.compliance ?? b.compliance);
  if (c !== undefined) out.compliance = c;
  const h = a.legalHold && b.legalHold ? mergeLww(a.legalHold, b.legalHold) : (a.legalHold ?? b.legalHold);
  if (h) out.legalHold = h;
  return out;
}

/** Whether the version ever had a lock register: such a version is never pruned. Monotone under
 *  merge (a merged form has every register either form had), which keeps prune() associative. */
export function everLocked(l: VersionLock): boolean {
  return l.retention !== undefined || l.compliance !== undefined || l.legalHold !== undefined;
}

/** The retention in force as S3 shows it: an unexpired compliance date wins over the register. */
export function effectiveRetention(l: VersionLock, now: number): Retention | undefined {
  const r = l.retention?.v ?? undefined;
  if (l.compliance !== undefined && l.compliance > now && !(r?.mode === 'COMPLIANCE' && r.until >= l.compliance)) return { mode: 'COMPLIANCE', until: l.compliance };
  return r;
}

export function legalHoldOn(l: VersionLock): boolean {
  return l.legalHold?.v === true;
}

/** Why the version may not be deleted or have its retention weakened now: 'legal-hold',
 *  'compliance', 'governance' (bypass allowed), or undefined when it is not locked. */
export function lockedBy(l: VersionLock, now: number): 'legal-hold' | 'compliance' | 'governance' | undefined {
  if (legalHoldOn(l)) return 'legal-hold';
  const r = effectiveRetention(l, now);
  if (!r || r.until <= now) return undefined;
  return r.mode === 'COMPLIANCE' ? 'compliance' : 'governance';
}

/** The registers a retention write sets (compliance also raises the max register). */
export function withRetention(l: VersionLock, r: Retention | null, t: number): VersionLock {
  const out: VersionLock = { ...l, retention: { t, v: r } };
  if (r?.mode === 'COMPLIANCE') out.compliance = Math.max(l.compliance ?? 0, r.until);
  return out;
}

/** The retain-until date a default rule gives a version written at `now`. */
export function defaultUntil(rule: NonNullable<ObjectLockConfig['rule']>, now: number): number {
  const d = new Date(now);
  if (rule.years !== undefined) d.setUTCFullYear(d.getUTCFullYear() + rule.years);
  else d.setUTCDate(d.getUTCDate() + (rule.days ?? 0));
  return d.getTime();
}
