// One quorum-over-sets helper for table and block writes and quorum reads: call every node of every
// set once, resolve as soon as each set has its quorum of acks, reject with ONE error class,
// QuorumError (checked by instanceof), as soon as some set can no longer reach its quorum.
import type { NodeId } from './transport.ts';
import { log } from '../util/log.ts';

/** One node's failure, as carried by a QuorumError. */
export interface NodeFailure {
  node: NodeId;
  message: string;
  code?: string;
  /** What the call rejected with. */
  error: unknown;
}

/** A reply that answered but does not count as an ack (e.g. put-after: "I hold something newer"). */
export interface Declined {
  node: NodeId;
  value: unknown;
}

export class QuorumError extends Error {
  /** Acks received when the quorum became impossible. */
  readonly successes: number;
  /** Acks the failed set needed (the first failed set's quorum). */
  readonly needed: number;
  /** Indexes (into the sets given) of the sets that could not reach their quorum. */
  readonly failedSets: number[];
  /** Per-node failures. */
  readonly failures: NodeFailure[];
  /** Answers that were not acks (see Declined). */
  readonly declined: Declined[];
  /** The failures' code when every node failed the same way (e.g. ENOSPC: disks full). */
  readonly code?: string;
  constructor(what: string, o: { successes: number; needed: number; nodes: number; failedSets: number[]; failures: NodeFailure[]; declined?: Declined[] }) {
    const errs = o.failures.map((f) => `${f.node.slice(0, 8)}: ${f.message}`);
    super(`${what}: quorum not reached (${o.successes} acks of ${o.nodes} nodes, ${o.needed} needed; errors: ${errs.slice(0, 3).join('; ') || 'none'})`);
    this.name = 'QuorumError';
    this.successes = o.successes;
    this.needed = o.needed;
    this.failedSets = o.failedSets;
    this.failures = o.failures;
    this.declined = o.declined ?? [];
    const codes = new Set(o.failures.map((f) => f.code));
    if (o.failures.length > 0 && codes.size === 1 && [...codes][0] !== undefined) this.code = [...codes][0];
  }
  /** Per-node error strings (node prefix: message). */
  get errors(): string[] {
    return this.failures.map((f) => `${f.node.slice(0, 8)}: ${f.message}`);
  }
}

export interface SetQuorum<T> {
  /** Named in the error message (an endpoint, a table, a block). */
  what: string;
  /** One node set per active layout version (a read: one set). */
  sets: NodeId[][];
  /** Acks needed in a set (capped by the caller to the set's size as it sees fit). */
  quorum: (set: NodeId[]) => number;
  /** The call to one node; a rejection is that node's failure. */
  call: (node: NodeId) => Promise<T>;
  /** An answer for which this returns false is declined: neither an ack nor a failure. */
  accept?: (node: NodeId, value: T) => boolean;
  /** Told of each failure as it happens (queueing for a replica, logging). Must not throw. */
  onFailure?: (node: NodeId, err: unknown) => void;
  /** Asked when the quorum is reached while calls are still running: true resolves now (the caller
   *  takes, synchronously, what that costs: a share of a memory budget), false waits for every call.
   *  Absent: resolve now. */
  returnEarly?: () => boolean;
  /** A failure for which this returns true ends the call at once, rejecting with that very error
   *  (e.g. this node's own broken invariant: a bug, answered 500, whatever the other nodes say). */
  fatal?: (node: NodeId, err: unknown) => boolean;
}

export interface SetQuorumResult<T> {
  /** Acks in arrival order (those received by the time the quorum was reached). */
  acks: { node: NodeId; value: T }[];
  /** Calls still running when the quorum was reached. */
  outstanding: number;
  /** Settles once every call settled (never rejects). */
  settled: Promise<void>;
}

/** Calls each distinct node of `sets` once. Resolves when every set holds quorum(set) acks (and,
 *  with waitAll, nothing is outstanding); rejects with QuorumError once some set cannot. */
export function quorumOverSets<T>(q: SetQuorum<T>): Promise<SetQuorumResult<T>> {
  const nodes = [...new Set(q.sets.flat())];
  const acked = new Map<NodeId, T>();
  const acks: { node: NodeId; value: T }[] = [];
  const failed = new Set<NodeId>();
  const failures: NodeFailure[] = [];
  const declined: Declined[] = [];
  const declinedNodes = new Set<NodeId>();
  let outstanding = nodes.length;
  let allSettled!: () => void;
  const settled = new Promise<void>((r) => (allSettled = r));
  if (outstanding === 0) allSettled();
  return new Promise((resolve, reject) => {
    let done = false;
    // A throw in a caller's callback (quorum, accept, returnEarly: a broken invariant) rejects the
    // call; inside a promise callback it would be an unhandled rejection, the end of the process.
    const check = () => {
      try {
        checkNow();
      } catch (e) {
        done = true;
        reject(e);
      }
    };
    const checkNow = () => {
      if (done) return;
      const ok = q.sets.every((s) => s.filter((n) => acked.has(n)).length >= q.quorum(s));
      if (ok && (outstanding === 0 || !q.returnEarly || q.returnEarly())) {
        done = true;
        resolve({ acks: [...acks], outstanding, settled });
        return;
      }
      const failedSets: number[] = [];
      q.sets.forEach((s, i) => {
        if (s.filter((n) => !failed.has(n) && !declinedNodes.has(n)).length < q.quorum(s)) failedSets.push(i);
      });
      if (failedSets.length > 0) {
        done = true;
        const needed = q.quorum(q.sets[failedSets[0]!]!);
        reject(new QuorumError(q.what, { successes: acked.size, needed, nodes: nodes.length, failedSets, failures: [...failures], declined: [...declined] }));
      }
    };
    const finishOne = () => {
      outstanding--;
      if (outstanding === 0) allSettled();
    };
    for (const n of nodes) {
      let p: Promise<T>;
      try {
        p = q.call(n);
      } catch (e) {
        p = Promise.reject(e);
      }
      p.then(
        (value) => {
          finishOne();
          let accepted: boolean;
          try {
            accepted = !q.accept || q.accept(n, value);
          } catch (e) {
            done = true;
            reject(e);
            return;
          }
          if (!accepted) {
            declinedNodes.add(n);
            declined.push({ node: n, value });
          } else {
            acked.set(n, value);
            acks.push({ node: n, value });
          }
          check();
        },
        (e: unknown) => {
          finishOne();
          failed.add(n);
          const err = e as { message?: unknown; code?: unknown } | null;
          failures.push({ node: n, message: String(err?.message ?? e), code: typeof err?.code === 'string' ? err.code : undefined, error: e });
          try {
            q.onFailure?.(n, e);
          } catch (err) {
            log.error({ what: q.what, node: n.slice(0, 8), err }, 'quorum: failure callback threw');
          }
          let fatal = false;
          try {
            fatal = !done && q.fatal?.(n, e) === true;
          } catch (err) {
            log.error({ what: q.what, err }, 'quorum: fatal callback threw');
          }
          if (fatal) {
            done = true;
            reject(e);
            return;
          }
          check();
        },
      );
    }
    check();
  });
}
