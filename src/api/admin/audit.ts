// The audit log in the admin API: what is recorded for an admin request (state-changing
// operations of callers that proved who they are) and ListAuditEvents, newest first, paginated.
import type { IncomingMessage } from 'node:http';
import { AUDIT_PAGE_MAX, AuditLog, listAudit, type AuditEvent } from '../../model/audit.ts';
import { log } from '../../util/log.ts';
import { badRequest } from './http.ts';
import type { AdminDeps, Handler } from './context.ts';

const logs = new WeakMap<AdminDeps['store'], AuditLog>();

function auditLog(deps: AdminDeps): AuditLog {
  let l = logs.get(deps.store);
  if (!l) logs.set(deps.store, (l = new AuditLog(deps.store.db, deps.store.audit, deps.nodeId)));
  return l;
}

/** Query parameters that name what an operation acts on. */
const TARGET_PARAMS = ['id', 'search', 'globalAlias', 'site', 'host', 'path', 'node', 'accessKeyId', 'bucketId'];
/** Body fields that do, for operations that take their target in the body. */
const TARGET_FIELDS = ['globalAlias', 'name', 'domain', 'host', 'bucketId', 'accessKeyId', 'repairType', 'owner'];

/** A short description of what a request acts on, from its query and (parsed) body; never a secret. */
export function targetOf(query: URLSearchParams, body: Record<string, unknown> | undefined): string {
  const parts: string[] = [];
  for (const k of TARGET_PARAMS) {
    const v = query.get(k);
    if (v) parts.push(`${k}=${v.slice(0, 128)}`);
  }
  if (body)
    for (const k of TARGET_FIELDS) {
      const v = body[k];
      if (typeof v === 'string' && v) parts.push(`${k}=${v.slice(0, 128)}`);
      else if (typeof v === 'object' && v !== null && k === 'repairType') parts.push(`${k}=${JSON.stringify(v).slice(0, 64)}`);
    }
  return parts.join(' ');
}

/** Records one admin action; a failure to record is logged, never fails the request. */
export function recordAudit(deps: AdminDeps, ev: { who: string; op: string; target: string; status: number }): void {
  try {
    auditLog(deps).record(ev);
  } catch (err) {
    log.error({ err, op: ev.op }, 'cannot record an audit event');
  }
}

export function isAction(req: IncomingMessage): boolean {
  return req.method !== 'GET' && req.method !== 'HEAD';
}

function eventInfo(e: AuditEvent): Record<string, unknown> {
  return { time: new Date(e.time).toISOString(), node: e.node, seq: e.seq, who: e.who, op: e.op, target: e.target, status: e.status };
}

/** Query: ?limit= (default 100, at most AUDIT_PAGE_MAX), ?after=<cursor from "next">, and filters
 *  ?who= (substring), ?op= (exact), ?node= (id prefix). */
const listAuditEvents: Handler = async ({ deps, query }) => {
  const rawLimit = query.get('limit');
  const limit = rawLimit === null ? 100 : Number(rawLimit);
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > AUDIT_PAGE_MAX) throw badRequest(`query parameter "limit" must be a whole number from 1 to ${AUDIT_PAGE_MAX}`);
  const who = query.get('who');
  const op = query.get('op');
  const node = query.get('node');
  const filter = who || op || node ? (e: AuditEvent) => (!who || e.who.includes(who)) && (!op || e.op === op) && (!node || e.node.startsWith(node)) : undefined;
  let page;
  try {
    page = listAudit(deps.store.audit, { after: query.get('after') ?? undefined, limit, filter });
  } catch {
    throw badRequest('query parameter "after" is not a cursor returned by ListAuditEvents ("next")');
  }
  return { events: page.events.map(eventInfo), next: page.next };
};

export const AUDIT_OPS: Record<string, Handler> = { ListAuditEvents: listAuditEvents };
export const AUDIT_READS = ['ListAuditEvents'];
