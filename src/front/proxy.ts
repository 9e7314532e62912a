// Reverse proxy to a route's upstreams: healthy ones first (round robin), failover when one
// cannot be reached, X-Forwarded-*, on-the-fly compression, streaming with back-pressure both
// ways, and WebSocket (HTTP upgrade) passthrough by piping the two sockets.
import { Agent as HttpAgent, request as httpRequest, type ClientRequest, type IncomingHttpHeaders, type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { Duplex } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { UpstreamHealth } from './health.ts';
import { chooseCoding, compressor, varyAcceptEncoding } from './compress.ts';
import { log } from '../util/log.ts';

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'proxy-authorization', 'proxy-authenticate']);
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);
const CONNECT_TIMEOUT_MS = 5000;

export type Proto = 'http' | 'https';

/** The client's address without the IPv4-mapped prefix. */
export function clientIp(req: IncomingMessage): string {
  return (req.socket.remoteAddress ?? '').replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/, '');
}

function connectionTokens(h: IncomingHttpHeaders): Set<string> {
  const c = h.connection;
  return new Set((Array.isArray(c) ? c.join(',') : (c ?? '')).split(',').map((s) => s.trim().toLowerCase()).filter(Boolean));
}

/** Request headers for the upstream: hop-by-hop ones dropped, X-Forwarded-* set by us (the front
 *  is the edge: what clients claim there is not trusted), the original Host kept. */
export function upstreamHeaders(req: IncomingMessage, proto: Proto, upgrade = false): OutgoingHttpHeaders {
  const drop = connectionTokens(req.headers);
  const out: OutgoingHttpHeaders = {};
  for (const [k, v] of Object.entries(req.headers)) {
    if (v === undefined || HOP_BY_HOP.has(k) || drop.has(k) || k.startsWith('x-forwarded-') || k === 'forwarded') continue;
    out[k] = v;
  }
  out['x-forwarded-for'] = clientIp(req);
  out['x-forwarded-proto'] = proto;
  if (req.headers.host) out['x-forwarded-host'] = req.headers.host;
  if (upgrade) {
    out.connection = 'Upgrade';
    out.upgrade = req.headers.upgrade ?? 'websocket';
  }
  return out;
}

function responseHeaders(h: IncomingHttpHeaders): OutgoingHttpHeaders {
  const drop = connectionTokens(h);
  const out: OutgoingHttpHeaders = {};
  for (const [k, v] of Object.entries(h)) if (v !== undefined && !HOP_BY_HOP.has(k) && !drop.has(k)) out[k] = v;
  return out;
}

function hasBody(req: IncomingMessage): boolean {
  const len = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (len !== undefined && len !== '0');
}

class AttemptError extends Error {
  /** The connection was never established: nothing of the request left this node. */
  readonly beforeConnect: boolean;
  readonly code?: string;
  constructor(e: NodeJS.ErrnoException, beforeConnect: boolean) {
    super(e.message);
    this.beforeConnect = beforeConnect;
    this.code = e.code;
  }
}

export class Proxy {
  private readonly health: UpstreamHealth;
  private readonly httpAgent = new HttpAgent({ keepAlive: true, maxSockets: 512, timeout: 120_000 });
  private readonly httpsAgent = new HttpsAgent({ keepAlive: true, maxSockets: 512, timeout: 120_000 });
  private rr = 0;
  /** Upgraded connections: the HTTP server forgets them, so closing must end them here. */
  private readonly tunnels = new Set<Duplex>();

  constructor(health: UpstreamHealth) {
    this.health = health;
  }

  close(): void {
    for (const s of this.tunnels) s.destroy();
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }

  /** Upstreams to try in order: the healthy ones rotated (round robin), then the others as a
   *  last resort (a health check may be stale). */
  order(upstreams: string[]): string[] {
    const up = upstreams.filter((u) => this.health.isUp(u));
    const down = upstreams.filter((u) => !this.health.isUp(u));
    const n = this.rr++;
    const rot = up.length ? n % up.length : 0;
    return [...up.slice(rot), ...up.slice(0, rot), ...down];
  }

  private open(base: string, req: IncomingMessage, headers: OutgoingHttpHeaders, agent: boolean): ClientRequest {
    const u = new URL(base);
    const https = u.protocol === 'https:';
    return (https ? httpsRequest : httpRequest)({
      protocol: u.protocol,
      hostname: u.hostname.replace(/^\[|\]$/g, ''),
      port: u.port || (https ? 443 : 80),
      method: req.method,
      path: req.url,
      headers,
      agent: agent ? (https ? this.httpsAgent : this.httpAgent) : false,
    });
  }

  /** Sends the request to one upstream; resolves with its response or rejects with an AttemptError. */
  private attempt(base: string, req: IncomingMessage, proto: Proto, withBody: boolean): Promise<{ up: ClientRequest; upRes: IncomingMessage }> {
    return new Promise((resolve, reject) => {
      const up = this.open(base, req, upstreamHeaders(req, proto), true);
      let connected = false;
      let timer: NodeJS.Timeout | undefined;
      const onConnected = () => {
        connected = true;
        clearTimeout(timer);
        // The body is read only once a connection exists, so a refused connection leaves it
        // unread and the next upstream can still have it.
        if (withBody) req.pipe(up);
        else up.end();
      };
      up.on('socket', (s) => {
        if (!(s as unknown as { connecting: boolean }).connecting) return onConnected();
        timer = setTimeout(() => up.destroy(Object.assign(new Error(`connect timeout after ${CONNECT_TIMEOUT_MS} ms`), { code: 'ETIMEDOUT' })), CONNECT_TIMEOUT_MS);
        s.once(base.startsWith('https:') ? 'secureConnect' : 'connect', onConnected);
      });
      up.once('response', (upRes) => resolve({ up, upRes }));
      up.once('error', (e: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        if (withBody && connected) req.unpipe(up);
        reject(new AttemptError(e, !connected));
      });
    });
  }

  /** Proxies one HTTP request to the first upstream that answers. */
  async handle(req: IncomingMessage, res: ServerResponse, upstreams: string[], proto: Proto): Promise<void> {
    const withBody = hasBody(req);
    const retryable = IDEMPOTENT.has(req.method ?? '') && !withBody;
    let last = 'no upstream configured';
    for (const base of this.order(upstreams)) {
      let r: { up: ClientRequest; upRes: IncomingMessage };
      try {
        r = await this.attempt(base, req, proto, withBody);
      } catch (e) {
        const err = e as AttemptError;
        last = `${base}: ${err.code ?? err.message}`;
        if (err.beforeConnect) this.health.markDown(base, `request failed: ${err.code ?? err.message}`);
        if (res.destroyed) return;
        if (err.beforeConnect || retryable) continue;
        break;
      }
      return this.respond(req, res, r.up, r.upRes);
    }
    log.warn({ host: req.headers.host, url: req.url, last }, 'front: no upstream answered');
    if (!req.complete) req.resume();
    if (!res.headersSent) errorPage(res, req, 502, 'Bad gateway', 'The service behind this address did not answer. Please try again later.');
    else res.destroy();
  }

  private async respond(req: IncomingMessage, res: ServerResponse, up: ClientRequest, upRes: IncomingMessage): Promise<void> {
    // The client went away: stop the upstream too.
    res.once('close', () => {
      if (!res.writableFinished) up.destroy();
    });
    const h = responseHeaders(upRes.headers);
    const status = upRes.statusCode ?? 502;
    const coding = chooseCoding(req.method, req.headers, status, h);
    if (coding) {
      const len = h['content-length'];
      delete h['content-length'];
      h['content-encoding'] = coding;
      h.vary = varyAcceptEncoding(h.vary);
      if (typeof h.etag === 'string' && !h.etag.startsWith('W/')) h.etag = `W/${h.etag}`;
      res.writeHead(status, upRes.statusMessage, h);
      await pipe([upRes, compressor(coding, len === undefined ? undefined : Number(len)), res], up, res);
    } else {
      res.writeHead(status, upRes.statusMessage, h);
      await pipe([upRes, res], up, res);
    }
  }

  /** WebSocket and other HTTP upgrades: connect to an upstream, relay its 101, then pipe bytes. */
  async upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, upstreams: string[], proto: Proto): Promise<void> {
    socket.on('error', () => socket.destroy());
    for (const base of this.order(upstreams)) {
      if (socket.destroyed) return;
      const ok = await new Promise<boolean>((resolve) => {
        const up = this.open(base, req, upstreamHeaders(req, proto, true), false);
        up.once('upgrade', (upRes, upSock, upHead) => {
          resolve(true);
          const lines = [`HTTP/1.1 ${upRes.statusCode ?? 101} ${upRes.statusMessage ?? 'Switching Protocols'}`];
          for (let i = 0; i < upRes.rawHeaders.length; i += 2) lines.push(`${upRes.rawHeaders[i]}: ${upRes.rawHeaders[i + 1]}`);
          socket.write(lines.join('\r\n') + '\r\n\r\n');
          if (upHead.length) socket.write(upHead);
          if (head.length) upSock.write(head);
          upSock.setNoDelay(true);
          upSock.on('error', () => socket.destroy());
          socket.on('error', () => upSock.destroy());
          upSock.on('close', () => socket.destroy());
          socket.on('close', () => upSock.destroy());
          // Both servers allow half-open sockets; WebSocket peers do not use them, so once
          // either side has finished, the tunnel gets a moment to drain and then goes.
          const linger = () => setTimeout(() => (socket.destroy(), upSock.destroy()), 5000).unref();
          socket.once('end', linger);
          upSock.once('end', linger);
          this.tunnels.add(socket);
          this.tunnels.add(upSock);
          socket.once('close', () => this.tunnels.delete(socket));
          upSock.once('close', () => this.tunnels.delete(upSock));
          upSock.pipe(socket);
          socket.pipe(upSock);
        });
        up.once('response', (upRes) => {
          // The upstream declined the upgrade: relay its answer and close.
          resolve(true);
          const lines = [`HTTP/1.1 ${upRes.statusCode} ${upRes.statusMessage ?? ''}`];
          for (const [k, v] of Object.entries(responseHeaders(upRes.headers))) for (const x of Array.isArray(v) ? v : [v]) lines.push(`${k}: ${x}`);
          lines.push('connection: close');
          socket.write(lines.join('\r\n') + '\r\n\r\n');
          upRes.pipe(socket);
        });
        up.once('error', (e: NodeJS.ErrnoException) => {
          this.health.markDown(base, `upgrade failed: ${e.code ?? e.message}`);
          resolve(false);
        });
        up.end();
      });
      if (ok) return;
    }
    rawResponse(socket, 502, 'Bad Gateway', 'no upstream of this route answered');
  }
}

async function pipe(streams: [IncomingMessage, ...NodeJS.ReadWriteStream[], ServerResponse] | [IncomingMessage, ServerResponse], up: ClientRequest, res: ServerResponse): Promise<void> {
  try {
    await (pipeline as (...s: unknown[]) => Promise<void>)(...streams);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'ERR_STREAM_PREMATURE_CLOSE' && code !== 'ECONNRESET') log.debug({ err: (e as Error).message }, 'front: proxied body interrupted');
    up.destroy();
    res.destroy();
  }
}

/** A complete HTTP/1.1 response written on a socket that the HTTP server let go (upgrades). */
export function rawResponse(socket: Duplex, status: number, reason: string, text: string): void {
  const body = Buffer.from(text + '\n');
  socket.end(Buffer.concat([Buffer.from(`HTTP/1.1 ${status} ${reason}\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n`), body]));
}

export function errorPage(res: ServerResponse, req: IncomingMessage, status: number, title: string, message: string): void {
  const body = Buffer.from(`<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>${status} ${title}</title></head><body><h1>${status} ${title}</h1><p>${message}</p></body></html>\n`);
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'content-length': body.length, 'cache-control': 'no-store' });
  res.end(req.method === 'HEAD' ? undefined : body);
}
