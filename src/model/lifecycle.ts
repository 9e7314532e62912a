// A bucket's lifecycle configuration as stored (an LWW register of the bucket entry), and what it
// asks of one object entry at a given time: pure, so the worker and its tests share one decision.
import type { TagSet } from './tags.ts';
import type { ObjectEntry, ObjectVersion } from './object.ts';
import { lockedBy } from './object-lock.ts';

/** AWS's bound: a configuration holds at most this many rules. */
export const LIFECYCLE_RULES_MAX = 1000;
export const LIFECYCLE_ID_CHARS_MAX = 255;

export interface LifecycleFilter {
  /** How the client wrote it, so GET answers in the same shape: a rule-level <Prefix> (legacy),
   *  a <Filter> with at most one condition, or a <Filter><And>. */
  form: 'legacy' | 'filter' | 'and';
  prefix?: string;
  tags: TagSet;
  /** ObjectSizeGreaterThan / ObjectSizeLessThan (bytes, strict). */
  sizeGt?: number;
  sizeLt?: number;
}

export interface LifecycleRule {
  id: string;
  enabled: boolean;
  filter: LifecycleFilter;
  /** The current version: expires `days` after its creation or on `date` (ms, midnight UTC);
   *  a delete marker left with no other version goes then too, or at once with expiredObjectDeleteMarker. */
  expiration?: { days?: number; date?: number; expiredObjectDeleteMarker?: boolean };
  /** Noncurrent versions: removed `days` after they became noncurrent, keeping the `newer` newest. */
  noncurrent?: { days: number; newer?: number };
  /** Unfinished multipart uploads are aborted this many days after they were started. */
  abortUploadDays?: number;
}

export interface LifecycleConfig {
  rules: LifecycleRule[];
}

export const DAY_MS = 86_400_000;

/** When something `days` after `ts` is due. With real days, AWS rounds up to the next midnight UTC;
 *  a shortened test day (GRENIER_LIFECYCLE_DAY_SECS) counts plain multiples, as Ceph's debug interval. */
export function dueAt(ts: number, days: number, dayMs: number): number {
  const t = ts + days * dayMs;
  return dayMs === DAY_MS ? Math.ceil(t / DAY_MS) * DAY_MS : t;
}

/** Whether a rule's filter selects this version of `key` (a delete marker has no size or tags). */
export function filterMatches(f: LifecycleFilter, key: string, v: ObjectVersion): boolean {
  if (f.prefix !== undefined && !key.startsWith(f.prefix)) return false;
  if (f.tags.length > 0) {
    const have = v.tags?.v ?? [];
    for (const [k, val] of f.tags) if (!have.some(([hk, hv]) => hk === k && hv === val)) return false;
  }
  if (f.sizeGt !== undefined || f.sizeLt !== undefined) {
    if (v.deleteMarker || !v.meta) return false;
    if (f.sizeGt !== undefined && !(v.meta.size > f.sizeGt)) return false;
    if (f.sizeLt !== undefined && !(v.meta.size < f.sizeLt)) return false;
  }
  return true;
}

export type LifecycleAction =
  /** The current version expires: a delete marker goes on top (versioned) or it is deleted. */
  | { kind: 'expire'; version: ObjectVersion; rule: string }
  /** A noncurrent version or an expired delete marker is removed for good. */
  | { kind: 'remove'; version: ObjectVersion; rule: string }
  /** An unfinished multipart upload is aborted. */
  | { kind: 'abort'; uploadId: string; rule: string };

/** What the enabled rules ask of entry `o` at `now`. Never removes a version that is locked now
 *  (legal hold, unexpired retention); a delete marker on top of one is allowed, as in AWS. */
export function dueActions(rules: LifecycleRule[], o: ObjectEntry, now: number, dayMs: number, versioned: boolean): LifecycleAction[] {
  const out: LifecycleAction[] = [];
  const removed = new Set<string>();
  const complete = o.versions.filter((v) => v.state === 'complete');
  const cur = complete.at(-1);
  const remove = (v: ObjectVersion, rule: string) => {
    if (removed.has(v.uuid) || lockedBy(v, now) !== undefined) return;
    removed.add(v.uuid);
    out.push({ kind: 'remove', version: v, rule });
  };
  let expired = false;
  for (const r of rules) {
    if (!r.enabled) continue;
    const e = r.expiration;
    if (cur && e && !expired) {
      if (!cur.deleteMarker && (e.days !== undefined || e.date !== undefined) && filterMatches(r.filter, o.key, cur)) {
        const due = e.date ?? dueAt(cur.ts, e.days!, dayMs);
        // Without versioning the version itself goes: not while it is locked.
        if (now >= due && (versioned || lockedBy(cur, now) === undefined)) {
          expired = true;
          out.push({ kind: 'expire', version: cur, rule: r.id });
        }
      }
      // A delete marker left alone goes with ExpiredObjectDeleteMarker, and (as in AWS and Ceph)
      // under a Days or Date expiration once it is as old as an object would be to expire.
      if (cur.deleteMarker && complete.length === 1 && filterMatches(r.filter, o.key, cur)) {
        const due = e.expiredObjectDeleteMarker ? 0 : e.date ?? (e.days === undefined ? undefined : dueAt(cur.ts, e.days, dayMs));
        if (due !== undefined && now >= due) remove(cur, r.id);
      }
    }
    if (r.noncurrent) {
      // Newest first: each noncurrent version became noncurrent when the next one was written.
      let kept = 0;
      for (let i = complete.length - 2; i >= 0; i--) {
        const v = complete[i]!;
        if (!filterMatches(r.filter, o.key, v)) continue;
        if (kept < (r.noncurrent.newer ?? 0)) {
          kept++;
          continue;
        }
        if (now >= dueAt(complete[i + 1]!.ts, r.noncurrent.days, dayMs)) remove(v, r.id);
      }
    }
    if (r.abortUploadDays !== undefined) {
      for (const v of o.versions) {
        if (!v.multipart || v.state !== 'uploading' || removed.has(v.uuid)) continue;
        if (r.filter.prefix !== undefined && !o.key.startsWith(r.filter.prefix)) continue;
        if (now < dueAt(v.ts, r.abortUploadDays, dayMs)) continue;
        removed.add(v.uuid);
        out.push({ kind: 'abort', uploadId: v.uuid, rule: r.id });
      }
    }
  }
  return out;
}
