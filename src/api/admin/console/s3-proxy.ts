// The object browser's S3 requests: the page calls /console/s3/<bucket>/<key> on the admin
// listener with its admin token and the access key it chose; the node presigns the request with
// that key's secret and streams it to its own S3 listener, so the page needs no S3 secret, no
// CORS rule on the bucket and no second origin. S3 itself authorizes (the key's permissions).
import { request, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AdminDeps } from '../context.ts';
import { AdminError, badRequest } from '../http.ts';
import { callerName, identifyRequest, permit } from '../tokens.ts';
import { recordAudit } from '../audit.ts';
import { isValidAccessKeyId, percentDecode, type QueryPair } from '../../s3/auth/sigv4.ts';
import { splitAddr } from '../../../config/config.ts';
import { log } from '../../../util/log.ts';
import { hasDotSegment, presignUrl } from './presign.ts';

export const S3_PROXY_PREFIX = '/console/s3/';
/** The admin operation a token's scope must allow: the proxy can do what a presigned URL can. */
export const PROXY_SCOPE_OP = 'PresignObjectUrl';
/** A forwarded request is presigned for this long: enough to start, the transfer may run longer. */
const PROXY_PRESIGN_SECS = 300;
const CONNECT_TIMEOUT_MS = 10_000;
/** Only what the object browser sends (listing, download names); anything else is refused. */
const QUERY_NAMES = new Set(['list-type', 'prefix', 'delimiter', 'continuation-token', 'max-keys', 'start-after', 'response-content-disposition', 'response-content-type', 'versionId']);
const METHODS = new Set(['GET', 'HEAD', 'PUT', 'DELETE']);
const REQUEST_HEADERS = ['content-length', 'content-type', 'range', 'if-match', 'if-none-match'];
const HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'set-cookie', 'content-security-policy', 'x-frame-options']);

export function isS3ProxyPath(path: string): boolean {
  return path.startsWith(S3_PROXY_PREFIX);
}

/** The node's own S3 listener, as this process can reach it (a wildcard bind is reached on loopback). */
export function localS3Origin(deps: AdminDeps): string {
  const { host, port } = splitAddr(deps.config.s3_api.api_bind_addr);
  if (!port) throw new AdminError(503, 'ServiceUnavailable', 'the S3 API listener has no fixed port (s3_api.api_bind_addr)');
  const h = host === '' || host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
  return `http://${h.includes(':') ? `[${h}]` : h}:${port}`;
}

/** The access key's secret, read locally (the key table is on every node). */
export function secretOf(deps: AdminDeps, accessKeyId: string): string {
  if (!isValidAccessKeyId(accessKeyId)) throw badRequest('"accessKeyId" is not an access key id');
  const k = deps.store.keys.local.get('key', accessKeyId);
  if (!k || k.deleted.v) throw new AdminError(404, 'NoSuchAccessKey', `no access key ${accessKeyId}`);
  return k.secret;
}

/** Splits /console/s3/<bucket>/<key…> into decoded names. */
function target(path: string): { bucket: string; key: string } {
  const rest = path.slice(S3_PROXY_PREFIX.length);
  const i = rest.indexOf('/');
  const dec = (s: string) => percentDecode(s, false).toString('utf8');
  const bucket = dec(i < 0 ? rest : rest.slice(0, i));
  const key = i < 0 ? '' : dec(rest.slice(i + 1));
  if (!bucket) throw badRequest('the path must be /console/s3/<bucket>[/<key>]');
  return { bucket, key };
}

/** Answers one proxied request (throws AdminError before anything is sent upstream). */
export async function proxyS3(deps: AdminDeps, req: IncomingMessage, res: ServerResponse, path: string, query: URLSearchParams): Promise<void> {
  const caller = identifyRequest(deps, req);
  permit(req, caller, PROXY_SCOPE_OP);
  const method = req.method ?? 'GET';
  if (!METHODS.has(method)) {
    res.setHeader('allow', [...METHODS].join(', '));
    throw new AdminError(405, 'MethodNotAllowed', `the object browser uses ${[...METHODS].join(', ')}, not ${method.slice(0, 16)}`);
  }
  const akid = req.headers['x-grenier-access-key'];
  if (typeof akid !== 'string') throw badRequest('missing header x-grenier-access-key: the access key to act with');
  const secret = secretOf(deps, akid);
  const { bucket, key } = target(path);
  if (hasDotSegment(key)) throw badRequest('the object browser cannot reach a key with a "." or ".." path segment (URL parsers rewrite it); use an S3 client');
  const pairs: QueryPair[] = [];
  for (const [k, v] of query) {
    if (!QUERY_NAMES.has(k)) throw badRequest(`query parameter "${k.slice(0, 64)}" is not forwarded by the object browser`);
    pairs.push([k, v]);
  }
  const origin = localS3Origin(deps);
  const url = new URL(presignUrl({ method: method as 'GET', endpoint: origin, bucket, key, query: pairs, accessKeyId: akid, secret, region: deps.config.s3_api.s3_region, expiresSecs: PROXY_PRESIGN_SECS }));
  const headers: Record<string, string> = { host: url.host };
  for (const h of REQUEST_HEADERS) {
    const v = req.headers[h];
    if (typeof v === 'string') headers[h] = v;
  }
  const who = callerName(caller);
  const idleMs = deps.config.limits.http_idle_timeout_secs * 1000;
  await new Promise<void>((done) => {
    const up = request({ hostname: url.hostname.replace(/^\[|\]$/g, ''), port: url.port, path: url.pathname + url.search, method, headers, timeout: CONNECT_TIMEOUT_MS });
    const fail = (status: number, message: string) => {
      if (!res.headersSent) {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ code: status === 504 ? 'GatewayTimeout' : 'BadGateway', message }));
      } else res.destroy();
      done();
    };
    up.on('socket', (s) => s.setTimeout(idleMs));
    up.on('timeout', () => {
      up.destroy();
      fail(504, `the S3 listener did not answer within ${idleMs / 1000} s`);
    });
    up.on('error', (err) => {
      log.warn({ err, method }, 'console S3 proxy: upstream failed');
      fail(502, 'the S3 listener of this node cannot be reached');
    });
    up.on('response', (ur) => {
      const out: Record<string, string | string[]> = {};
      for (const [k, v] of Object.entries(ur.headers)) if (v !== undefined && !HOP.has(k)) out[k] = v;
      // Served on the console's origin: an object must never run as a page there.
      out['content-security-policy'] = "default-src 'none'; sandbox";
      out['x-content-type-options'] = 'nosniff';
      if (method === 'GET' && key !== '') out['content-disposition'] = 'attachment';
      res.writeHead(ur.statusCode ?? 502, out);
      ur.pipe(res);
      ur.on('error', () => res.destroy());
      res.on('close', () => {
        ur.destroy();
        if (method === 'PUT' || method === 'DELETE') recordAudit(deps, { who, op: `Console${method === 'PUT' ? 'PutObject' : 'DeleteObject'}`, target: `bucket=${bucket.slice(0, 128)} key=${key.slice(0, 256)}`, status: ur.statusCode ?? 0 });
        done();
      });
    });
    // A client that goes away stops the upstream request too.
    req.on('aborted', () => up.destroy());
    res.on('close', () => {
      if (!res.writableFinished) up.destroy();
    });
    if (method === 'PUT') req.pipe(up);
    else up.end();
  });
}
