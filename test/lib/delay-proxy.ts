// A small delaying TCP proxy for geo tests: listens on 127.0.0.1:0 and forwards every connection to
// a target, holding each chunk for a fixed one-way delay per direction (order kept, back-pressure:
// the source is paused while too many bytes wait), since this kernel has no `tc netem`.
import { createServer, connect, type Server, type Socket } from 'node:net';

export interface DelayProxyOptions {
  /** Where connections go. */
  targetHost?: string;
  targetPort: number;
  /** One-way delay added in each direction, in ms (RTT grows by twice this). */
  delayMs: number;
  /** Bytes queued per direction before the source is paused (default 4 MiB). */
  maxQueueBytes?: number;
}

export interface DelayProxy {
  host: string;
  port: number;
  /** "127.0.0.1:port" */
  addr: string;
  /** Changes the one-way delay for chunks received from now on. */
  setDelay(ms: number): void;
  /** Connections currently open. */
  connections(): number;
  /** Most bytes ever waiting in one direction of one connection (checks the back-pressure bound). */
  peakQueuedBytes(): number;
  /** Stops listening and destroys every connection (bounded: never waits on peers). */
  close(): Promise<void>;
}

interface Item {
  due: number;
  buf: Buffer | null; // null = end of stream
}

/** Moves bytes from `src` to `dst`, each chunk `delay()` ms after it arrived, in order. */
function delayedPipe(src: Socket, dst: Socket, delay: () => number, maxQueue: number, kill: () => void, peak: (n: number) => void): void {
  const queue: Item[] = [];
  let head = 0;
  let queued = 0;
  let timer: NodeJS.Timeout | undefined;
  let waitingDrain = false;
  let paused = false;

  const schedule = () => {
    if (timer || waitingDrain || head >= queue.length) return;
    const wait = Math.max(0, queue[head]!.due - Date.now());
    timer = setTimeout(flush, wait);
  };
  const flush = () => {
    timer = undefined;
    const now = Date.now();
    while (head < queue.length && queue[head]!.due <= now) {
      const it = queue[head++]!;
      if (it.buf === null) {
        dst.end();
        queue.length = head = 0;
        return;
      }
      queued -= it.buf.length;
      if (dst.destroyed) return;
      if (!dst.write(it.buf)) {
        waitingDrain = true;
        dst.once('drain', () => {
          waitingDrain = false;
          flush();
        });
        break;
      }
    }
    if (head > 1024 && head * 2 > queue.length) {
      queue.splice(0, head);
      head = 0;
    }
    if (paused && queued < maxQueue / 2 && !waitingDrain) {
      paused = false;
      src.resume();
    }
    schedule();
  };

  src.on('data', (buf: Buffer) => {
    // Due times never go backwards, even if the delay is lowered meanwhile: order is kept.
    const last = queue.length > head ? queue[queue.length - 1]!.due : 0;
    queue.push({ due: Math.max(last, Date.now() + delay()), buf });
    queued += buf.length;
    peak(queued);
    if (queued >= maxQueue && !paused) {
      paused = true;
      src.pause();
    }
    schedule();
  });
  src.on('end', () => {
    const last = queue.length > head ? queue[queue.length - 1]!.due : 0;
    queue.push({ due: Math.max(last, Date.now() + delay()), buf: null });
    schedule();
  });
  dst.on('close', (hadError: boolean) => {
    // Nothing more can be delivered: drop what waits. A clean close happens only after both
    // directions ended; an abrupt one takes the whole path down.
    if (timer) clearTimeout(timer);
    timer = undefined;
    queue.length = head = queued = 0;
    if (hadError) kill();
  });
}

export async function startDelayProxy(opts: DelayProxyOptions): Promise<DelayProxy> {
  const targetHost = opts.targetHost ?? '127.0.0.1';
  const maxQueue = opts.maxQueueBytes ?? 4 * 1024 * 1024;
  let delayMs = opts.delayMs;
  let peakQueued = 0;
  const peak = (n: number) => {
    if (n > peakQueued) peakQueued = n;
  };
  const sockets = new Set<Socket>();
  const track = (s: Socket) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  };

  // Half-open allowed on both sides: an end is forwarded (late) like any byte, never implied.
  const server: Server = createServer({ pauseOnConnect: true, noDelay: true, allowHalfOpen: true }, (client) => {
    track(client);
    const upstream = connect({ host: targetHost, port: opts.targetPort, noDelay: true, allowHalfOpen: true });
    track(upstream);
    upstream.pause();
    let dead = false;
    const kill = () => {
      if (dead) return;
      dead = true;
      client.destroy();
      upstream.destroy();
    };
    client.on('error', kill);
    upstream.on('error', kill);
    upstream.once('connect', () => {
      delayedPipe(client, upstream, () => delayMs, maxQueue, kill, peak);
      delayedPipe(upstream, client, () => delayMs, maxQueue, kill, peak);
      client.resume();
      upstream.resume();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const a = server.address();
  const port = typeof a === 'object' && a ? a.port : 0;
  return {
    host: '127.0.0.1',
    port,
    addr: `127.0.0.1:${port}`,
    setDelay(ms: number) {
      delayMs = ms;
    },
    connections: () => sockets.size,
    peakQueuedBytes: () => peakQueued,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
