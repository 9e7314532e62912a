// A seeded, simulated network and clock: random delays, drops, partitions and crashes, with
// events run one at a time in (time, sequence) order so a failing seed replays exactly.
import { pack, unpack } from 'msgpackr';
import type { Clock } from '../util/time.ts';
import { prng } from '../util/random.ts';
import { commitOnMainThread } from '../util/commit-mode.ts';
import { RemoteError, type CallOptions, type Handler, type NodeId, type PeerView, type Transport } from './transport.ts';

export { prng };

interface Event {
  at: number;
  seq: number;
  fire: () => void;
}

export class SimClock implements Clock {
  private readonly net: SimNetwork;
  constructor(net: SimNetwork) {
    this.net = net;
  }
  now(): number {
    return this.net.time;
  }
  sleep(ms: number): Promise<void> {
    return new Promise((r) => this.net.schedule(Math.max(0, ms), r));
  }
}

export interface SimOptions {
  minDelayMs: number;
  maxDelayMs: number;
  dropRate: number;
}

export class SimNetwork {
  time = 1_700_000_000_000;
  readonly clock: SimClock;
  readonly rand: () => number;
  readonly opts: SimOptions;
  private seq = 0;
  private queue: Event[] = [];
  private readonly nodes = new Map<NodeId, SimTransport>();
  private readonly crashed = new Set<NodeId>();
  private readonly cut = new Set<string>();
  /** Per-node clock skew, for clock-disagreement tests. */
  readonly skew = new Map<NodeId, number>();

  constructor(seed: number, opts: Partial<SimOptions> = {}) {
    this.rand = prng(seed);
    this.opts = { minDelayMs: 1, maxDelayMs: 30, dropRate: 0, ...opts };
    this.clock = new SimClock(this);
    // Simulated time lets a few event-loop turns pass per event: a commit on lmdb-js's write
    // thread would land at a real-time instant, outside them and out of the seeded order.
    commitOnMainThread(true);
  }

  schedule(afterMs: number, fire: () => void): void {
    const ev = { at: this.time + afterMs, seq: this.seq++, fire };
    // Binary insertion keeps the queue ordered by (at, seq).
    let lo = 0;
    let hi = this.queue.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const q = this.queue[mid]!;
      if (q.at < ev.at || (q.at === ev.at && q.seq < ev.seq)) lo = mid + 1;
      else hi = mid;
    }
    this.queue.splice(lo, 0, ev);
  }

  /** A clock for one node, offset by its skew. */
  nodeClock(id: NodeId): Clock {
    return { now: () => this.time + (this.skew.get(id) ?? 0), sleep: (ms) => this.clock.sleep(ms) };
  }

  transport(id: NodeId): SimTransport {
    let t = this.nodes.get(id);
    if (!t) {
      t = new SimTransport(this, id);
      this.nodes.set(id, t);
    }
    return t;
  }

  ids(): NodeId[] {
    return [...this.nodes.keys()];
  }

  crash(id: NodeId): void {
    this.crashed.add(id);
  }
  restart(id: NodeId): void {
    this.crashed.delete(id);
  }
  isCrashed(id: NodeId): boolean {
    return this.crashed.has(id);
  }
  partition(a: NodeId[], b: NodeId[]): void {
    for (const x of a) for (const y of b) this.cut.add(`${x}|${y}`).add(`${y}|${x}`);
  }
  heal(): void {
    this.cut.clear();
  }
  /** Can a message go from a to b right now (not counting random drops)? */
  reachable(a: NodeId, b: NodeId): boolean {
    return !this.crashed.has(a) && !this.crashed.has(b) && !this.cut.has(`${a}|${b}`);
  }

  delay(): number {
    const { minDelayMs, maxDelayMs } = this.opts;
    return minDelayMs + Math.floor(this.rand() * (maxDelayMs - minDelayMs + 1));
  }

  /** Lets every pending promise continuation run before the next event. */
  private async settle(): Promise<void> {
    for (let i = 0; i < 3; i++) await new Promise<void>((r) => setImmediate(r));
  }

  /** Runs events until `cond()` holds or simulated time passes `maxMs`; returns whether cond held. */
  async runUntil(cond: () => boolean, maxMs: number): Promise<boolean> {
    const end = this.time + maxMs;
    await this.settle();
    while (!cond()) {
      const ev = this.queue[0];
      if (!ev || ev.at > end) {
        this.time = Math.max(this.time, Math.min(end, ev?.at ?? end));
        return cond();
      }
      this.queue.shift();
      this.time = Math.max(this.time, ev.at);
      ev.fire();
      await this.settle();
    }
    return true;
  }

  /** Runs until a promise settles (bounded by maxMs of simulated time). */
  async await<T>(p: Promise<T>, maxMs = 600_000): Promise<T> {
    let settled = false;
    p.then(
      () => (settled = true),
      () => (settled = true),
    );
    if (!(await this.runUntil(() => settled, maxMs))) throw new Error(`simulation: promise not settled after ${maxMs} ms`);
    return p;
  }

  async advance(ms: number): Promise<void> {
    await this.runUntil(() => false, ms);
  }
}

export class SimTransport implements Transport {
  readonly id: NodeId;
  private readonly net: SimNetwork;
  private readonly handlers = new Map<string, Handler>();
  constructor(net: SimNetwork, id: NodeId) {
    this.net = net;
    this.id = id;
  }
  register(endpoint: string, h: Handler): void {
    this.handlers.set(endpoint, h);
  }
  handler(endpoint: string): Handler | undefined {
    return this.handlers.get(endpoint);
  }
  call(to: NodeId, endpoint: string, msg: unknown, opts: CallOptions = {}): Promise<unknown> {
    const net = this.net;
    const timeout = opts.timeoutMs ?? 30_000;
    return new Promise((resolve, reject) => {
      let finished = false;
      const finish = (f: () => void) => {
        if (!finished) {
          finished = true;
          f();
        }
      };
      net.schedule(timeout, () => finish(() => reject(new Error(`timeout calling ${endpoint} on ${to.slice(0, 8)}`))));
      const payload = pack(msg);
      const dropped = () => !net.reachable(this.id, to) || net.rand() < net.opts.dropRate;
      if (dropped()) return;
      net.schedule(net.delay(), () => {
        if (!net.reachable(this.id, to)) return;
        const h = net.transport(to).handler(endpoint);
        const reply = (f: () => void) => {
          if (!net.reachable(to, this.id) || net.rand() < net.opts.dropRate) return;
          net.schedule(net.delay(), () => finish(f));
        };
        if (!h) {
          reply(() => reject(new RemoteError('NoHandler', `no handler for ${endpoint}`)));
          return;
        }
        h(this.id, endpoint, unpack(payload)).then(
          (v) => {
            const out = pack(v);
            reply(() => resolve(unpack(out)));
          },
          (e: Error) => reply(() => reject(new RemoteError((e as { code?: string }).code ?? 'Error', e.message))),
        );
      });
    });
  }
  /** Every other simulated node; "connected" while a message could get through. */
  peers(): PeerView[] {
    return this.net.ids().filter((id) => id !== this.id).map((id) => ({ id, connected: this.net.reachable(this.id, id) }));
  }
}
