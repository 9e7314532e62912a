// Late writes: a write is committed only while its client still waits for the answer. A node that
// was paused (SIGSTOP, a GC pause, a swapping Pi) finds requests in its sockets whose clients gave
// up long ago; stamped now, such a write would be ordered after writes acknowledged meanwhile
// through other nodes and silently override them (issue 14). Refused instead: nothing is written.
import type { S3Ctx } from '../context.ts';
import { S3Error } from '../errors.ts';
import { log } from '../../../util/log.ts';

/** Resolves after the event loop has polled its sockets once (two check phases apart), so a
 *  client that closed its connection while this process was stopped is seen as gone. */
function afterOnePoll(): Promise<void> {
  return new Promise((r) => setImmediate(() => setImmediate(r)));
}

/** Whether the client of `ctx` has closed (or half-closed) its connection: it will never read
 *  the answer (Node's HTTP server aborts a request whose client half-closed, too). */
export function clientGone(ctx: Pick<S3Ctx, 'req' | 'res'>): boolean {
  const s = ctx.req.socket as typeof ctx.req.socket | undefined;
  // No socket: an in-process caller (unit tests), with no connection to watch.
  if (!s) return ctx.res.destroyed === true;
  return ctx.res.destroyed || s.destroyed || s.readableEnded || !s.writable;
}

/** Throws RequestTimeout (and writes nothing) when the client has gone. Call it right before the
 *  insert that commits a write, and start that insert synchronously after it resolves: a pause
 *  after the check delays a write whose timestamp is already taken, so writes acknowledged
 *  meanwhile are ordered after it (within the nodes' clock skew). */
export async function requireClientWaiting(ctx: Pick<S3Ctx, 'req' | 'res' | 'requestId' | 'method'>, what: string): Promise<void> {
  await afterOnePoll();
  if (!clientGone(ctx)) return;
  log.info({ requestId: ctx.requestId, method: ctx.method, what }, 'client gone before the commit: write refused (a late write must not override later ones)');
  throw new S3Error('RequestTimeout', 'Your socket connection to the server was closed before the write was committed; nothing was written.');
}
