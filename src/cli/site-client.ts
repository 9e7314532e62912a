// The admin-API client for the site and quota commands: as an admin (token) or as a site owner
// signing each request with their S3 access key (see api/admin/site-auth.ts for the scheme).
// Blob uploads stream a file and report bytes as they go.
import { createReadStream } from 'node:fs';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Command } from 'commander';
import { createHmac } from 'node:crypto';
import { sha256Hex } from '../util/hash.ts';
import { CliError, discover, type Target } from './client.ts';

export type Auth = { kind: 'admin'; token: string } | { kind: 'owner'; keyId: string; secret: string };

export interface AuthOpts {
  key?: string;
  secret?: string;
}

/** Who to act as: --key/--secret first, then the admin token the config gives, then the
 *  AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY of the environment (a site owner's S3 key). */
export function resolveAuth(o: AuthOpts, target: Target, env = process.env): Auth {
  if (o.key !== undefined || o.secret !== undefined) {
    if (!o.key || !o.secret) throw new CliError('give both --key and --secret (or neither)', 2);
    return { kind: 'owner', keyId: o.key, secret: o.secret };
  }
  if (target.token) return { kind: 'admin', token: target.token };
  if (env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY) return { kind: 'owner', keyId: env.AWS_ACCESS_KEY_ID, secret: env.AWS_SECRET_ACCESS_KEY };
  throw new CliError(
    `no credentials: site owners pass --key <access key id> --secret <secret> (or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY); admins use the admin token (from ${target.source})`,
    2,
  );
}

/** The headers proving `auth` for one request (empty body: the hash of "") sent to node `node`
 *  (a signature is valid on that node only). */
export function authHeaders(auth: Auth, method: string, target: string, bodySha256: string, node: string, now = new Date()): Record<string, string> {
  if (auth.kind === 'admin') return { authorization: `Bearer ${auth.token}` };
  const date = now.toISOString();
  const sig = createHmac('sha256', auth.secret).update(`${method}\n${target}\n${date}\n${bodySha256}\n${node}`).digest('hex');
  return { 'x-grenier-key': auth.keyId, 'x-grenier-date': date, 'x-grenier-content-sha256': bodySha256, 'x-grenier-node': node, 'x-grenier-signature': sig };
}

export class ApiError extends CliError {
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

interface Reply {
  status: number;
  text: string;
  /** X-Grenier-Node: the id of the node that answered. */
  node?: string;
}

export class SiteClient {
  readonly target: Target;
  readonly auth: Auth;
  readonly timeoutMs: number;

  constructor(target: Target, auth: Auth, timeoutMs = 120_000) {
    this.target = target;
    this.auth = auth;
    this.timeoutMs = timeoutMs;
  }

  get<T>(op: string, query: Record<string, string | undefined> = {}): Promise<T> {
    return this.call('GET', op, query) as Promise<T>;
  }

  post<T>(op: string, body: unknown = {}, query: Record<string, string | undefined> = {}): Promise<T> {
    return this.call('POST', op, query, Buffer.from(JSON.stringify(body))) as Promise<T>;
  }

  private path(op: string, query: Record<string, string | undefined>): string {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== undefined) q.set(k, v);
    return `/v2/${op}${q.size ? `?${q}` : ''}`;
  }

  /** The id of the node at target.url, asked once (every admin answer carries it): an owner's
   *  signature is valid on that node only. */
  private node?: Promise<string>;

  private nodeId(): Promise<string> {
    if (this.auth.kind === 'admin') return Promise.resolve('');
    this.node ??= this.send('GET', '/health/live', {}).then((r) => {
      if (r.node && /^[0-9a-f]{64}$/.test(r.node)) return r.node;
      throw new CliError(`the admin API at ${this.target.url} did not give its node id (X-Grenier-Node): is the node older than this command?`);
    });
    // A failed ask is asked again next time.
    this.node.catch(() => (this.node = undefined));
    return this.node;
  }

  private async call(method: string, op: string, query: Record<string, string | undefined>, body?: Buffer): Promise<unknown> {
    const path = this.path(op, query);
    for (let attempt = 0; ; attempt++) {
      const headers = authHeaders(this.auth, method, path, sha256Hex(body ?? ''), await this.nodeId());
      if (body) headers['content-type'] = 'application/json';
      const r = await this.send(method, path, headers, body);
      // Behind a load balancer another node may answer: sign again for the one that did.
      if (r.status === 403 && attempt === 0 && r.node && this.auth.kind === 'owner' && /"WrongNode"/.test(r.text)) {
        this.node = Promise.resolve(r.node);
        continue;
      }
      return this.result(r);
    }
  }

  /** Streams a file as blob `sha256` of `site`; `onBytes` sees each chunk as it is sent. */
  async putBlob(site: string, sha256: string, file: string, size: number, onBytes: (n: number) => void): Promise<{ stored: boolean }> {
    const path = this.path('PutSiteBlob', { site, sha256 });
    const headers = { ...authHeaders(this.auth, 'PUT', path, sha256, await this.nodeId()), 'content-type': 'application/octet-stream', 'content-length': String(size) };
    const r = await this.send('PUT', path, headers, { file, onBytes });
    return this.result(r) as { stored: boolean };
  }

  private result(r: Reply): unknown {
    let json: { code?: unknown; message?: unknown } | undefined;
    try {
      json = r.text ? JSON.parse(r.text) : undefined;
    } catch {
      json = undefined;
    }
    if (r.status >= 200 && r.status < 300) return json;
    const code = typeof json?.code === 'string' ? json.code : String(r.status);
    let message = typeof json?.message === 'string' ? json.message : `HTTP ${r.status}`;
    if (code === 'Unauthorized' || (code === 'Forbidden' && /token|signature/.test(message)))
      message += this.auth.kind === 'admin' ? ` — check the admin token from ${this.target.source}` : ' — check the access key id and secret';
    throw new ApiError(r.status, code, message);
  }

  private send(method: string, path: string, headers: Record<string, string>, body?: Buffer | { file: string; onBytes: (n: number) => void }): Promise<Reply> {
    const url = new URL(this.target.url + path);
    const req = (url.protocol === 'https:' ? httpsRequest : httpRequest)(url, { method, headers, timeout: this.timeoutMs });
    return new Promise<Reply>((resolve, reject) => {
      const fail = (e: Error & { code?: string }) => {
        const why = e.code === 'ECONNREFUSED' ? 'connection refused' : e.code === 'ETIMEDOUT' ? 'timed out' : (e.code ?? e.message);
        reject(new CliError(`cannot reach the admin API at ${this.target.url} (${why}) — is grenier server running?`));
      };
      req.once('error', fail);
      req.once('timeout', () => req.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })));
      req.once('response', (res: IncomingMessage) => {
        const parts: Buffer[] = [];
        res.on('data', (c: Buffer) => parts.push(c));
        res.once('error', fail);
        const node = res.headers['x-grenier-node'];
        res.once('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(parts).toString('utf8'), ...(typeof node === 'string' ? { node } : {}) }));
      });
      if (body === undefined) req.end();
      else if (Buffer.isBuffer(body)) req.end(body);
      else {
        const src = createReadStream(body.file);
        src.on('data', (c) => body.onBytes((c as Buffer).length));
        src.once('error', (e) => req.destroy(e));
        src.pipe(req);
      }
    });
  }
}

/** The client for a site/quota command, from -c / the environment and --key/--secret. */
export function siteClientFor(cmd: Command): SiteClient {
  const o = cmd.optsWithGlobals() as AuthOpts & { config?: string };
  const target = discover({ config: o.config });
  return new SiteClient(target, resolveAuth(o, target));
}
