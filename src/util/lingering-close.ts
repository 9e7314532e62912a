// Closing a connection after an error answer on an unread body, with a bounded "lingering close":
// one rule for the S3 and admin listeners.
import type { IncomingMessage, ServerResponse } from 'node:http';

/** How long, and how many body bytes, the connection is still read (and dropped) after the answer. */
export const LINGER_MS = 2_000;
export const LINGER_BYTES_MAX = 8 * 1024 * 1024;

/** Marks the response `Connection: close` and replaces Node's destroySoon() (FIN, then destroy as
 *  soon as the answer is written, which resets a client still sending before it has read the
 *  answer) with: FIN, read and drop the body for at most LINGER_MS / LINGER_BYTES_MAX, destroy.
 *  Call before the answer is written. */
export function closeAfterAnswer(req: IncomingMessage, res: ServerResponse): void {
  res.setHeader('connection', 'close');
  const socket = res.socket;
  if (!socket) return;
  socket.destroySoon = function lingeringClose(): void {
    socket.end();
    const t = setTimeout(() => socket.destroy(), LINGER_MS);
    t.unref();
    socket.once('close', () => clearTimeout(t));
    let n = 0;
    req.on('data', (c: Buffer) => {
      n += c.length;
      if (n > LINGER_BYTES_MAX) socket.destroy();
    });
    req.once('end', () => socket.destroy());
    req.resume();
  };
}
