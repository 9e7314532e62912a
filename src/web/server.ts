// The website listener: Host → site, path → key (index and error documents, redirects), then
// the object streamed with HTTP caching, ranges and precompressed variants. GET and HEAD only.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Store } from '../model/store.ts';
import { liveVersion, type ObjectVersion } from '../model/object.ts';
import { acceptsEncoding, etagMatches, evaluateConditions, parseRange } from '../util/http.ts';
import { ResponseCache } from './response-cache.ts';
import { apiDuration, apiRequests } from '../util/metrics.ts';
import { httpDate } from '../util/time.ts';
import { log } from '../util/log.ts';
import { SiteResolver, normalizeHost, type Site } from './sites.ts';
import { decodePath } from './path.ts';
import { redirectAll, routingRedirect, type Redirect, type RequestOrigin } from './routing.ts';
import { contentTypeFor } from './mime.ts';
import { DeployResolver } from './deploys.ts';
import { blobKey } from '../model/site.ts';
import { QuorumError } from '../model/errors.ts';

export interface WebOptions {
  rootDomain?: string;
  /** Index document for sites that do not set one. */
  index: string;
  /** Longest a cached small page may be served without re-reading (default 5 s; 0 = no cache). */
  microCacheMs?: number;
}

/** Precompressed variants in order of preference: `<key>.br`, then `<key>.gz`. */
const VARIANTS: [coding: string, suffix: string][] = [
  ['br', '.br'],
  ['gzip', '.gz'],
];

/** Stored object headers a website visitor gets back as they are. */
const PASSED = new Set(['content-language', 'content-disposition', 'expires']);
/** The error page a site's deploy brings when no error document is set. */
const DEPLOY_404 = '404.html';
/** Retry-After (seconds) on a 503: about the time a node restart or failure detection takes. */
const RETRY_AFTER_SECS = 5;

interface Ctx {
  req: IncomingMessage;
  res: ServerResponse;
  op: string;
  head: boolean;
  /** Set when this response may be stored in the micro-cache. */
  cacheKey?: string;
  /** The normalized Host, once computed. */
  host?: string;
  bucketId?: string;
}

/** Which precompressed variant a client can take: what the response depends on. */
function encodingClass(ae: string | undefined): string {
  return acceptsEncoding(ae, 'br') ? 'br' : acceptsEncoding(ae, 'gzip') ? 'gzip' : '';
}

export class WebHandler {
  readonly store: Store;
  readonly sites: SiteResolver;
  readonly deploys: DeployResolver;
  readonly cache: ResponseCache;
  private readonly index: string;

  constructor(store: Store, opts: WebOptions) {
    this.store = store;
    this.index = opts.index || 'index.html';
    this.sites = new SiteResolver(store, { rootDomain: opts.rootDomain });
    this.deploys = new DeployResolver(store);
    this.cache = new ResponseCache(store, { maxAgeMs: opts.microCacheMs });
  }

  readonly handle = (req: IncomingMessage, res: ServerResponse): void => {
    const started = performance.now();
    const ctx: Ctx = { req, res, op: 'Unknown', head: req.method === 'HEAD' };
    const done = () => {
      apiRequests.inc({ api: 'web', op: ctx.op, status: String(res.statusCode) });
      apiDuration.observe({ api: 'web', op: ctx.op }, (performance.now() - started) / 1000);
    };
    res.once('close', done);
    if (this.fromCache(ctx)) return;
    this.serve(ctx).catch((e: unknown) => {
      // Too few replicas reachable is the cluster's state, not a bug here: retry later (as S3: 503).
      if (e instanceof QuorumError) {
        log.warn({ err: e.message, host: req.headers.host, url: req.url }, 'web request: quorum unavailable');
        ctx.op = 'ServiceUnavailable';
        if (res.headersSent) return void res.destroy();
        res.setHeader('retry-after', String(RETRY_AFTER_SECS));
        return page(ctx, 503, 'Service unavailable', 'Not enough storage nodes are reachable to serve this page right now. Please try again shortly.');
      }
      log.error({ err: e, host: req.headers.host, url: req.url }, 'web request failed');
      ctx.op = 'InternalError';
      if (!res.headersSent) page(ctx, 500, 'Internal error', 'The server could not serve this page. Please try again later.');
      else res.destroy();
    });
  };

  /** Answers from the micro-cache when it can; else notes the key so the response gets cached. */
  private fromCache(ctx: Ctx): boolean {
    const { req, res } = ctx;
    if (!this.cache.enabled || (req.method !== 'GET' && req.method !== 'HEAD') || !req.url) return false;
    const host = (ctx.host = normalizeHost(req.headers.host));
    if (!host) return false;
    const key = ResponseCache.keyFor(host, req.url, req.headers, encodingClass(req.headers['accept-encoding']));
    if (!key) return false;
    const hit = this.cache.get(key, Date.now());
    if (!hit) {
      ctx.cacheKey = key;
      return false;
    }
    const inm = req.headers['if-none-match'];
    if (inm !== undefined && etagMatches(inm, hit.etag)) {
      ctx.op = 'NotModified';
      const { 'content-type': _t, 'content-encoding': _e, 'content-length': _l, ...rest } = hit.headers;
      res.writeHead(304, rest);
      res.end();
      return true;
    }
    ctx.op = ctx.head ? 'HeadObject' : 'GetObject';
    res.writeHead(hit.status, hit.headers);
    res.end(ctx.head ? undefined : hit.body);
    return true;
  }

  private async serve(ctx: Ctx): Promise<void> {
    const { req, res } = ctx;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      ctx.op = 'MethodNotAllowed';
      res.setHeader('allow', 'GET, HEAD');
      return page(ctx, 405, 'Method not allowed', 'Websites answer GET and HEAD requests only.');
    }
    const host = ctx.host ?? normalizeHost(req.headers.host);
    if (!host) {
      ctx.op = 'BadRequest';
      return page(ctx, 400, 'Bad request', 'The request has no valid Host header.');
    }
    const site = this.sites.resolve(host);
    if (!site) {
      ctx.op = 'NoSuchWebsite';
      return page(ctx, 404, 'No website here', `No website is configured for the host “${host}”.`);
    }
    const p = decodePath(req.url);
    if (!p.ok) {
      ctx.op = 'BadRequest';
      return page(ctx, 400, 'Bad request', `This address cannot be served: ${p.reason}.`);
    }
    const w = site.website;
    const fwd = req.headers['x-forwarded-proto'];
    const origin: RequestOrigin = { host: req.headers.host!, protocol: fwd === 'https' ? 'https' : 'http' };
    const rawPathAndQuery = p.rawPath + (p.query ? `?${p.query}` : '');

    const all = redirectAll(w, rawPathAndQuery, origin);
    if (all) return redirect(ctx, all);
    const before = routingRedirect(w, p.key, undefined, origin);
    if (before) return redirect(ctx, before);

    const isDir = p.key === '' || p.key.endsWith('/');
    const index = w.indexDocument || this.index;
    const key = isDir ? p.key + index : p.key;
    const v = await this.live(site, key);
    if (v) {
      const to = v.meta!.headers.find(([k]) => k === 'x-amz-website-redirect-location')?.[1];
      if (to && /^(\/|https?:\/\/)/i.test(to)) return redirect(ctx, { status: 301, location: to });
      return this.sendObject(ctx, site, key, v);
    }
    // S3 website behaviour: "dir" that is a folder with an index redirects to "dir/". Not for
    // "//x" paths: that Location would be protocol-relative, i.e. another host.
    if (!isDir && !p.rawPath.startsWith('//') && (await this.live(site, `${p.key}/${index}`))) {
      return redirect(ctx, { status: 302, location: p.rawPath + '/' + (p.query ? `?${p.query}` : '') });
    }
    const after = routingRedirect(w, p.key, 404, origin);
    if (after) return redirect(ctx, after);
    return this.notFound(ctx, site);
  }

  /** The version serving `key`: through the current deploy's manifest when the site has one
   *  (the blob, with the manifest's content type), else the bucket's own key. */
  private async live(site: Site, key: string): Promise<ObjectVersion | undefined> {
    if (key === '' || Buffer.byteLength(key) > 1024) return undefined;
    const d = await this.deploys.lookup(site.bucketId, key);
    if (d.kind === 'missing') return undefined;
    const stored = d.kind === 'file' ? blobKey(d.file.sha256) : key;
    const v = liveVersion(await this.store.objects.get(site.bucketId, stored));
    // An SSE-C object is readable only with its customer's key, which a website visitor never sends.
    if (!v?.meta || v.ssec) return undefined;
    if (d.kind === 'none') return v;
    const headers = v.meta.headers.filter(([k]) => k !== 'content-type');
    return { ...v, meta: { ...v.meta, headers: [...headers, ['content-type', d.file.type]] } };
  }

  private async sendObject(ctx: Ctx, site: Site, key: string, v: ObjectVersion): Promise<void> {
    const { req, res } = ctx;
    ctx.bucketId = site.bucketId;
    const stored = new Map(v.meta!.headers);
    const h: Record<string, string> = {
      'content-type': contentTypeFor(key, stored.get('content-type')),
      vary: 'Accept-Encoding',
    };
    const cc = stored.get('cache-control') ?? site.website.cacheControl;
    if (cc) h['cache-control'] = cc;
    for (const [k, val] of stored) if (PASSED.has(k) || k.startsWith('x-amz-meta-')) h[k] = val;

    let body = v;
    const enc = stored.get('content-encoding');
    if (enc) h['content-encoding'] = enc;
    else {
      const ae = req.headers['accept-encoding'];
      for (const [coding, suffix] of VARIANTS) {
        if (!acceptsEncoding(ae, coding)) continue;
        const alt = await this.live(site, key + suffix);
        if (!alt) continue;
        body = alt;
        h['content-encoding'] = coding;
        break;
      }
    }
    const meta = body.meta!;
    h.etag = `"${meta.etag}"`;
    h['last-modified'] = httpDate(body.ts);
    h['accept-ranges'] = 'bytes';

    const cond = evaluateConditions(req.headers, meta.etag, body.ts);
    if (cond.status === 'not-modified') {
      ctx.op = 'NotModified';
      delete h['content-type'];
      delete h['content-encoding'];
      res.writeHead(304, h);
      res.end();
      return;
    }
    if (cond.status === 'precondition-failed') {
      ctx.op = 'PreconditionFailed';
      return page(ctx, 412, 'Precondition failed', `The ${cond.condition} condition does not hold for this file.`);
    }

    const size = meta.size;
    const range = ifRangeHolds(req, meta.etag, body.ts) ? parseRange(req.headers.range, size) : undefined;
    if (range === 'unsatisfiable') {
      ctx.op = 'InvalidRange';
      res.setHeader('content-range', `bytes */${size}`);
      return page(ctx, 416, 'Range not satisfiable', `The requested range is outside this file (${size} bytes).`);
    }
    ctx.op = ctx.head ? 'HeadObject' : 'GetObject';
    const start = range?.start ?? 0;
    const end = range?.end ?? size;
    h['content-length'] = String(end - start);
    if (range) h['content-range'] = `bytes ${start}-${end - 1}/${size}`;
    await this.stream(ctx, range ? 206 : 200, h, body, start, end);
  }

  private async notFound(ctx: Ctx, site: Site): Promise<void> {
    ctx.op = 'NotFound';
    // Without an error document set, a deploy's own 404.html is the error page (as static hosts do).
    const doc = site.website.errorDocument ?? ((await this.deploys.lookup(site.bucketId, DEPLOY_404)).kind === 'file' ? DEPLOY_404 : undefined);
    const v = doc ? await this.live(site, doc.replace(/^\/+/, '')) : undefined;
    if (!v) return page(ctx, 404, 'Not found', 'There is no page at this address.');
    const stored = new Map(v.meta!.headers);
    const h: Record<string, string> = {
      'content-type': contentTypeFor(doc!, stored.get('content-type')),
      'content-length': String(v.meta!.size),
      'cache-control': 'no-cache',
    };
    const enc = stored.get('content-encoding');
    if (enc) h['content-encoding'] = enc;
    await this.stream(ctx, 404, h, v, 0, v.meta!.size);
  }

  /** Sends headers, then the body with back-pressure; a failure after the headers can only cut the connection. */
  private async stream(ctx: Ctx, status: number, h: Record<string, string>, v: ObjectVersion, start: number, end: number): Promise<void> {
    const { res } = ctx;
    if (ctx.head || end <= start) {
      res.writeHead(status, h);
      res.end();
      return;
    }
    if (v.inline) {
      // Small files live in the metadata: one write, no stream machinery.
      const body = v.inline.subarray(start, end);
      if (ctx.cacheKey && ctx.bucketId && status === 200 && start === 0 && end === v.inline.length)
        this.cache.set(ctx.cacheKey, { status, headers: { ...h }, body, etag: v.meta!.etag, bucketId: ctx.bucketId, at: Date.now() });
      res.writeHead(status, h);
      res.end(body);
      return;
    }
    res.writeHead(status, h);
    try {
      await this.store.sendData(v, start, end, res);
    } catch (e) {
      if (!res.destroyed && (e as NodeJS.ErrnoException).code !== 'ERR_STREAM_PREMATURE_CLOSE') log.warn({ err: e, url: ctx.req.url }, 'web: body stream failed');
      res.destroy();
    }
  }
}

/** If-Range (RFC 9110 §13.1.5): the range applies only if the representation is unchanged. */
function ifRangeHolds(req: IncomingMessage, etag: string, lastModified: number): boolean {
  const v = req.headers['if-range'];
  if (v === undefined) return true;
  const s = (Array.isArray(v) ? v.join(',') : v).trim();
  if (s.startsWith('"')) return s === `"${etag}"`;
  if (s.startsWith('W/')) return false;
  const t = Date.parse(s);
  return !Number.isNaN(t) && Math.floor(lastModified / 1000) * 1000 <= t;
}

function redirect(ctx: Ctx, r: Redirect): void {
  ctx.op = 'Redirect';
  ctx.res.setHeader('location', r.location);
  page(ctx, r.status, 'Moved', `This page has moved to <a href="${esc(r.location)}">${esc(r.location)}</a>.`, true);
}

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A small self-contained HTML page for errors and redirects (body omitted for HEAD). */
function page(ctx: Ctx, status: number, title: string, message: string, trustedHtml = false): void {
  const body = Buffer.from(
    `<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>${status} ${esc(title)}</title></head>` +
      `<body><h1>${status} ${esc(title)}</h1><p>${trustedHtml ? message : esc(message)}</p></body></html>\n`,
  );
  const { res } = ctx;
  res.statusCode = status;
  res.setHeader('content-type', 'text/html; charset=utf-8');
  res.setHeader('content-length', String(body.length));
  if (status >= 400) res.setHeader('cache-control', 'no-store');
  res.end(ctx.head ? undefined : body);
}

/** The web listener's server around the node's handler (not listening yet: the node binds it to
 *  [s3_web] bind_addr; the front uses the same handler). */
export function createWebServer(handler: WebHandler): Server {
  return createServer(handler.handle);
}
