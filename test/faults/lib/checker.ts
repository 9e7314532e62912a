// The checker of a fault run (the reg2 / set2 read-after-write semantics of Garage's Jepsen
// suite, plus byte-exact reads): a read that starts after a write was acknowledged returns that
// write or one not older than it; a listing started after acknowledged adds contains them; every
// byte read is some write's. Anomalies in the 'final' phase (after healing) are lost writes.
import { describeOp, type Op } from './history.ts';

export interface CheckOptions {
  /** How long after its client stopped waiting an indeterminate write may still be ordered after
   *  other writes (0 without clock skew: the README's late-write rule; the skew bound with it). */
  slackMs: number;
}

export interface Anomaly {
  op: Op;
  why: string;
}

export interface CheckResult {
  ops: number;
  acknowledged: number;
  indeterminate: number;
  reads: number;
  stale: Anomaly[];
  lost: Anomaly[];
  wrong: Anomaly[];
}

// A set's add is also a PUT of its key: reads of set elements are checked as registers.
const WRITES = new Set(['put', 'mpu', 'delete', 'add']);

function groupBy<T>(xs: T[], key: (x: T) => string): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const x of xs) {
    const k = key(x);
    let a = m.get(k);
    if (!a) m.set(k, (a = []));
    a.push(x);
  }
  return m;
}

/** The latest start of the acknowledged `writes` that ended before `t` (-Infinity if none):
 *  whatever a read starting at t returns must not have been over before that. */
function floorAt(ackedByEnd: Op[], ackedStartMaxPrefix: number[], t: number): number {
  // Binary search for the number of acknowledged writes with end < t.
  let lo = 0;
  let hi = ackedByEnd.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (ackedByEnd[mid]!.end < t) lo = mid + 1;
    else hi = mid;
  }
  return lo === 0 ? -Infinity : ackedStartMaxPrefix[lo - 1]!;
}

export function check(ops: Op[], opts: CheckOptions): CheckResult {
  const res: CheckResult = { ops: 0, acknowledged: 0, indeterminate: 0, reads: 0, stale: [], lost: [], wrong: [] };
  for (const o of ops) {
    if (o.phase === 'run') res.ops++;
    if (o.kind === 'get' || o.kind === 'list') {
      if (o.status === 'ok') res.reads++;
    } else if (o.status === 'ok') res.acknowledged++;
    else if (o.status === 'info') res.indeterminate++;
  }
  const flag = (o: Op, why: string) => (o.phase === 'final' ? res.lost : res.stale).push({ op: o, why });
  // The time up to which a write may take effect (be ordered after others).
  const effEnd = (w: Op) => (w.status === 'ok' ? w.end : w.end + opts.slackMs);

  // Registers.
  const regs = groupBy(
    ops.filter((o) => WRITES.has(o.kind) || o.kind === 'get'),
    (o) => `${o.bucket}/${o.key}`,
  );
  for (const group of regs.values()) {
    const writes = group.filter((o) => WRITES.has(o.kind));
    const byId = new Map(writes.map((w) => [w.writeId!, w]));
    const acked = writes.filter((w) => w.status === 'ok').sort((a, b) => a.end - b.end);
    const prefix: number[] = [];
    for (const w of acked) prefix.push(Math.max(prefix.at(-1) ?? -Infinity, w.start));
    const deletes = writes.filter((w) => w.kind === 'delete' && w.status !== 'fail');
    for (const r of group) {
      if (r.kind !== 'get' || r.status !== 'ok') continue;
      if (r.wrong) {
        res.wrong.push({ op: r, why: r.wrong });
        continue;
      }
      const floor = floorAt(acked, prefix, r.start);
      if (r.read === null || r.read === undefined) {
        // "No such key": the initial state (over before anything) or some delete.
        const possible = deletes.filter((d) => d.start < r.end);
        const best = Math.max(-Infinity, ...possible.map(effEnd));
        if (best < floor) {
          const w = acked.find((a) => a.end < r.start && a.start === floor);
          flag(r, `no such key, but ${w ? describeOp(w) : 'a write'} was acknowledged before the read began${possible.length ? ` (latest possible delete over at ${best.toFixed(0)} ms)` : ''}`);
        }
        continue;
      }
      const w = byId.get(r.read);
      if (!w || w.kind === 'delete') {
        res.wrong.push({ op: r, why: `returned write ${r.read}, which never wrote this key` });
        continue;
      }
      if (w.status === 'fail') {
        res.wrong.push({ op: r, why: `returned ${describeOp(w)}, which never reached a server` });
        continue;
      }
      if (w.start > r.end) {
        res.wrong.push({ op: r, why: `returned ${describeOp(w)}, which started after the read ended` });
        continue;
      }
      if (effEnd(w) < floor) {
        const newer = acked.find((a) => a.end < r.start && a.start === floor);
        flag(r, `returned ${describeOp(w)}, older than ${newer ? describeOp(newer) : 'a write'} acknowledged before the read began`);
      }
    }
  }

  // Sets: adds are PUTs of fresh keys; a listing must hold every add acknowledged before it began.
  const sets = groupBy(
    ops.filter((o) => o.kind === 'add' || o.kind === 'list'),
    (o) => o.bucket,
  );
  for (const group of sets.values()) {
    const adds = group.filter((o) => o.kind === 'add');
    const byKey = new Map(adds.map((a) => [a.key, a]));
    const acked = adds.filter((a) => a.status === 'ok').sort((a, b) => a.end - b.end);
    for (const l of group) {
      if (l.kind !== 'list' || l.status !== 'ok') continue;
      const seen = new Set(l.elements ?? []);
      const missing: Op[] = [];
      for (const a of acked) {
        if (a.end >= l.start) break;
        if (a.key.startsWith(l.key) && !seen.has(a.key)) missing.push(a);
      }
      if (missing.length) flag(l, `${missing.length} acknowledged adds missing: ${missing.slice(0, 5).map(describeOp).join('; ')}${missing.length > 5 ? '; …' : ''}`);
      const unknown = [...seen].filter((k) => {
        const a = byKey.get(k);
        return !a || a.status === 'fail' || a.start > l.end;
      });
      if (unknown.length) res.wrong.push({ op: l, why: `${unknown.length} keys never added (or not yet): ${unknown.slice(0, 5).join(', ')}` });
    }
  }
  return res;
}

/** A few lines per anomaly kind, for a report or an assertion message. */
export function describeAnomalies(r: CheckResult, max = 10): string {
  const part = (name: string, xs: Anomaly[]) =>
    xs.length ? `${name} (${xs.length}):\n${xs.slice(0, max).map((a) => `  ${describeOp(a.op)}: ${a.why}`).join('\n')}${xs.length > max ? '\n  …' : ''}\n` : '';
  return part('lost', r.lost) + part('stale', r.stale) + part('wrong', r.wrong);
}
