// Background workers with visible state: each runs a pass periodically (or when triggered),
// reports its queue and progress, and sleeps between passes according to its tranquility.
import type { Clock } from './time.ts';
import { log } from './log.ts';

export interface WorkerStatus {
  name: string;
  state: 'idle' | 'busy' | 'stopped';
  runs: number;
  queue: number;
  progress: string;
  lastRunAt?: number;
  lastDurationMs?: number;
  lastError?: string;
  lastErrorAt?: number;
  errors: number;
  /** Failed passes since the last one that succeeded. */
  consecutiveErrors: number;
}

export interface PassResult {
  queue?: number;
  progress?: string;
}

export class Worker {
  readonly name: string;
  private readonly intervalMs: number;
  private readonly pass: (w: Worker) => Promise<PassResult | void>;
  private readonly clock: Clock;
  private st: WorkerStatus;
  private stopped = true;
  private wake?: () => void;
  /** A trigger() that arrived while a pass ran: the change it signals may be after what the pass read. */
  private pending = false;
  /** A pass's request to run the next one sooner than the interval (retry with back-off). */
  private nextDelayMs?: number;
  private loop?: Promise<void>;
  /** Wait before the first pass (a scrub must not re-hash every block at each restart). */
  private readonly firstDelayMs: number;

  constructor(name: string, intervalMs: number, clock: Clock, pass: (w: Worker) => Promise<PassResult | void>, opts: { firstDelayMs?: number } = {}) {
    this.name = name;
    this.intervalMs = intervalMs;
    this.firstDelayMs = opts.firstDelayMs ?? 0;
    this.clock = clock;
    this.pass = pass;
    this.st = { name, state: 'stopped', runs: 0, queue: 0, progress: '', errors: 0, consecutiveErrors: 0 };
  }

  /** Called by a pass to report progress while it runs. */
  report(r: PassResult): void {
    if (r.queue !== undefined) this.st.queue = r.queue;
    if (r.progress !== undefined) this.st.progress = r.progress;
  }

  status(): WorkerStatus {
    return { ...this.st };
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.st.state = 'idle';
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.st.state = 'stopped';
    this.wake?.();
    await this.loop;
  }

  /** Runs a pass soon instead of waiting for the interval; during a pass, runs another right after it. */
  trigger(): void {
    if (this.wake) this.wake();
    else this.pending = true;
  }

  /** Called by a pass: the next pass runs after `ms` at most (sooner if triggered), not the interval. */
  retryIn(ms: number): void {
    this.nextDelayMs = Math.min(this.nextDelayMs ?? Infinity, Math.max(0, ms));
  }

  /** Runs one pass now (tests, admin "repair" commands). */
  async runOnce(): Promise<void> {
    const t0 = this.clock.now();
    this.st.state = 'busy';
    try {
      const r = await this.pass(this);
      if (r) this.report(r);
      this.st.lastError = undefined;
      this.st.consecutiveErrors = 0;
    } catch (e) {
      this.st.errors++;
      this.st.consecutiveErrors++;
      this.st.lastError = (e as Error).message;
      this.st.lastErrorAt = this.clock.now();
      log.warn({ worker: this.name, err: (e as Error).message }, 'worker pass failed');
    } finally {
      this.st.runs++;
      this.st.lastRunAt = this.clock.now();
      this.st.lastDurationMs = this.clock.now() - t0;
      if (!this.stopped) this.st.state = 'idle';
    }
  }

  private async run(): Promise<void> {
    if (this.firstDelayMs > 0) await this.pause(this.firstDelayMs);
    while (!this.stopped) {
      this.pending = false;
      this.nextDelayMs = undefined;
      await this.runOnce();
      if (this.stopped) break;
      if (this.pending) continue;
      await this.pause(Math.min(this.intervalMs, this.nextDelayMs ?? Infinity));
    }
  }

  /** Sleeps, unless trigger() or stop() wakes it earlier. */
  private async pause(ms: number): Promise<void> {
    await new Promise<void>((r) => {
      this.wake = r;
      this.clock.sleep(ms).then(r);
    });
    this.wake = undefined;
  }
}

export class Workers {
  private readonly list: Worker[] = [];
  add(w: Worker): Worker {
    this.list.push(w);
    return w;
  }
  get(name: string): Worker | undefined {
    return this.list.find((w) => w.name === name);
  }
  all(): Worker[] {
    return [...this.list];
  }
  startAll(): void {
    for (const w of this.list) w.start();
  }
  async stopAll(): Promise<void> {
    await Promise.all(this.list.map((w) => w.stop()));
  }
}
