// Front routes (ListRoutes, AddRoute, DeleteRoute): host + path prefix → a website, the S3 API
// or upstream URLs, validated here so a bad route never reaches the replicated table.
import type { Store } from '../../model/store.ts';
import { describeTarget, parseHost, parsePathPrefix, parseUpstream, type Route, type RouteTarget } from '../../model/route.ts';
import { AdminError, badRequest, bool, str } from './http.ts';
import type { Handler } from './context.ts';

export interface RouteInfo {
  host: string;
  path: string;
  kind: RouteTarget['kind'];
  site?: string;
  upstreams?: string[];
  target: string;
  created: string;
}

export function routeInfo(r: Route): RouteInfo {
  const t = r.target.v!;
  return {
    host: r.host,
    path: r.path,
    kind: t.kind,
    ...(t.kind === 'website' && t.site ? { site: t.site } : {}),
    ...(t.kind === 'upstream' ? { upstreams: [...t.upstreams] } : {}),
    target: describeTarget(t),
    created: new Date(r.created).toISOString(),
  };
}

function hostOf(raw: string): string {
  const p = parseHost(raw);
  if ('error' in p) throw badRequest(p.error);
  return p.host;
}

function pathOf(raw: string | undefined): string {
  const p = parsePathPrefix(raw);
  if ('error' in p) throw badRequest(p.error);
  return p.path;
}

async function liveRoute(store: Store, host: string, path: string): Promise<Route | undefined> {
  const r = await store.routes.get('route', host + path);
  return r?.target.v ? r : undefined;
}

const listRoutes: Handler = async (ctx) => {
  return (await ctx.deps.store.routes.range('route')).filter((r) => r.target.v).map(routeInfo);
};

/** Body: { host, path?, upstreams?: string[], s3?: true, website?: true, site?: string, replace?: boolean }. */
const addRoute: Handler = async (ctx) => {
  const b = ctx.body;
  const host = hostOf(str(b, 'host', true));
  const path = pathOf(str(b, 'path'));
  const ups = b.upstreams;
  if (ups !== undefined && (!Array.isArray(ups) || ups.some((u) => typeof u !== 'string'))) throw badRequest('field "upstreams" must be an array of URLs');
  const s3 = bool(b, 's3') ?? false;
  const site = str(b, 'site');
  const website = (bool(b, 'website') ?? false) || site !== undefined;
  const kinds = [ups !== undefined && (ups as string[]).length > 0, s3, website].filter(Boolean).length;
  if (kinds !== 1) throw badRequest('give exactly one target: "upstreams" (one or more URLs), "s3": true, or "website": true (optionally "site")');
  let target: RouteTarget;
  if (s3) target = { kind: 's3' };
  else if (website) {
    if (site !== undefined && site === '') throw badRequest('field "site" must not be empty');
    target = site ? { kind: 'website', site: site.toLowerCase() } : { kind: 'website' };
  } else {
    const urls: string[] = [];
    for (const u of ups as string[]) {
      const p = parseUpstream(u);
      if ('error' in p) throw badRequest(p.error);
      if (!urls.includes(p.url)) urls.push(p.url);
    }
    target = { kind: 'upstream', upstreams: urls };
  }
  const store = ctx.deps.store;
  const cur = await store.routes.get('route', host + path);
  if (cur?.target.v && !(bool(b, 'replace') ?? false))
    throw new AdminError(409, 'RouteAlreadyExists', `a route for ${host}${path === '/' ? '' : path} already exists (${describeTarget(cur.target.v)}); delete it first or pass "replace": true`);
  const t = Math.max(store.ts(), (cur?.target.t ?? 0) + 1);
  const r = await store.routes.insert({ host, path, created: cur?.created ?? t, target: { t, v: target } });
  return routeInfo(r);
};

/** Query: ?host=&path= (path defaults to "/"). */
const deleteRoute: Handler = async (ctx) => {
  const host = hostOf(ctx.query.get('host') ?? '');
  const path = pathOf(ctx.query.get('path') ?? undefined);
  const store = ctx.deps.store;
  const cur = await liveRoute(store, host, path);
  if (!cur) throw new AdminError(404, 'NoSuchRoute', `no route for ${host}${path === '/' ? '' : path}`);
  const info = routeInfo(cur);
  await store.routes.insert({ ...cur, target: { t: Math.max(store.ts(), cur.target.t + 1), v: null } });
  return info;
};

export const ROUTE_OPS: Record<string, Handler> = {
  ListRoutes: listRoutes,
  AddRoute: addRoute,
  DeleteRoute: deleteRoute,
};

export const ROUTE_READS = ['ListRoutes'];
