// Opt-in phase timing of the write path (env GRENIER_TRACE_PUT=1): a request's marks, relative to
// its start, logged as one line when it ends; off, the only cost is a boolean test per mark site.
import { AsyncLocalStorage } from 'node:async_hooks';
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import { log } from './log.ts';

/** Read once at start-up: tracing is a diagnostic switch, not a runtime setting. */
export const TRACE_PUT = process.env.GRENIER_TRACE_PUT === '1';

/** Info level whatever GRENIER_LOG says (test nodes run at warn): asking for the trace is enough. */
const traceLog = TRACE_PUT ? log.child({ trace: 'put' }, { level: 'info' }) : log;

/** This process's event-loop delay since the previous trace line (how long ready work waited for
 *  the CPU: on a shared machine, the part of a phase that is not this request's own work). */
const loopDelay = TRACE_PUT ? monitorEventLoopDelay({ resolution: 5 }) : undefined;
loopDelay?.enable();
/** GC pauses since the previous trace line (count, total and longest ms, by kind). */
let gc = { n: 0, ms: 0, maxMs: 0, major: 0, flags: 0 };
let lastCpu = process.cpuUsage();
if (TRACE_PUT)
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      gc.n++;
      gc.ms += e.duration;
      gc.maxMs = Math.max(gc.maxMs, e.duration);
      // NODE_PERFORMANCE_GC_MAJOR = 4 (mark-compact)
      const d = (e as { detail?: { kind?: number; flags?: number } }).detail;
      if (d?.kind === 4) {
        gc.major++;
        gc.flags = d.flags ?? 0;
      }
    }
  }).observe({ entryTypes: ['gc'] });

export class PhaseTrace {
  private readonly t0 = performance.now();
  private readonly marks: [string, number][] = [];
  readonly what: string;
  readonly fields: Record<string, unknown>;
  constructor(what: string, fields: Record<string, unknown> = {}) {
    this.what = what;
    this.fields = fields;
  }
  /** Milliseconds since the start, to 0.1 ms. */
  since(): number {
    return Math.round((performance.now() - this.t0) * 10) / 10;
  }
  mark(name: string): void {
    this.marks.push([name, this.since()]);
  }
  /** Logs the marks in order (a name marked twice keeps both, suffixed). */
  end(extra: Record<string, unknown> = {}): void {
    const phases: Record<string, number> = {};
    for (const [n, t] of this.marks) {
      let k = n;
      for (let i = 2; k in phases; i++) k = `${n}#${i}`;
      phases[k] = t;
    }
    const lag = loopDelay && loopDelay.count > 0 ? { lagMaxMs: Math.round(loopDelay.max / 1e5) / 10, lagMeanMs: Math.round(loopDelay.mean / 1e5) / 10 } : {};
    loopDelay?.reset();
    // CPU this process used since the previous line (all its threads): what a request cost when
    // requests run one at a time (the bench), whatever the machine's load did to the wall time.
    const cpuNow = process.cpuUsage();
    const cpuMs = Math.round((cpuNow.user - lastCpu.user + cpuNow.system - lastCpu.system) / 100) / 10;
    lastCpu = cpuNow;
    const gcs = TRACE_PUT ? { cpuMs, gcN: gc.n, gcMs: Math.round(gc.ms * 10) / 10, gcMaxMs: Math.round(gc.maxMs * 10) / 10, gcMajor: gc.major, gcFlags: gc.flags, mem: process.memoryUsage() } : {};
    gc = { n: 0, ms: 0, maxMs: 0, major: 0, flags: 0 };
    // Wall-clock start (ms, sub-ms): lines of several processes on one machine can be lined up.
    const at = Math.round((performance.timeOrigin + this.t0) * 10) / 10;
    traceLog.info({ ...this.fields, ...extra, at, total: this.since(), ...lag, ...gcs, phases }, this.what);
  }
}

const current = new AsyncLocalStorage<PhaseTrace>();

/** Runs `fn` with `t` as the current trace (marks from code it calls land there); off: just `fn`. */
export function withTrace<T>(t: PhaseTrace | undefined, fn: () => T): T {
  return t ? current.run(t, fn) : fn();
}

/** Marks the current request's trace, if tracing is on and one runs. */
export function mark(name: string): void {
  if (TRACE_PUT) current.getStore()?.mark(name);
}

/** The current request's trace (for callbacks run outside its async context: event listeners). */
export function currentTrace(): PhaseTrace | undefined {
  return TRACE_PUT ? current.getStore() : undefined;
}

/** A new trace when tracing is on (else undefined: callers skip all work). */
export function startTrace(what: string, fields?: Record<string, unknown>): PhaseTrace | undefined {
  return TRACE_PUT ? new PhaseTrace(what, fields) : undefined;
}
