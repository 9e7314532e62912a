// Admin API plumbing: the JSON error type, body reading with size and syntax checks, and
// field validators whose messages name the offending field so callers can fix their request.
import type { IncomingMessage, ServerResponse } from 'node:http';

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

const MAX_BODY = 1024 * 1024;

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body, null, 2) + '\n';
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

export function sendText(res: ServerResponse, status: number, text: string, type = 'text/plain; charset=utf-8'): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** Reads a request body, refusing more than `max` bytes (413). */
export async function readBody(req: IncomingMessage, max = MAX_BODY): Promise<Buffer> {
  const parts: Buffer[] = [];
  let len = 0;
  for await (const chunk of req) {
    len += (chunk as Buffer).length;
    if (len > max) throw new AdminError(413, 'PayloadTooLarge', `request body exceeds ${max} bytes`);
    parts.push(chunk as Buffer);
  }
  return Buffer.concat(parts);
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
  if (opts.allowArray && Array.isArray(v)) return { items: v };
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw badRequest(opts.allowArray ? 'request body must be a JSON object or array' : 'request body must be a JSON object');
  return v as Record<string, unknown>;
}

/** Reads the request body as a JSON object. */
export async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  return parseJsonBody(await readBody(req));
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
