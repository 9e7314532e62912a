// Finds the node to talk to (flag, environment, or the dev config under ./data) and calls its
// admin API, turning every transport or API failure into one human sentence.
import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { resolve } from 'node:path';
import { loadConfig, splitAddr } from '../config/config.ts';
import { GrenierError } from '../util/errors.ts';

/** A failure to show as one `error:` line; exitCode 2 marks usage errors. */
export class CliError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode = 1) {
    super(message);
    this.exitCode = exitCode;
  }
}

export interface Target {
  url: string;
  token?: string;
  /** Where url and token came from, for error messages. */
  source: string;
}

/** The admin client for a command, from the global -c option or the environment. */
export function clientFor(cmd: Command): AdminClient {
  return new AdminClient(discover({ config: cmd.optsWithGlobals().config as string | undefined }));
}

export const DEV_CONFIG = 'data/grenier.toml';

/** "[::]:3903" → "http://127.0.0.1:3903": a wildcard bind is reachable on loopback. */
export function adminUrl(bindAddr: string): string {
  const { host, port } = splitAddr(bindAddr);
  const h = host === '::' || host === '0.0.0.0' || host === '' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  return `http://${h}:${port}`;
}

function fromConfig(path: string, source: string): Target {
  try {
    const c = loadConfig(path);
    return { url: adminUrl(c.admin.api_bind_addr), token: c.admin.admin_token ?? process.env.GRENIER_ADMIN_TOKEN, source };
  } catch (e) {
    if (e instanceof GrenierError) throw new CliError(e.message);
    throw e;
  }
}

export function discover(opts: { config?: string }, env = process.env, cwd = process.cwd()): Target {
  if (opts.config) return fromConfig(opts.config, opts.config);
  if (env.GRENIER_CONFIG) return fromConfig(env.GRENIER_CONFIG, `GRENIER_CONFIG=${env.GRENIER_CONFIG}`);
  if (env.GRENIER_ADMIN_URL) return { url: env.GRENIER_ADMIN_URL.replace(/\/+$/, ''), token: env.GRENIER_ADMIN_TOKEN, source: 'GRENIER_ADMIN_TOKEN' };
  const dev = resolve(cwd, DEV_CONFIG);
  if (existsSync(dev)) return fromConfig(dev, DEV_CONFIG);
  throw new CliError(
    `no node to talk to: pass -c grenier.toml, or set GRENIER_CONFIG, or GRENIER_ADMIN_URL and GRENIER_ADMIN_TOKEN (there is no ./${DEV_CONFIG} here)`,
  );
}

const NET_ERRORS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ENOTFOUND: 'host not found',
  EHOSTUNREACH: 'host unreachable',
  ETIMEDOUT: 'timed out',
};

export class AdminClient {
  readonly target: Target;
  constructor(target: Target) {
    this.target = target;
  }

  get<T>(op: string, query: Record<string, string | undefined> = {}): Promise<T> {
    return this.call('GET', op, query) as Promise<T>;
  }

  post<T>(op: string, body: unknown = {}, query: Record<string, string | undefined> = {}): Promise<T> {
    return this.call('POST', op, query, body) as Promise<T>;
  }

  private async call(method: string, op: string, query: Record<string, string | undefined>, body?: unknown): Promise<unknown> {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== undefined) q.set(k, v);
    const url = `${this.target.url}/v2/${op}${q.size ? `?${q}` : ''}`;
    const headers: Record<string, string> = {};
    if (this.target.token) headers.authorization = `Bearer ${this.target.token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    let res: Response;
    try {
      res = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(30_000) });
    } catch (e) {
      const err = e as Error & { cause?: { code?: string; message?: string } };
      const why = err.name === 'TimeoutError' ? 'no answer within 30 s' : (NET_ERRORS[err.cause?.code ?? ''] ?? err.cause?.code ?? err.cause?.message ?? err.message);
      throw new CliError(`cannot reach the admin API at ${this.target.url} (${why}) — is grenier server running?`);
    }
    const text = await res.text();
    let json: { message?: unknown } | undefined;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    if (res.ok) return json;
    const message = typeof json?.message === 'string' ? json.message : `${res.status} ${res.statusText}`;
    if (res.status === 401 || res.status === 403) {
      const hint = this.target.token ? `check the admin token from ${this.target.source}` : 'no admin token was given (admin_token in the config, or GRENIER_ADMIN_TOKEN)';
      throw new CliError(`the admin API refused the request: ${message} — ${hint}`);
    }
    throw new CliError(message);
  }
}
