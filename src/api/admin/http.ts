// Admin API plumbing: the JSON error type, body reading with size and syntax checks, and
// field validators whose messages name the offending field so callers can fix their request.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { limitRefused } from '../../util/metrics.ts';

export class AdminError extends Error {
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export const badRequest = (message: string): AdminError => new AdminError(400, 'InvalidRequest', message);

/** Any string (value or object key) in a JSON body: ids, names, hosts and paths all fit, and so
 *  does any metadata key built from one (the DB refuses keys over 1978 bytes). */
export const JSON_STRING_BYTES_MAX = 1024;
/** Nesting of a JSON body: no admin body has more than a few levels. */
export const JSON_DEPTH_MAX = 32;
/** A query parameter's value (ids, names, hosts, paths). */
export const QUERY_VALUE_BYTES_MAX = 1024;

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body, null, 2) + '\n';
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

export function sendText(res: ServerResponse, status: number, text: string, type = 'text/plain; charset=utf-8'): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** Bytes of request bodies held in memory at once, over all requests of a listener: a request
 *  takes its share as it reads and gives it back when it is answered (`Hold.release`). */
export class BodyBudget {
  readonly max: number;
  private used = 0;
  constructor(max: number) {
    this.max = max;
  }
  get inUse(): number {
    return this.used;
  }
  /** One request's share; release it when the request is done (idempotent). */
  hold(): Hold {
    let taken = 0;
    return {
      take: (n: number): boolean => {
        if (this.used + n > this.max) return false;
        this.used += n;
        taken += n;
        return true;
      },
      release: (): void => {
        this.used -= taken;
        taken = 0;
      },
    };
  }
}
export interface Hold {
  take(n: number): boolean;
  release(): void;
}

const busy = (): AdminError => {
  limitRefused.inc({ limit: 'json_bodies_in_flight_bytes_max' });
  return new AdminError(503, 'SlowDown', 'this node is holding as many request bodies as it allows (limits.json_bodies_in_flight_bytes_max); retry shortly');
};

/** Reads a request body of at most `max` bytes (the config key `limitName`), refusing with 413
 *  from the declared length before reading any byte, or as soon as a streamed body passes it;
 *  every byte held counts against `hold`'s budget (503 when it is spent). On refusal the rest is
 *  left unread: the caller's error answer closes the connection. */
export function readBody(req: IncomingMessage, max: number, hold: Hold, limitName = 'json_body_bytes_max'): Promise<Buffer> {
  const tooLarge = (): AdminError => {
    limitRefused.inc({ limit: limitName });
    return new AdminError(413, 'PayloadTooLarge', `request body exceeds ${max} bytes (limits.${limitName})`);
  };
  const cl = req.headers['content-length'];
  const declared = cl === undefined ? undefined : Number(cl);
  if (declared !== undefined && declared > max) return Promise.reject(tooLarge());
  // A declared length is taken whole up front: refused before a byte arrives, not halfway.
  if (declared !== undefined && !hold.take(declared)) return Promise.reject(busy());
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let len = 0;
    const stop = (): void => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
    };
    const fail = (e: AdminError): void => {
      stop();
      req.pause();
      reject(e);
    };
    const onData = (chunk: Buffer): void => {
      len += chunk.length;
      if (len > max) return fail(tooLarge());
      if (declared === undefined && !hold.take(chunk.length)) return fail(busy());
      parts.push(chunk);
    };
    const onEnd = (): void => {
      stop();
      resolve(Buffer.concat(parts));
    };
    const onError = (e: Error): void => fail(new AdminError(400, 'IncompleteBody', `the request body could not be read: ${e.message}`));
    const onClose = (): void => fail(new AdminError(400, 'IncompleteBody', 'the connection closed before the request body ended'));
    req.on('data', onData);
    req.once('end', onEnd);
    req.once('error', onError);
    req.once('close', onClose);
  });
}

/** Throws 400 for a string (or key) over JSON_STRING_BYTES_MAX or nesting over JSON_DEPTH_MAX,
 *  naming the field; walks without recursion so no body can exhaust the stack. */
export function checkJsonShape(root: unknown): void {
  const stack: [unknown, number, string][] = [[root, 0, '']];
  const tooLong = (s: string): boolean => s.length > JSON_STRING_BYTES_MAX / 3 && Buffer.byteLength(s) > JSON_STRING_BYTES_MAX;
  const where = (field: string): string => (field ? ` (field "${field.length > 64 ? field.slice(0, 64) + '…' : field}")` : '');
  while (stack.length) {
    const [v, depth, field] = stack.pop()!;
    if (typeof v === 'string') {
      if (tooLong(v)) throw badRequest(`a string in the request body is longer than ${JSON_STRING_BYTES_MAX} bytes${where(field)}`);
      continue;
    }
    if (typeof v !== 'object' || v === null) continue;
    if (depth >= JSON_DEPTH_MAX) throw badRequest(`the request body nests deeper than ${JSON_DEPTH_MAX} levels${where(field)}`);
    if (Array.isArray(v)) {
      for (const x of v) stack.push([x, depth + 1, field]);
      continue;
    }
    for (const [k, x] of Object.entries(v)) {
      if (tooLong(k)) throw badRequest(`a field name in the request body is longer than ${JSON_STRING_BYTES_MAX} bytes${where(k)}`);
      stack.push([x, depth + 1, k]);
    }
  }
}

/** Throws 400 for a query parameter value over QUERY_VALUE_BYTES_MAX. */
export function checkQuery(query: URLSearchParams): void {
  for (const [k, v] of query) {
    if (v.length > QUERY_VALUE_BYTES_MAX / 3 && Buffer.byteLength(v) > QUERY_VALUE_BYTES_MAX)
      throw badRequest(`query parameter "${k.slice(0, 64)}" is longer than ${QUERY_VALUE_BYTES_MAX} bytes`);
  }
}

/** Parses a JSON body; empty is `{}` so optional-only bodies may be omitted. With `allowArray`,
 *  a bare array (Garage takes them for some operations) arrives as `{ items: [...] }`. */
export function parseJsonBody(buf: Buffer, opts: { allowArray?: boolean } = {}): Record<string, unknown> {
  const text = buf.toString('utf8').trim();
  if (text === '') return {};
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw badRequest(`request body is not valid JSON: ${(e as Error).message}`);
  }
  checkJsonShape(v);
  if (opts.allowArray && Array.isArray(v)) return { items: v };
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw badRequest(opts.allowArray ? 'request body must be a JSON object or array' : 'request body must be a JSON object');
  return v as Record<string, unknown>;
}

/** Reads the request body (at most `max` bytes, held against `hold`) as a JSON object. */
export async function readJson(req: IncomingMessage, max: number, hold: Hold): Promise<Record<string, unknown>> {
  return parseJsonBody(await readBody(req, max, hold));
}

export function str(body: Record<string, unknown>, field: string, required: true): string;
export function str(body: Record<string, unknown>, field: string, required?: false): string | undefined;
export function str(body: Record<string, unknown>, field: string, required = false): string | undefined {
  const v = body[field];
  if (v === undefined || v === null) {
    if (required) throw badRequest(`missing field "${field}"`);
    return undefined;
  }
  if (typeof v !== 'string') throw badRequest(`field "${field}" must be a string`);
  if (required && v === '') throw badRequest(`field "${field}" must not be empty`);
  return v;
}

export function bool(body: Record<string, unknown>, field: string, prefix = ''): boolean | undefined {
  const v = body[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw badRequest(`field "${prefix}${field}" must be true or false`);
  return v;
}

export function obj(body: Record<string, unknown>, field: string, required = false): Record<string, unknown> | undefined {
  const v = body[field];
  if (v === undefined || v === null) {
    if (required) throw badRequest(`missing field "${field}"`);
    return undefined;
  }
  if (typeof v !== 'object' || Array.isArray(v)) throw badRequest(`field "${field}" must be an object`);
  return v as Record<string, unknown>;
}

/** A non-negative integer or null (meaning "no limit"); undefined when absent. */
export function limit(body: Record<string, unknown>, field: string, prefix = ''): number | null | undefined {
  const v = body[field];
  if (v === undefined) return undefined;
  if (v === null) return null;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0)
    throw badRequest(`field "${prefix}${field}" must be a non-negative integer or null`);
  return v;
}
