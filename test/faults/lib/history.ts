// The history of a fault run: every client operation with when it started and ended (ms since the
// run began), its outcome and what it read, in the shape the checker (checker.ts) consumes.

export type OpKind = 'put' | 'mpu' | 'delete' | 'get' | 'add' | 'list';

/** ok: acknowledged; fail: certainly not applied (never reached a server); info: indeterminate
 *  (an error or a timeout after the request was sent: it may have happened). */
export type Status = 'ok' | 'fail' | 'info';

export interface Op {
  id: number;
  worker: number;
  /** Index of the node the request went to. */
  node: number;
  kind: OpKind;
  bucket: string;
  /** The register key, the set element's key, or the listed prefix. */
  key: string;
  /** Writes (put, mpu, delete, add): a number unique in the run, the "version" in the body. */
  writeId?: number;
  size?: number;
  start: number;
  end: number;
  status: Status;
  /** get: the write id it returned, null for "no such key". */
  read?: number | null;
  /** list: the keys it returned. */
  elements?: string[];
  /** get: why the bytes were not exactly some write's. */
  wrong?: string;
  error?: string;
  /** 'final': the reads after healing and convergence (a stale one there is a lost write). */
  phase: 'run' | 'final';
}

/** Append-only, bounded (a run that exceeds `max` operations stops recording and says so). */
export class History {
  readonly ops: Op[] = [];
  private readonly t0 = performance.now();
  private nextWrite = 1;
  dropped = 0;
  readonly max: number;

  constructor(max = 2_000_000) {
    this.max = max;
  }

  now(): number {
    return performance.now() - this.t0;
  }

  writeId(): number {
    return this.nextWrite++;
  }

  add(op: Omit<Op, 'id'>): Op | undefined {
    if (this.ops.length >= this.max) {
      this.dropped++;
      return undefined;
    }
    const o = { id: this.ops.length, ...op };
    this.ops.push(o);
    return o;
  }
}

/** "12.3s" */
export function secs(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}

export function describeOp(o: Op): string {
  const what =
    o.kind === 'get'
      ? `read ${o.read === null ? 'absent' : `w${o.read}`}`
      : o.kind === 'list'
        ? `list ${o.elements?.length ?? 0} keys`
        : `${o.kind} w${o.writeId}`;
  return `#${o.id} ${o.phase} n${o.node} ${o.bucket}/${o.key} ${what} [${secs(o.start)}–${secs(o.end)}] ${o.status}${o.error ? ` (${o.error})` : ''}`;
}
