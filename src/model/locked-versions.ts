// Counts the versions of a bucket that object lock keeps (legal hold ON, unexpired COMPLIANCE or
// GOVERNANCE retention), so whole-bucket deletions (sites, buckets) refuse them by name and count.
import type { Store } from './store.ts';
import type { ObjectVersion } from './object.ts';
import { lockedBy } from './object-lock.ts';

export interface LockedCount {
  total: number;
  legalHold: number;
  compliance: number;
  governance: number;
}

export function emptyLockedCount(): LockedCount {
  return { total: 0, legalHold: 0, compliance: 0, governance: 0 };
}

/** Adds `v` to `c` if it is locked now; true when it is. */
export function countLocked(c: LockedCount, v: ObjectVersion, now: number): boolean {
  if (v.state === 'aborted' || v.deleteMarker) return false;
  const by = lockedBy(v, now);
  if (by === undefined) return false;
  c.total++;
  if (by === 'legal-hold') c.legalHold++;
  else if (by === 'compliance') c.compliance++;
  else c.governance++;
  return true;
}

export async function lockedVersions(store: Store, bucketId: string, now = Date.now()): Promise<LockedCount> {
  const c = emptyLockedCount();
  let after: string | undefined;
  for (;;) {
    const objs = await store.objects.range(bucketId, { limit: 1000, after });
    for (const o of objs) for (const v of o.versions) countLocked(c, v, now);
    if (objs.length < 1000) return c;
    after = objs.at(-1)!.key;
  }
}

/** "2 object versions under object lock (1 with legal hold ON, 1 under COMPLIANCE retention)". */
export function describeLocked(c: LockedCount): string {
  const parts = [
    c.legalHold ? `${c.legalHold} with legal hold ON` : '',
    c.compliance ? `${c.compliance} under COMPLIANCE retention` : '',
    c.governance ? `${c.governance} under GOVERNANCE retention` : '',
  ].filter(Boolean);
  return `${c.total} object version${c.total === 1 ? '' : 's'} under object lock (${parts.join(', ')})`;
}
