// Host + path → route, from the local copy of the replicated route table: an index by host with
// each host's routes longest prefix first, rebuilt for a host whenever one of its routes changes.
import type { Store } from '../model/store.ts';
import { pathMatches, type Route, type RouteTarget } from '../model/route.ts';

export interface MatchedRoute {
  host: string;
  path: string;
  target: RouteTarget;
}

export class RouteIndex {
  private readonly store: Store;
  private readonly byHost = new Map<string, MatchedRoute[]>();
  private readonly listeners: (() => void)[] = [];

  constructor(store: Store) {
    this.store = store;
    for (const r of store.routes.local.range('route')) this.add(r);
    for (const l of this.byHost.values()) sortRoutes(l);
    store.routes.local.onUpdate((_b, after) => {
      this.reload(after.host);
      for (const f of this.listeners) f();
    });
  }

  private add(r: Route): void {
    if (!r.target.v) return;
    let l = this.byHost.get(r.host);
    if (!l) this.byHost.set(r.host, (l = []));
    l.push({ host: r.host, path: r.path, target: r.target.v });
  }

  /** Runs inside the writing transaction: the entry just written is visible to range(). */
  private reload(host: string): void {
    this.byHost.delete(host);
    for (const r of this.store.routes.local.range('route', { prefix: host + '/' })) if (r.host === host) this.add(r);
    const l = this.byHost.get(host);
    if (l) sortRoutes(l);
  }

  /** Called after any route change (e.g. the health checker's upstream list). */
  onChange(f: () => void): void {
    this.listeners.push(f);
  }

  match(host: string, path: string): MatchedRoute | undefined {
    return this.byHost.get(host)?.find((r) => pathMatches(r.path, path));
  }

  /** Has the host no route, or only one for the whole host ("/")? Then no prefix boundary
   *  can be crossed, whatever the path. */
  onlyRoot(host: string): boolean {
    const l = this.byHost.get(host);
    return !l || (l.length === 1 && l[0]!.path === '/');
  }

  hasHost(host: string): boolean {
    return this.byHost.has(host);
  }

  /** Every upstream URL some route uses. */
  upstreams(): string[] {
    const s = new Set<string>();
    for (const l of this.byHost.values()) for (const r of l) if (r.target.kind === 'upstream') for (const u of r.target.upstreams) s.add(u);
    return [...s];
  }
}

function sortRoutes(l: MatchedRoute[]): void {
  l.sort((a, b) => b.path.length - a.path.length);
}
