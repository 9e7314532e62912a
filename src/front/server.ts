// The front's listeners: HTTP answers ACME challenges from the replicated token table and
// redirects to HTTPS hosts that have a certificate; HTTPS picks the certificate by SNI. Both
// dispatch by route (host + path prefix) to the in-process web or S3 handler or the proxy, and a
// host without a route is served as a website.
import { createServer as createHttpServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Config, FrontConfig } from '../config/config.ts';
import { splitAddr } from '../config/config.ts';
import type { Store } from '../model/store.ts';
import { isTokenSyntax } from '../model/acme-token.ts';
import { normalizeHost } from '../web/sites.ts';
import { AcmeManager, type CertSummary } from './acme.ts';
import { certificateSummary } from '../model/certificate.ts';
import { CertCache } from './certs.ts';
import { certKeyFromSecret } from './keys.ts';
import { RouteIndex } from './routes.ts';
import { UpstreamHealth, type UpstreamState } from './health.ts';
import { Proxy, clientIp, errorPage, isWebSocketUpgrade, proxyLimits, rawResponse, refuse, type Proto } from './proxy.ts';
import { parseTarget } from './target.ts';
import type { MatchedRoute } from './routes.ts';
import { guardListener } from '../util/listener.ts';
import type { TLSSocket } from 'node:tls';
import type { WorkerStatus } from '../util/worker.ts';
import { readFileSync } from 'node:fs';
import { log } from '../util/log.ts';

const CHALLENGE_PREFIX = '/.well-known/acme-challenge/';

export interface FrontDeps {
  store: Store;
  config: Config;
  nodeId: string;
  /** The website handler (in-process: no extra hop for sites). */
  web: RequestListener;
  /** The S3 API handler. */
  s3: RequestListener;
}

export interface FrontStatus {
  http: string | null;
  https: string | null;
  acme: { directory: string; worker: WorkerStatus };
  upstreams: UpstreamState[];
  certificates: CertSummary[];
}

export class Front {
  readonly routes: RouteIndex;
  readonly certs: CertCache;
  readonly health: UpstreamHealth;
  readonly proxy: Proxy;
  readonly acme: AcmeManager;
  readonly httpServer: Server;
  readonly httpsServer: HttpsServer;
  private readonly deps: FrontDeps;
  private readonly fc: FrontConfig;

  constructor(deps: FrontDeps) {
    const fc = deps.config.front;
    if (!fc) throw new Error('Front: the config has no [front] section');
    this.deps = deps;
    this.fc = fc;
    const { store } = deps;
    const key = certKeyFromSecret(deps.config.rpc_secret);
    this.routes = new RouteIndex(store);
    this.certs = new CertCache(store, key);
    this.health = new UpstreamHealth({ intervalMs: fc.health_check_interval_secs * 1000 });
    this.health.setTargets(this.routes.upstreams());
    this.routes.onChange(() => this.health.setTargets(this.routes.upstreams()));
    this.proxy = new Proxy(this.health, proxyLimits(fc));
    this.health.setLoad((u) => (this.proxy.inFlight(u) >= fc.upstream_sockets_max ? `saturated: ${fc.upstream_sockets_max} requests in flight (upstream_sockets_max)` : undefined));
    this.acme = new AcmeManager(store, {
      directoryUrl: fc.acme_directory,
      email: fc.acme_email,
      caPem: fc.acme_ca_cert ? readFileSync(fc.acme_ca_cert, 'utf8') : undefined,
      nodeId: deps.nodeId,
      metadataDir: deps.config.metadata_dir,
      sealKey: key,
      webRootDomain: deps.config.s3_web.root_domain,
      autoCertificates: fc.auto_certificates,
      renewBeforeMs: fc.renew_before_days * 86400_000,
      checkIntervalMs: fc.cert_check_interval_secs * 1000,
      ordersPerHourMax: fc.cert_orders_per_hour_max,
    });
    // Only WebSocket upgrades reach 'upgrade'; h2c and the like are answered as plain requests.
    this.httpServer = createHttpServer({ shouldUpgradeCallback: isWebSocketUpgrade }, (req, res) => this.onHttp(req, res));
    this.httpsServer = createHttpsServer(
      { SNICallback: this.certs.sni, minVersion: 'TLSv1.2', handshakeTimeout: fc.tls_handshake_timeout_secs * 1000, shouldUpgradeCallback: isWebSocketUpgrade },
      (req, res) => this.dispatch(req, res, 'https'),
    );
    guardListener(this.httpServer, deps.config.limits, 'front-http');
    guardListener(this.httpsServer, deps.config.limits, 'front-https');
    this.httpServer.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => this.onUpgrade(req, socket, head, 'http'));
    this.httpsServer.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => this.onUpgrade(req, socket, head, 'https'));
    // With a listener here Node leaves the socket open: a handshake that failed or timed out
    // (tls_handshake_timeout_secs, a slowloris ClientHello) must end it.
    this.httpsServer.on('tlsClientError', (e, socket: TLSSocket) => {
      socket.destroy();
      log.debug({ err: e.message }, 'front: TLS handshake failed');
    });
  }

  /** Binds both listeners (from [front]) and starts the health checks and the renewal worker. */
  async start(): Promise<void> {
    await listen(this.httpServer, this.fc.http_bind_addr, 'front HTTP');
    try {
      await listen(this.httpsServer, this.fc.https_bind_addr, 'front HTTPS');
    } catch (e) {
      await close(this.httpServer);
      throw e;
    }
    this.health.start();
    this.acme.start();
  }

  async stop(): Promise<void> {
    // Tunnels first: the servers count upgraded sockets and would wait for them.
    this.proxy.close();
    await Promise.all([this.health.stop(), this.acme.stop(), close(this.httpServer), close(this.httpsServer)]);
  }

  get httpPort(): number {
    return (this.httpServer.address() as AddressInfo | null)?.port ?? splitAddr(this.fc.http_bind_addr).port;
  }

  get httpsPort(): number {
    return (this.httpsServer.address() as AddressInfo | null)?.port ?? splitAddr(this.fc.https_bind_addr).port;
  }

  status(): FrontStatus {
    const now = Date.now();
    return {
      http: this.httpServer.listening ? this.fc.http_bind_addr : null,
      https: this.httpsServer.listening ? this.fc.https_bind_addr : null,
      acme: { directory: this.fc.acme_directory, worker: this.acme.status() },
      upstreams: this.health.status(),
      certificates: [...this.deps.store.certs.local.range('certificate')].map((e) => certificateSummary(e, now)),
    };
  }

  /** For the admin API: order now on this node. */
  issue(host: string): Promise<CertSummary> {
    return this.acme.issue(host);
  }

  private onHttp(req: IncomingMessage, res: ServerResponse): void {
    const url = req.url ?? '/';
    if (url.startsWith(CHALLENGE_PREFIX)) return this.challenge(req, res, url.slice(CHALLENGE_PREFIX.length));
    const location = this.httpsLocation(req);
    if (location) {
      // 308 keeps the method and body (a POST stays a POST).
      if (!req.complete) req.resume();
      res.writeHead(308, { location, 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
      res.end(req.method === 'HEAD' ? undefined : `Moved to ${location}\n`);
      return;
    }
    this.dispatch(req, res, 'http');
  }

  /** Where a plain-HTTP request to a host that has a certificate goes instead; undefined when it
   *  stays on HTTP. */
  private httpsLocation(req: IncomingMessage): string | undefined {
    const host = normalizeHost(req.headers.host);
    if (!host || !this.httpsServer.listening || !this.certs.has(host)) return undefined;
    const port = this.httpsPort;
    const t = parseTarget(req.url ?? '/', host);
    return `https://${host}${port === 443 ? '' : `:${port}`}${'error' in t ? '/' : t.raw + t.query}`;
  }

  /** The route of a request and the target to forward, or a 400. Upstreams get the normal form
   *  of the path (what was routed); the in-process handlers get the client's path (S3 keys may
   *  contain "..", "//" or "%2F"), but only when routing it raw would pick the same route. */
  private resolve(req: IncomingMessage, host: string): { route?: MatchedRoute; forward: string } | { error: string } {
    const t = parseTarget(req.url ?? '/', host);
    if ('error' in t) return t;
    // The in-process handlers see the origin form too.
    req.url = t.raw + t.query;
    if ('error' in t.norm) {
      const route = this.routes.match(host, t.raw);
      if (route?.target.kind === 'upstream' || !this.routes.onlyRoot(host)) return { error: t.norm.error };
      return { route, forward: req.url };
    }
    const route = this.routes.match(host, t.norm.path);
    if (route?.target.kind === 'upstream') return { route, forward: t.norm.path + t.query };
    if (this.routes.match(host, t.raw) !== route) return { error: 'the path reads differently once normalised' };
    return { route, forward: req.url };
  }

  /** ACME HTTP-01: answer with the key authorization stored by whichever node ordered. */
  private challenge(req: IncomingMessage, res: ServerResponse, token: string): void {
    const t = isTokenSyntax(token) ? this.deps.store.acmeTokens.local.get('acme_token', token) : undefined;
    if (!t?.keyAuth.v || t.expires < Date.now() || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
      res.end('no such challenge\n');
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(t.keyAuth.v), 'cache-control': 'no-store' });
    res.end(req.method === 'HEAD' ? undefined : t.keyAuth.v);
  }

  /** In-process handlers see where the request really came from (the web handler builds https
   *  redirects from X-Forwarded-Proto); whatever the client sent in these headers is replaced. */
  private markForwarded(req: IncomingMessage, proto: Proto): void {
    for (const k of Object.keys(req.headers)) if (k.startsWith('x-forwarded-') || k === 'forwarded') delete req.headers[k];
    req.headers['x-forwarded-proto'] = proto;
    req.headers['x-forwarded-for'] = clientIp(req);
    if (req.headers.host) req.headers['x-forwarded-host'] = req.headers.host;
  }

  private dispatch(req: IncomingMessage, res: ServerResponse, proto: Proto): void {
    const host = normalizeHost(req.headers.host);
    if (!host) return errorPage(res, req, 400, 'Bad request', 'The request has no valid Host header.');
    const r = this.resolve(req, host);
    if ('error' in r) return refuse(req, res, 400, 'Bad request', `Invalid request target: ${r.error}.`);
    const { route } = r;
    if (route?.target.kind === 'upstream') {
      this.proxy.handle(req, res, route.target.upstreams, proto, r.forward).catch((e) => {
        log.error({ err: e, host }, 'front: proxy failed');
        if (!res.headersSent) errorPage(res, req, 502, 'Bad gateway', 'The request could not be forwarded.');
        else res.destroy();
      });
      return;
    }
    this.markForwarded(req, proto);
    if (route?.target.kind === 's3') return this.deps.s3(req, res);
    // A website route may name another site than its host (www.example.org → example.org).
    if (route?.target.kind === 'website' && route.target.site) req.headers.host = route.target.site;
    this.deps.web(req, res);
  }

  private onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, proto: Proto): void {
    socket.on('error', () => socket.destroy());
    const host = normalizeHost(req.headers.host);
    if (!host) return rawResponse(socket, 400, 'Bad Request', 'the request has no valid Host header');
    // A host with a certificate is only served over HTTPS: never tunnel it in clear.
    const location = proto === 'http' ? this.httpsLocation(req) : undefined;
    if (location) {
      const body = `Moved to ${location}\n`;
      socket.end(`HTTP/1.1 308 Permanent Redirect\r\nlocation: ${location}\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: ${body.length}\r\ncache-control: no-store\r\nconnection: close\r\n\r\n${body}`);
      setTimeout(() => socket.destroy(), 2000).unref();
      return;
    }
    const r = this.resolve(req, host);
    if ('error' in r) return rawResponse(socket, 400, 'Bad Request', `invalid request target: ${r.error}`);
    const { route } = r;
    if (route?.target.kind !== 'upstream') {
      rawResponse(socket, 404, 'Not Found', 'no service accepting upgrades here');
      return;
    }
    this.proxy.upgrade(req, socket, head, route.target.upstreams, proto, r.forward).catch((e) => {
      log.warn({ err: e, host }, 'front: upgrade failed');
      socket.destroy();
    });
  }
}

function listen(server: Server | HttpsServer, addr: string, what: string): Promise<void> {
  const { host, port } = splitAddr(addr);
  return new Promise((resolve, reject) => {
    const onError = (e: NodeJS.ErrnoException) => reject(new Error(`${what}: cannot listen on ${addr}: ${e.code ?? e}`));
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

function close(server: Server | HttpsServer): Promise<void> {
  if (!server.listening) return Promise.resolve();
  return new Promise((r) => {
    server.close(() => r());
    server.closeAllConnections();
  });
}
