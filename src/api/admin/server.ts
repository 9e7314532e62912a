// The admin API listener: routes /v2/<Operation> to its handler behind the bearer admin token,
// plus the unauthenticated /health (readiness; /health/live: liveness) and /check (Garage's
// on-demand TLS hook) and the Prometheus /metrics; every failure is a JSON error.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import { sha256 } from '../../util/hash.ts';
import { apiDuration, apiRequests, limitRefused, registry } from '../../util/metrics.ts';
import { socketIp } from '../../util/listener.ts';
import { LoginLimiter, isCredentialFailure } from './console/login-limit.ts';
import { log } from '../../util/log.ts';
import { siteIndexReady } from '../../model/site-index.ts';
import { ModelError } from '../../model/errors.ts';
import { certificateEligibility } from '../../model/certificate.ts';
import { AdminError, BodyBudget, badRequest, checkQuery, readJson, sendJson, sendText } from './http.ts';
import { fromModelError, type AdminDeps, type Handler } from './context.ts';
import { CLUSTER_OPS, readJsonOrArray } from './cluster.ts';
import { LAYOUT_OPS } from './layout.ts';
import { LAYOUT_PARAM_OPS } from './layout-params.ts';
import { WORKER_OPS } from './workers.ts';
import { BLOCK_OPS } from './blocks.ts';
import { STATS_OPS } from './stats.ts';
import { INSPECT_OPS } from './inspect.ts';
import { registerLocalEndpoint } from './multi-node.ts';
import { openApiDocument } from './openapi.ts';
import { KEY_OPS } from './key.ts';
import { BUCKET_OPS } from './bucket.ts';
import { ROUTE_OPS, ROUTE_READS } from './route.ts';
import { CERT_OPS, CERT_READS } from './cert.ts';
import { FRONT_HEALTH_OPS, FRONT_HEALTH_READS } from './front-health.ts';
import { UPLOAD_OPS } from './uploads.ts';
import { META_OPS } from './meta.ts';
import { SITE_OPS, handleSiteOp } from './site.ts';
import { SeenSignatures } from './seen-signatures.ts';
import { readiness } from './readiness.ts';
import { closeAfterAnswer } from '../../util/lingering-close.ts';
import { bearerOf, callerName, identifyRequest, makeTokenOps, permit, TOKEN_READS } from './tokens.ts';
import { AUDIT_OPS, AUDIT_READS, isAction, recordAudit, targetOf } from './audit.ts';
import { isConsolePath, serveConsole, type ConsoleMeta } from './console/serve.ts';
import { isS3ProxyPath, proxyS3 } from './console/s3-proxy.ts';
import { CONSOLE_OPS, CONSOLE_READS } from './console-ops.ts';
import { splitAddr } from '../../config/config.ts';

export type { AdminDeps, NodeRole } from './context.ts';

/** A Map, not an object: a name from the URL must never resolve to an inherited property
 *  (/v2/constructor, /v2/toString). */
const OPS = new Map<string, Handler>(Object.entries({ ...CLUSTER_OPS, ...LAYOUT_OPS, ...LAYOUT_PARAM_OPS, ...WORKER_OPS, ...KEY_OPS, ...BUCKET_OPS, ...ROUTE_OPS, ...CERT_OPS, ...FRONT_HEALTH_OPS, ...UPLOAD_OPS, ...AUDIT_OPS, ...META_OPS, ...BLOCK_OPS, ...STATS_OPS, ...INSPECT_OPS, ...CONSOLE_OPS }));
/** Every operation name a token's scope may list. */
const SCOPE_OPS = new Set<string>();
for (const [name, h] of Object.entries(makeTokenOps(() => SCOPE_OPS))) OPS.set(name, h);
for (const name of [...OPS.keys(), ...Object.keys(SITE_OPS)]) SCOPE_OPS.add(name);
/** A DNS name has at most 253 characters (RFC 1035). */
const DOMAIN_CHARS_MAX = 253;
const READS = new Set([
  'GetClusterStatus',
  'GetClusterHealth',
  'GetNodeInfo',
  'GetClusterLayout',
  'GetClusterLayoutHistory',
  'ListWorkers',
  'ListBlockErrors',
  'GetNodeStatistics',
  'GetClusterStatistics',
  'InspectObject',
  'ListKeys',
  'GetKeyInfo',
  'ListBuckets',
  'GetBucketInfo',
  ...ROUTE_READS,
  ...CERT_READS,
  ...FRONT_HEALTH_READS,
  ...TOKEN_READS,
  ...AUDIT_READS,
  ...CONSOLE_READS,
]);
/** Operations whose body Garage defines as a bare JSON array. */
const ARRAY_BODIES = new Set(['ConnectClusterNodes', 'UpdateClusterLayout', 'PurgeBlocks']);
/** Operations answered on both methods: GET ListWorkers is this node's list (what the CLI reads),
 *  POST is Garage's multi-node form. */
const EITHER_METHOD = new Set(['ListWorkers']);

/** Every /v2/ operation this server answers and its HTTP methods (HEAD aside): what the OpenAPI
 *  document (openapi.ts) must describe, and is checked against in its test. */
export function operationTable(): { name: string; methods: string[] }[] {
  const out = [...OPS.keys()].map((name) => ({ name, methods: EITHER_METHOD.has(name) ? ['GET', 'POST'] : [READS.has(name) ? 'GET' : 'POST'] }));
  for (const [name, op] of Object.entries(SITE_OPS)) out.push({ name, methods: [op.method] });
  return out.sort((a, z) => (a.name < z.name ? -1 : 1));
}

export function createAdminServer(deps: AdminDeps): Server {
  // Per server (per node): owner signatures this node has accepted, for replay refusal.
  const seen = new SeenSignatures(deps.nodeId);
  const bodies = new BodyBudget(deps.config.limits.json_bodies_in_flight_bytes_max);
  const logins = new LoginLimiter(deps.config.limits.login_failures_per_minute_max);
  registerLocalEndpoint(deps);
  // A database from before the site indexes builds them now, not at an owner's first page.
  siteIndexReady(deps.store).catch((e: unknown) => log.warn({ err: String(e) }, 'site index: backfill failed; the next site request retries it'));
  return createServer({ headersTimeout: 30_000, requestTimeout: 0 }, (req, res) => {
    void handle(deps, seen, bodies, logins, req, res);
  });
}

/** Compares digests so neither the content nor the length of the token leaks through timing. */
function tokenMatches(given: string, expected: string): boolean {
  return timingSafeEqual(sha256(given), sha256(expected));
}

/** Throws unless the request carries `Authorization: Bearer <expected>`. */
function requireToken(req: IncomingMessage, expected: string): void {
  const h = req.headers.authorization;
  if (!h) throw new AdminError(401, 'Unauthorized', 'missing "Authorization: Bearer <token>" header');
  const m = /^Bearer\s+(\S+)\s*$/i.exec(h);
  if (!m) throw new AdminError(401, 'Unauthorized', 'the Authorization header must be "Bearer <token>"');
  if (!tokenMatches(m[1]!, expected)) throw new AdminError(403, 'Forbidden', 'invalid token');
}

/** Garage's GET /check?domain= for reverse proxies issuing TLS certificates on demand (Caddy's
 *  `ask`): succeeds exactly for the hosts the front would order a certificate for (one rule,
 *  model/hosts.ts): a route, a website host an admin gave, or <bucket>.<s3_web.root_domain>. */
function checkDomain(deps: AdminDeps, domain: string | null): void {
  if (!domain) throw new AdminError(400, 'InvalidRequest', 'missing query parameter "domain"');
  const el = certificateEligibility(deps.store, domain, deps.config.s3_web.root_domain);
  if (!el.ok) throw new AdminError(400, 'InvalidRequest', `domain "${domain.slice(0, 253)}" is not served by this cluster: ${el.reason.slice(0, 500)}`);
}

/** Readiness (Garage's /health: 200 when this node can serve requests, else 503) and liveness
 *  (200 while the process answers at all). Plain text for health checkers, JSON on request. */
const HEALTH_PATHS = new Set(['/health', '/health/ready', '/health/live', '/livez']);

function answerHealth(deps: AdminDeps, req: IncomingMessage, res: ServerResponse, live: boolean): void {
  const json = /\bapplication\/json\b/i.test(req.headers.accept ?? '');
  res.setHeader('cache-control', 'no-store');
  if (live) {
    const uptimeSecs = Math.floor((Date.now() - deps.startedAt) / 1000);
    if (json) sendJson(res, 200, { status: 'alive', uptimeSecs });
    else sendText(res, 200, 'alive\n');
    return;
  }
  const r = readiness(deps);
  const code = r.status === 'ready' ? 200 : 503;
  if (code === 503) res.setHeader('retry-after', '1');
  if (json) sendJson(res, code, r);
  else sendText(res, code, r.status === 'ready' ? 'ok\n' : `${r.status}: ${r.reason}\n`);
}

function toAdminError(e: unknown, op: string): AdminError {
  if (e instanceof AdminError) return e;
  if (e instanceof ModelError) return fromModelError(e);
  log.error({ err: e, op }, 'admin api internal error');
  // The details stay in the log: a client learns nothing of the internals.
  return new AdminError(500, 'InternalError', `internal error while serving ${op}; the node's log has the details`);
}

async function handle(deps: AdminDeps, seen: SeenSignatures, bodies: BodyBudget, logins: LoginLimiter, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const started = performance.now();
  // Split by hand: new URL() would read a path like //host/x as a host.
  const raw = req.url ?? '/';
  const qi = raw.indexOf('?');
  const path = qi < 0 ? raw : raw.slice(0, qi);
  const query = new URLSearchParams(qi < 0 ? '' : raw.slice(qi + 1));
  let op = 'Unknown';
  // Who acted, for the audit log (set once the caller has proved it); the body, for its target.
  let who: string | undefined;
  let body: Record<string, unknown> | undefined;
  // The body (and what is parsed from it) counts against the budget until the answer is given.
  const hold = bodies.hold();
  // Public (the node's public key): owner-signed requests sign it, so clients learn it here.
  res.setHeader('x-grenier-node', deps.nodeId);
  try {
    checkQuery(query);
    if (HEALTH_PATHS.has(path)) {
      op = 'Health';
      if (req.method !== 'GET' && req.method !== 'HEAD') throw new AdminError(405, 'MethodNotAllowed', `use GET ${path}`);
      answerHealth(deps, req, res, path === '/health/live' || path === '/livez');
      return;
    }
    if (path === '/check') {
      op = 'CheckDomain';
      if ((query.get('domain')?.length ?? 0) > DOMAIN_CHARS_MAX) throw badRequest(`a domain name has at most ${DOMAIN_CHARS_MAX} characters`);
      checkDomain(deps, query.get('domain'));
      sendText(res, 200, 'Domain is managed by Grenier\n');
      return;
    }
    // An address that failed too many logins this minute is refused whatever it sends now.
    const wait = req.headers.authorization || req.headers['x-grenier-key'] ? logins.blocked(socketIp(req.socket)) : undefined;
    if (wait !== undefined) {
      limitRefused.inc({ limit: 'login_failures_per_minute_max' });
      res.setHeader('retry-after', String(wait));
      throw new AdminError(429, 'TooManyRequests', `too many failed logins from your address (limits.login_failures_per_minute_max): try again in ${wait} s`);
    }
    if (path === '/metrics') {
      op = 'Metrics';
      const token = deps.config.admin.metrics_token ?? deps.config.admin.admin_token;
      if (token) requireToken(req, token);
      sendText(res, 200, await registry.metrics(), registry.contentType);
      return;
    }
    if (isS3ProxyPath(path)) {
      op = 'ConsoleObject';
      return await proxyS3(deps, req, res, path, query);
    }
    if (path === '/v2/openapi.json') {
      // Public knowledge (the operations and their shapes), so no token is asked for.
      op = 'GetOpenApi';
      if (req.method !== 'GET' && req.method !== 'HEAD') throw new AdminError(405, 'MethodNotAllowed', `use GET ${path}`);
      sendJson(res, 200, openApiDocument(deps.version));
      return;
    }
    if (isConsolePath(path)) {
      op = 'Console';
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.setHeader('allow', 'GET, HEAD');
        throw new AdminError(405, 'MethodNotAllowed', 'the console is read with GET');
      }
      serveConsole(req, res, path, () => consoleMeta(deps));
      return;
    }
    const m = /^\/v2\/([A-Za-z]+)$/.exec(path);
    // Site and quota endpoints also accept site owners' keys, and stream blob uploads.
    if (m && Object.hasOwn(SITE_OPS, m[1]!)) {
      op = m[1]!;
      const owner = req.headers['x-grenier-key'];
      if (req.headers.authorization) {
        const c = identifyRequest(deps, req);
        who = callerName(c);
        permit(req, c, op);
        // A scoped token passed authorize(): for this request it stands where the config's token would.
        if (c.kind === 'token') return await handleSiteOp(asAdmin(deps, bearerOf(req)), req, res, op, query, seen, hold);
      } else if (typeof owner === 'string') who = `key ${owner.slice(0, 128)}`;
      return await handleSiteOp(deps, req, res, op, query, seen, hold);
    }
    const handler = m ? OPS.get(m[1]!) : undefined;
    if (!m || !handler) throw new AdminError(404, 'NoSuchEndpoint', `no admin endpoint ${req.method} ${path}`);
    op = m[1]!;
    if (!deps.config.admin.admin_token && (await deps.store.adminTokens.range('admin_token', { limit: 1 })).length === 0)
      throw new AdminError(403, 'Forbidden', 'the admin API is disabled: set admin.admin_token in the config');
    const caller = identifyRequest(deps, req);
    who = callerName(caller);
    permit(req, caller, op);
    const method = EITHER_METHOD.has(op) && req.method === 'POST' ? 'POST' : READS.has(op) ? 'GET' : 'POST';
    if (req.method !== method) {
      res.setHeader('allow', method);
      throw new AdminError(405, 'MethodNotAllowed', `${op} takes ${method}, not ${req.method}`);
    }
    const max = deps.config.limits.json_body_bytes_max;
    body = method === 'POST' ? await (ARRAY_BODIES.has(op) ? readJsonOrArray(req, max, hold) : readJson(req, max, hold)) : {};
    const out = await handler({ deps, req, query, body });
    if (out === undefined) {
      res.writeHead(200, { 'content-length': 0 });
      res.end();
    } else sendJson(res, 200, out);
  } catch (e) {
    const err = toAdminError(e, op);
    if (isCredentialFailure(err)) logins.fail(socketIp(req.socket));
    if (res.headersSent) res.destroy(err);
    else {
      if (err.status === 401) res.setHeader('www-authenticate', 'Bearer');
      if (err.status === 503) res.setHeader('retry-after', '5');
      // An unread body is not drained (it may be endless): the answer closes the connection.
      if (!req.complete) closeAfterAnswer(req, res);
      sendJson(res, err.status, { code: err.code, message: err.message });
    }
  } finally {
    hold.release();
    if (who !== undefined && isAction(req) && op !== 'Console') auditAction(deps, who, op, query, body, res.statusCode);
    apiRequests.inc({ api: 'admin', op, status: String(res.statusCode) });
    apiDuration.observe({ api: 'admin', op }, (performance.now() - started) / 1000);
  }
}

/** A scoped token's site/quota request: the site endpoints check the config's token, so they get
 *  a view of the config in which the token that passed authorize() is that token. */
function asAdmin(deps: AdminDeps, token: string): AdminDeps {
  return { ...deps, config: { ...deps.config, admin: { ...deps.config.admin, admin_token: token } } };
}

/** Records an action. An owner's refused request is not: its signature may not have been valid. */
function auditAction(deps: AdminDeps, who: string, op: string, query: URLSearchParams, body: Record<string, unknown> | undefined, status: number): void {
  if (who.startsWith('key ') && (status === 401 || status === 403)) return;
  recordAudit(deps, { who, op, target: targetOf(query, body), status });
}

/** Websites are <bucket>.<root_domain>: behind the front on HTTPS, else on the web port. */
function consoleMeta(deps: AdminDeps): ConsoleMeta {
  const root = deps.config.s3_web.root_domain;
  if (!root) return { webUrl: null };
  if (deps.config.front) return { webUrl: `https://{bucket}.${root}/` };
  const { port } = splitAddr(deps.config.s3_web.bind_addr);
  return { webUrl: `http://{bucket}.${root}${port === 80 ? '' : `:${port}`}/` };
}
