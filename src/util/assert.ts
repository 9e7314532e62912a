// Invariants of production code. A failed one is a bug here, never bad input: it is logged and
// thrown as an InvariantError (the S3 and admin servers answer 500 InternalError) BEFORE anything
// is written, so a broken invariant costs one request, not the data.
import { log } from './log.ts';

export class InvariantError extends Error {
  readonly details?: Record<string, unknown>;
  constructor(what: string, details?: Record<string, unknown>) {
    super(`invariant broken: ${what}`);
    this.name = 'InvariantError';
    this.details = details;
  }
}

/** Throws (and logs, with a stack) an InvariantError unless `cond` holds. */
export function invariant(cond: unknown, what: string, details?: Record<string, unknown>): asserts cond {
  if (cond) return;
  const e = new InvariantError(what, details);
  log.error({ err: e, ...details }, e.message);
  throw e;
}

/** invariant() for code no request waits on (socket events, timers), where a throw would end the
 *  process: logs the same way and returns false, and the caller repairs (closes, recounts). */
export function holds(cond: unknown, what: string, details?: Record<string, unknown>): boolean {
  if (cond) return true;
  const e = new InvariantError(what, details);
  log.error({ err: e, ...details }, e.message);
  return false;
}

/** For functions whose writes must be atomic with their caller's: they run inside Db.transaction. */
export function assertInTransaction(db: { readonly inTransaction: boolean }, where: string): void {
  invariant(db.inTransaction, `${where} must run inside a metadata transaction`);
}
