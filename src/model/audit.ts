// The audit log: who did which admin action, when, on which node and with what result, in a table
// replicated everywhere. Bounded by construction: each node writes into AUDIT_EVENTS_PER_NODE_MAX
// slots (event n goes to slot n mod max), so a new event replaces that node's oldest one.
import { pack } from 'msgpackr';
import type { TableSchema } from '../table/schema.ts';
import type { Table } from '../table/table.ts';
import type { Db } from '../db/db.ts';

/** Events kept per node (older ones are overwritten). */
export const AUDIT_EVENTS_PER_NODE_MAX = 10_000;
/** Fields of an event, in characters (longer values are cut when recorded). */
export const AUDIT_WHO_CHARS_MAX = 160;
export const AUDIT_OP_CHARS_MAX = 64;
export const AUDIT_TARGET_CHARS_MAX = 512;
/** Events in one ListAuditEvents page. */
export const AUDIT_PAGE_MAX = 1000;

export interface AuditEvent {
  /** Node that served the request (64 hex). */
  node: string;
  slot: number;
  /** This node's event counter: the higher one owns the slot. */
  seq: number;
  /** Epoch ms. */
  time: number;
  who: string;
  op: string;
  target: string;
  status: number;
}

const pad = (n: number): string => String(n).padStart(5, '0');

export const auditSchema: TableSchema<AuditEvent> = {
  name: 'audit',
  replication: 'everywhere',
  partitionKey: () => 'audit',
  sortKey: (e) => `${e.node}:${pad(e.slot)}`,
  merge: (a, b) => {
    if (a.seq !== b.seq) return a.seq > b.seq ? a : b;
    // The same event everywhere; if a node ever reused a number, a total order (time, then the
    // encoding) so every replica keeps the same one (src/model/laws.test.ts).
    if (a.time !== b.time) return a.time > b.time ? a : b;
    return Buffer.compare(pack(a), pack(b)) >= 0 ? a : b;
  },
  isTombstone: () => false,
  validate(x: unknown) {
    const e = x as AuditEvent;
    if (typeof e.node !== 'string' || !/^[0-9a-f]{64}$/.test(e.node)) throw new Error('node is not 64 hex characters');
    if (!Number.isSafeInteger(e.seq) || e.seq < 0) throw new Error('bad seq');
    if (e.slot !== e.seq % AUDIT_EVENTS_PER_NODE_MAX) throw new Error('slot does not match seq');
    if (typeof e.time !== 'number' || !Number.isFinite(e.time)) throw new Error('bad time');
    if (!Number.isSafeInteger(e.status)) throw new Error('bad status');
    const strs: [unknown, number][] = [
      [e.who, AUDIT_WHO_CHARS_MAX],
      [e.op, AUDIT_OP_CHARS_MAX],
      [e.target, AUDIT_TARGET_CHARS_MAX],
    ];
    for (const [s, max] of strs) if (typeof s !== 'string' || s.length > max) throw new Error('a text field is not a string or too long');
  },
};

export interface AuditInput {
  who: string;
  op: string;
  target: string;
  status: number;
  time?: number;
}

/** Writes this node's events (each queued for the other nodes, never waiting on them). */
export class AuditLog {
  private readonly table: Table<AuditEvent>;
  private readonly db: Db;
  private readonly node: string;
  private next?: number;

  constructor(db: Db, table: Table<AuditEvent>, node: string) {
    this.db = db;
    this.table = table;
    this.node = node;
  }

  /** This node's next event number: one more than the highest it finds (read once). */
  private nextSeq(): number {
    if (this.next === undefined) {
      let max = -1;
      for (const e of this.table.local.range('audit', { prefix: `${this.node}:` })) if (e.seq > max) max = e.seq;
      this.next = max + 1;
    }
    return this.next++;
  }

  record(ev: AuditInput): AuditEvent {
    const seq = this.nextSeq();
    const e: AuditEvent = {
      node: this.node,
      slot: seq % AUDIT_EVENTS_PER_NODE_MAX,
      seq,
      time: ev.time ?? Date.now(),
      who: ev.who.slice(0, AUDIT_WHO_CHARS_MAX),
      op: ev.op.slice(0, AUDIT_OP_CHARS_MAX),
      target: ev.target.slice(0, AUDIT_TARGET_CHARS_MAX),
      status: ev.status,
    };
    this.db.transaction(() => this.table.queueInsert(e));
    return e;
  }
}

/** Newest first: by time, then node, then number. */
function newer(a: AuditEvent, b: AuditEvent): number {
  if (a.time !== b.time) return b.time - a.time;
  if (a.node !== b.node) return a.node < b.node ? -1 : 1;
  return b.seq - a.seq;
}

export function auditCursor(e: AuditEvent): string {
  return `${e.time}.${e.node}.${e.seq}`;
}

function parseCursor(c: string): AuditEvent | undefined {
  const m = /^(\d{1,16})\.([0-9a-f]{64})\.(\d{1,16})$/.exec(c);
  if (!m) return undefined;
  return { time: Number(m[1]), node: m[2]!, seq: Number(m[3]), slot: 0, who: '', op: '', target: '', status: 0 };
}

export interface AuditPage {
  events: AuditEvent[];
  /** Pass as `after` for the next (older) page; null: this was the last. */
  next: string | null;
}

/** One page of events, newest first, strictly older than the cursor `after`. The table holds at
 *  most AUDIT_EVENTS_PER_NODE_MAX per node, so a page costs one pass over it. */
export function listAudit(table: Table<AuditEvent>, opts: { after?: string; limit: number; filter?: (e: AuditEvent) => boolean }): AuditPage {
  const after = opts.after === undefined ? undefined : parseCursor(opts.after);
  if (opts.after !== undefined && !after) throw new Error('invalid cursor');
  const all: AuditEvent[] = [];
  for (const e of table.local.range('audit')) {
    if (after && newer(after, e) >= 0) continue;
    if (opts.filter && !opts.filter(e)) continue;
    all.push(e);
  }
  all.sort(newer);
  const events = all.slice(0, opts.limit);
  return { events, next: all.length > opts.limit ? auditCursor(events[events.length - 1]!) : null };
}
