// Host → website resolution: each host is looked up by key in the local copies of the
// "everywhere" alias, bucket and site tables (model/hosts.ts's websiteForHost, the rule /check and
// ACME follow) and the answer kept in a bounded LRU. Start-up reads nothing and memory grows with
// the hosts requested, not with the number of sites. The tables' update hooks (same transaction,
// local and replicated writes alike) drop every cached answer a change can affect.
import type { Store } from '../model/store.ts';
import type { WebsiteConfig } from '../model/bucket.ts';
import { rootSuffix, websiteForHost } from '../model/hosts.ts';
import { Lru } from '../util/lru.ts';

export interface Site {
  bucketId: string;
  /** The alias the host resolved through (for messages and logs). */
  name: string;
  website: WebsiteConfig;
}

export interface SiteResolverOptions {
  rootDomain?: string;
}

/** Lower-cases, strips the port and a trailing dot; undefined for something that is not a host. */
export function normalizeHost(raw: string | undefined): string | undefined {
  if (!raw) return undefined;
  let h = raw.trim().toLowerCase();
  if (h.startsWith('[')) {
    const end = h.indexOf(']');
    if (end < 0) return undefined;
    h = h.slice(0, end + 1);
  } else {
    const colon = h.indexOf(':');
    if (colon >= 0) {
      if (!/^\d*$/.test(h.slice(colon + 1))) return undefined;
      h = h.slice(0, colon);
    }
  }
  if (h.endsWith('.')) h = h.slice(0, -1);
  if (h === '' || h.length > 253 || !/^[a-z0-9._\-[\]:]+$/.test(h)) return undefined;
  return h;
}

/** A cached answer and the buckets it read: an update to any of them, or to the alias of the
 *  host's names, may change it. */
interface Cached {
  site: Site | null;
  buckets: string[];
}

/** Hosts whose answers are kept. An answer is a few hundred bytes; a miss costs a few LMDB reads
 *  by key, the same with 500 sites or 50,000. */
export const HOSTS_CACHED_MAX = 20_000;

export class SiteResolver {
  private readonly store: Store;
  private readonly suffix: string | undefined;
  private readonly cache: Lru<string, Cached>;
  /** bucket id → hosts whose cached answer read that bucket (kept in step with the LRU). */
  private readonly byBucket = new Map<string, Set<string>>();

  constructor(store: Store, opts: SiteResolverOptions & { hostsCachedMax?: number } = {}) {
    this.store = store;
    this.suffix = rootSuffix(opts.rootDomain);
    this.cache = new Lru<string, Cached>({ maxEntries: opts.hostsCachedMax ?? HOSTS_CACHED_MAX, onEvict: (h, c) => this.unlink(h, c) });
    store.buckets.local.onUpdate((_before, after) => this.dropBucket(after.id));
    // The answer for `name` and for `name<suffix>` read the alias `name`.
    store.aliases.local.onUpdate((_before, after) => this.dropName(after.name));
    // A site's domain is a host an admin gave its bucket (websiteForHost's adminGaveHost).
    store.sites.local.onUpdate((before, after) => {
      this.dropBucket(after.bucket);
      if (before && before.bucket !== after.bucket) this.dropBucket(before.bucket);
    });
    // Website routes give the names they serve as hosts: routes are few and change rarely.
    store.routes.local.onUpdate(() => this.clear());
  }

  /** Hosts whose answer is cached. */
  get cached(): number {
    return this.cache.size;
  }

  /** The site a (normalized) host serves, or null when none does: the bucket an admin gave that
   *  bare host, else, for `<name><suffix>`, the bucket named `name`. Synchronous. */
  resolve(host: string): Site | null {
    const hit = this.cache.get(host);
    if (hit) return hit.site;
    const r = websiteForHost(this.store, host, this.suffix);
    const c: Cached = { site: r.site, buckets: [...new Set(r.buckets)] };
    this.drop(host);
    this.cache.set(host, c);
    for (const id of c.buckets) {
      let hosts = this.byBucket.get(id);
      if (!hosts) this.byBucket.set(id, (hosts = new Set()));
      hosts.add(host);
    }
    return c.site;
  }

  private unlink(host: string, c: Cached): void {
    for (const id of c.buckets) {
      const hosts = this.byBucket.get(id);
      if (!hosts) continue;
      hosts.delete(host);
      if (hosts.size === 0) this.byBucket.delete(id);
    }
  }

  private drop(host: string): void {
    const c = this.cache.peek(host);
    if (!c) return;
    this.cache.delete(host);
    this.unlink(host, c);
  }

  private dropName(name: string): void {
    this.drop(name);
    if (this.suffix) this.drop(name + this.suffix);
  }

  private dropBucket(id: string): void {
    const hosts = this.byBucket.get(id);
    if (!hosts) return;
    for (const h of [...hosts]) this.drop(h);
  }

  private clear(): void {
    this.cache.clear();
    this.byBucket.clear();
  }
}
