// Reverse proxy to a route's upstreams: healthy ones first (round robin), failover when one
// cannot be reached, X-Forwarded-*, on-the-fly compression, streaming with back-pressure both
// ways, and WebSocket (HTTP upgrade) passthrough by piping the two sockets. Nothing a client
// sends can desynchronise a pooled upstream connection: a body goes upstream only with framing
// the front sets itself, and every phase has a deadline or an idle timeout.
import { Agent as HttpAgent, request as httpRequest, type ClientRequest, type IncomingHttpHeaders, type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { FrontConfig } from '../config/config.ts';
import type { UpstreamHealth } from './health.ts';
import { chooseCoding, compressor, varyAcceptEncoding } from './compress.ts';
import { closeAfterAnswer } from '../util/lingering-close.ts';
import { limitRefused } from '../util/metrics.ts';
import { log } from '../util/log.ts';

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'proxy-authorization', 'proxy-authenticate']);
/** Never removed because Connection names them: the front sets framing and Host itself. */
const PROTECTED = new Set(['content-length', 'transfer-encoding', 'host']);
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);

export type Proto = 'http' | 'https';

/** The proxy's limits, in milliseconds and counts (from [front]). */
export interface ProxyLimits {
  connectTimeoutMs: number;
  responseTimeoutMs: number;
  idleTimeoutMs: number;
  socketsMax: number;
  perClientMax: number;
  upgradeTimeoutMs: number;
  websocketIdleMs: number;
}

export function proxyLimits(fc: FrontConfig): ProxyLimits {
  return {
    connectTimeoutMs: fc.upstream_connect_timeout_secs * 1000,
    responseTimeoutMs: fc.upstream_response_timeout_secs * 1000,
    idleTimeoutMs: fc.upstream_idle_timeout_secs * 1000,
    socketsMax: fc.upstream_sockets_max,
    perClientMax: fc.upstream_requests_per_client_max,
    upgradeTimeoutMs: fc.upgrade_timeout_secs * 1000,
    websocketIdleMs: fc.websocket_idle_timeout_secs * 1000,
  };
}

/** The client's address without the IPv4-mapped prefix. */
export function clientIp(req: IncomingMessage): string {
  return (req.socket.remoteAddress ?? '').replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/, '');
}

function connectionTokens(h: IncomingHttpHeaders): Set<string> {
  const c = h.connection;
  return new Set((Array.isArray(c) ? c.join(',') : (c ?? '')).split(',').map((s) => s.trim().toLowerCase()).filter(Boolean));
}

/** How the request body is delimited, as the front will forward it. */
export type Framing = { kind: 'none' } | { kind: 'length'; length: number } | { kind: 'chunked' };

/** The request's framing, or why it is refused (400). Node's parser already refuses CL with TE and
 *  malformed lengths; this also refuses what it lets through but an upstream could read another
 *  way: a coding other than exactly "chunked", repeated framing headers, a repeated Host. */
export function requestFraming(req: IncomingMessage): Framing | { error: string } {
  let cl = 0;
  let te = 0;
  let host = 0;
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const k = req.rawHeaders[i]!.toLowerCase();
    if (k === 'content-length') cl++;
    else if (k === 'transfer-encoding') te++;
    else if (k === 'host') host++;
  }
  if (host > 1) return { error: 'more than one Host header' };
  if (cl > 1 || te > 1) return { error: 'repeated Content-Length or Transfer-Encoding header' };
  if (cl && te) return { error: 'both Content-Length and Transfer-Encoding' };
  if (te) {
    if (String(req.headers['transfer-encoding']).trim().toLowerCase() !== 'chunked') return { error: 'unsupported Transfer-Encoding (only "chunked")' };
    return { kind: 'chunked' };
  }
  if (cl) {
    const v = String(req.headers['content-length']).trim();
    if (!/^\d{1,15}$/.test(v)) return { error: 'malformed Content-Length' };
    return { kind: 'length', length: Number(v) };
  }
  return { kind: 'none' };
}

/** Request headers for the upstream: hop-by-hop ones dropped, X-Forwarded-* set by us (the front
 *  is the edge: what clients claim there is not trusted), the original Host kept, the body's
 *  framing set from `framing` (never the client's own headers). */
export function upstreamHeaders(req: IncomingMessage, proto: Proto, framing: Framing, upgrade = false): OutgoingHttpHeaders {
  const drop = connectionTokens(req.headers);
  const out: OutgoingHttpHeaders = {};
  for (const [k, v] of Object.entries(req.headers)) {
    // Framing and Host are skipped here and set below, whatever Connection names; Expect was
    // already answered by this server.
    if (v === undefined || HOP_BY_HOP.has(k) || drop.has(k) || PROTECTED.has(k) || k === 'expect') continue;
    if (k.startsWith('x-forwarded-') || k === 'forwarded') continue;
    out[k] = v;
  }
  if (req.headers.host) out.host = req.headers.host;
  if (framing.kind === 'length') out['content-length'] = String(framing.length);
  else if (framing.kind === 'chunked') out['transfer-encoding'] = 'chunked';
  out['x-forwarded-for'] = clientIp(req);
  out['x-forwarded-proto'] = proto;
  if (req.headers.host) out['x-forwarded-host'] = req.headers.host;
  if (upgrade) {
    out.connection = 'Upgrade';
    out.upgrade = 'websocket';
  }
  return out;
}

/** Only WebSocket upgrades are tunnelled; any other Upgrade (h2c…) is served as a plain request. */
export function isWebSocketUpgrade(req: IncomingMessage): boolean {
  return connectionTokens(req.headers).has('upgrade') && String(req.headers.upgrade ?? '').trim().toLowerCase() === 'websocket';
}

function responseHeaders(h: IncomingHttpHeaders): OutgoingHttpHeaders {
  const drop = connectionTokens(h);
  const out: OutgoingHttpHeaders = {};
  for (const [k, v] of Object.entries(h)) if (v !== undefined && !HOP_BY_HOP.has(k) && !drop.has(k)) out[k] = v;
  return out;
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

function timeoutError(what: string, ms: number, code: string): Error {
  return Object.assign(new Error(`${what} after ${ms} ms`), { code });
}

export class Proxy {
  private readonly health: UpstreamHealth;
  private readonly limits: ProxyLimits;
  private readonly httpAgent: HttpAgent;
  private readonly httpsAgent: HttpsAgent;
  private rr = 0;
  private closed = false;
  /** Requests in flight per upstream, and per upstream + client address. */
  private readonly busy = new Map<string, number>();
  private readonly perClient = new Map<string, number>();
  /** Upstream requests in flight, and client sockets handed over by an upgrade (the HTTP
   *  server forgets those): closing must end them here. */
  private readonly requests = new Set<ClientRequest>();
  private readonly tunnels = new Set<Duplex>();

  constructor(health: UpstreamHealth, limits: ProxyLimits) {
    this.health = health;
    this.limits = limits;
    // maxSockets is per upstream (host:port); a new socket is made only when none is free, so
    // in use + pooled stays within it. The requests in flight are capped below that, so no
    // request ever waits in the agent's queue (where no deadline would see it).
    const opts = { keepAlive: true, maxSockets: limits.socketsMax, maxFreeSockets: limits.socketsMax, timeout: limits.idleTimeoutMs };
    this.httpAgent = new HttpAgent(opts);
    this.httpsAgent = new HttpsAgent(opts);
  }

  close(): void {
    this.closed = true;
    for (const s of this.tunnels) s.destroy();
    for (const r of this.requests) r.destroy();
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }

  /** Requests in flight to an upstream, for the health checks. */
  inFlight(url: string): number {
    return this.busy.get(url) ?? 0;
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

  /** Takes a slot for one request from ip to base; the release function, or why not. */
  private acquire(base: string, ip: string): (() => void) | 'upstream_sockets_max' | 'upstream_requests_per_client_max' {
    const b = this.busy.get(base) ?? 0;
    if (b >= this.limits.socketsMax) return 'upstream_sockets_max';
    const key = `${base} ${ip}`;
    const c = this.perClient.get(key) ?? 0;
    if (c >= this.limits.perClientMax) return 'upstream_requests_per_client_max';
    this.busy.set(base, b + 1);
    this.perClient.set(key, c + 1);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const nb = (this.busy.get(base) ?? 1) - 1;
      if (nb <= 0) this.busy.delete(base);
      else this.busy.set(base, nb);
      const nc = (this.perClient.get(key) ?? 1) - 1;
      if (nc <= 0) this.perClient.delete(key);
      else this.perClient.set(key, nc);
    };
  }

  private open(base: string, method: string, path: string, headers: OutgoingHttpHeaders, agent: boolean): ClientRequest {
    const u = new URL(base);
    const https = u.protocol === 'https:';
    const up = (https ? httpsRequest : httpRequest)({
      protocol: u.protocol,
      hostname: u.hostname.replace(/^\[|\]$/g, ''),
      port: u.port || (https ? 443 : 80),
      method,
      path,
      headers,
      agent: agent ? (https ? this.httpsAgent : this.httpAgent) : false,
    });
    this.requests.add(up);
    up.once('close', () => this.requests.delete(up));
    return up;
  }

  /** Sends the request to one upstream; resolves with its response or rejects with an AttemptError.
   *  Deadlines: connect, then the response headers, then the socket's idle timeout. */
  private attempt(base: string, req: IncomingMessage, path: string, headers: OutgoingHttpHeaders, framing: Framing, onRequest: (up: ClientRequest) => void): Promise<{ up: ClientRequest; upRes: IncomingMessage }> {
    const { connectTimeoutMs, responseTimeoutMs, idleTimeoutMs } = this.limits;
    return new Promise((resolve, reject) => {
      const up = this.open(base, req.method ?? 'GET', path, headers, true);
      onRequest(up);
      let connected = false;
      let timer = setTimeout(() => up.destroy(timeoutError('connect timeout', connectTimeoutMs, 'ETIMEDOUT')), connectTimeoutMs);
      const onConnected = () => {
        connected = true;
        clearTimeout(timer);
        timer = setTimeout(() => up.destroy(timeoutError('no response headers', responseTimeoutMs, 'ERESPONSETIMEOUT')), responseTimeoutMs);
        // The body is read only once a connection exists, so a refused connection leaves it
        // unread and the next upstream can still have it.
        if (framing.kind !== 'none') req.pipe(up);
        else up.end();
      };
      up.on('socket', (s: Socket) => {
        if (!(s as unknown as { connecting: boolean }).connecting) return onConnected();
        s.once(base.startsWith('https:') ? 'secureConnect' : 'connect', onConnected);
      });
      up.once('response', (upRes) => {
        clearTimeout(timer);
        // From here the body streams: no byte either way for idleTimeoutMs ends it (before, the
        // response deadline is the bound; a client stalling its upload is cut by its listener).
        up.setTimeout(idleTimeoutMs, () => up.destroy(timeoutError('upstream idle', idleTimeoutMs, 'EIDLE')));
        resolve({ up, upRes });
      });
      up.once('error', (e: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        if (framing.kind !== 'none' && connected) req.unpipe(up);
        reject(new AttemptError(e, !connected));
      });
    });
  }

  /** Proxies one HTTP request (path: the normalised origin-form target) to the first upstream that answers. */
  async handle(req: IncomingMessage, res: ServerResponse, upstreams: string[], proto: Proto, path: string): Promise<void> {
    const framing = requestFraming(req);
    if ('error' in framing) {
      limitRefused.inc({ limit: 'request_framing' });
      return refuse(req, res, 400, 'Bad request', `The request is ambiguous: ${framing.error}.`);
    }
    const withBody = framing.kind !== 'none';
    const retryable = IDEMPOTENT.has(req.method ?? '') && !withBody;
    const headers = upstreamHeaders(req, proto, framing);
    const ip = clientIp(req);
    // The client went away (before or after the headers): stop the upstream request too.
    let current: ClientRequest | undefined;
    res.once('close', () => {
      if (!res.writableFinished) current?.destroy();
    });
    let last = 'no upstream configured';
    let refused: string | undefined;
    let timedOut = false;
    for (const base of this.order(upstreams)) {
      if (this.closed || res.destroyed) return void res.destroy();
      const release = this.acquire(base, ip);
      if (typeof release === 'string') {
        refused = release;
        continue;
      }
      let r: { up: ClientRequest; upRes: IncomingMessage };
      try {
        r = await this.attempt(base, req, path, headers, framing, (up) => {
          current = up;
          up.once('close', release);
        });
      } catch (e) {
        release();
        const err = e as AttemptError;
        last = `${base}: ${err.code ?? err.message}`;
        if (err.beforeConnect) this.health.markDown(base, `request failed: ${err.code ?? err.message}`);
        if (res.destroyed || this.closed) return void res.destroy();
        if (err.code === 'ERESPONSETIMEOUT') {
          timedOut = true;
          break;
        }
        if (err.beforeConnect || retryable) continue;
        break;
      }
      return this.respond(req, res, r.up, r.upRes);
    }
    if (!req.complete) req.resume();
    if (res.headersSent) return void res.destroy();
    if (timedOut) {
      limitRefused.inc({ limit: 'upstream_response_timeout_secs' });
      log.debug({ host: req.headers.host, last }, 'front: upstream response timeout');
      return errorPage(res, req, 504, 'Gateway timeout', 'The service behind this address did not answer in time. Please try again later.');
    }
    if (refused && last === 'no upstream configured') {
      limitRefused.inc({ limit: refused });
      res.setHeader('retry-after', '5');
      return errorPage(res, req, 503, 'Service busy', 'The service behind this address is busy. Please try again later.');
    }
    log.warn({ host: req.headers.host, last }, 'front: no upstream answered');
    errorPage(res, req, 502, 'Bad gateway', 'The service behind this address did not answer. Please try again later.');
  }

  private async respond(req: IncomingMessage, res: ServerResponse, up: ClientRequest, upRes: IncomingMessage): Promise<void> {
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

  /** WebSocket upgrades (path: the normalised target): connect to an upstream, relay its 101
   *  (within upgrade_timeout_secs), then pipe bytes until either side closes or the tunnel is
   *  idle for websocket_idle_timeout_secs. */
  async upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, upstreams: string[], proto: Proto, path: string): Promise<void> {
    socket.on('error', () => socket.destroy());
    this.tunnels.add(socket);
    socket.once('close', () => this.tunnels.delete(socket));
    if (this.closed) return void socket.destroy();
    const framing = requestFraming(req);
    if ('error' in framing || framing.kind !== 'none') return rawResponse(socket, 400, 'Bad Request', 'an upgrade request has no body');
    for (const base of this.order(upstreams)) {
      if (socket.destroyed || this.closed) return void socket.destroy();
      const next = await this.upgradeOne(base, req, socket, head, proto, path);
      if (!next) return;
    }
    rawResponse(socket, 502, 'Bad Gateway', 'no upstream of this route answered');
  }

  /** One upgrade attempt; true when the next upstream should be tried. */
  private upgradeOne(base: string, req: IncomingMessage, socket: Duplex, head: Buffer, proto: Proto, path: string): Promise<boolean> {
    const { upgradeTimeoutMs, websocketIdleMs } = this.limits;
    return new Promise<boolean>((resolve) => {
      const up = this.open(base, req.method ?? 'GET', path, upstreamHeaders(req, proto, { kind: 'none' }, true), false);
      let settled = false;
      const settle = (next: boolean) => {
        if (settled) return false;
        settled = true;
        clearTimeout(timer);
        socket.off('close', onClientGone);
        socket.off('end', onClientGone);
        resolve(next);
        return true;
      };
      // The client left before the upstream answered: no half-open socket stays on either side
      // (upgraded sockets allow half-open, so its FIN is an 'end', not a 'close').
      const onClientGone = () => {
        if (!settle(false)) return;
        up.destroy();
        socket.destroy();
      };
      socket.once('close', onClientGone);
      socket.once('end', onClientGone);
      const timer = setTimeout(() => {
        if (!settle(false)) return;
        up.destroy();
        limitRefused.inc({ limit: 'upgrade_timeout_secs' });
        rawResponse(socket, 504, 'Gateway Timeout', `the service did not accept the upgrade within ${upgradeTimeoutMs} ms`);
      }, upgradeTimeoutMs);
      up.once('upgrade', (upRes, upSock: Socket, upHead) => {
        if (!settle(false)) return void upSock.destroy();
        const lines = [`HTTP/1.1 ${upRes.statusCode ?? 101} ${upRes.statusMessage ?? 'Switching Protocols'}`];
        for (let i = 0; i < upRes.rawHeaders.length; i += 2) lines.push(`${upRes.rawHeaders[i]}: ${upRes.rawHeaders[i + 1]}`);
        socket.write(lines.join('\r\n') + '\r\n\r\n');
        if (upHead.length) socket.write(upHead);
        if (head.length) upSock.write(head);
        upSock.setNoDelay(true);
        this.tunnels.add(upSock);
        const end = () => {
          socket.destroy();
          upSock.destroy();
        };
        upSock.on('error', end);
        socket.on('error', end);
        upSock.once('close', () => (this.tunnels.delete(upSock), socket.destroy()));
        socket.once('close', () => upSock.destroy());
        // A socket's timeout counts reads and writes, so each side sees traffic either way.
        (socket as Socket).setTimeout?.(websocketIdleMs, end);
        upSock.setTimeout(websocketIdleMs, end);
        // Both servers allow half-open sockets; WebSocket peers do not use them, so once
        // either side has finished, the tunnel gets a moment to drain and then goes.
        const linger = () => setTimeout(end, 5000).unref();
        socket.once('end', linger);
        upSock.once('end', linger);
        if (this.closed) return end();
        upSock.pipe(socket);
        socket.pipe(upSock);
      });
      up.once('response', (upRes) => {
        // The upstream declined the upgrade: relay its answer and close.
        if (!settle(false)) return void up.destroy();
        const lines = [`HTTP/1.1 ${upRes.statusCode} ${upRes.statusMessage ?? ''}`];
        for (const [k, v] of Object.entries(responseHeaders(upRes.headers))) for (const x of Array.isArray(v) ? v : [v]) lines.push(`${k}: ${x}`);
        lines.push('connection: close');
        socket.write(lines.join('\r\n') + '\r\n\r\n');
        socket.once('close', () => up.destroy());
        (socket as Socket).setTimeout?.(websocketIdleMs, () => socket.destroy());
        upRes.pipe(socket);
      });
      up.once('error', (e: NodeJS.ErrnoException) => {
        if (!settle(true)) return;
        this.health.markDown(base, `upgrade failed: ${e.code ?? e.message}`);
      });
      up.end();
    });
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

/** A 4xx answer on a connection whose request body is not read: the connection is closed after
 *  it, so unread bytes can never be taken for a next request. */
export function refuse(req: IncomingMessage, res: ServerResponse, status: number, title: string, message: string): void {
  closeAfterAnswer(req, res);
  errorPage(res, req, status, title, message);
}

/** A complete HTTP/1.1 response written on a socket that the HTTP server let go (upgrades). */
export function rawResponse(socket: Duplex, status: number, reason: string, text: string): void {
  const body = Buffer.from(text + '\n');
  socket.end(Buffer.concat([Buffer.from(`HTTP/1.1 ${status} ${reason}\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n`), body]));
  // end() waits for the peer's FIN on half-open sockets; do not wait for a client that never sends it.
  setTimeout(() => socket.destroy(), 2000).unref();
}

export function errorPage(res: ServerResponse, req: IncomingMessage, status: number, title: string, message: string): void {
  const body = Buffer.from(`<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>${status} ${title}</title></head><body><h1>${status} ${title}</h1><p>${message}</p></body></html>\n`);
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'content-length': body.length, 'cache-control': 'no-store' });
  res.end(req.method === 'HEAD' ? undefined : body);
}
