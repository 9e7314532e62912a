// Host → website resolution from the local copies of the "everywhere" alias and bucket tables,
// through a bounded LRU cache that the tables' update hooks invalidate in the same transaction,
// so a lookup is one Map access however many sites exist and a change is seen immediately.
// Which bucket a host may serve is model/hosts.ts's rule (the same one /check and ACME follow).
import type { Store } from '../model/store.ts';
import type { WebsiteConfig } from '../model/bucket.ts';
import { rootSuffix, websiteForHost } from '../model/hosts.ts';

export interface Site {
  bucketId: string;
  /** The alias the host resolved through (for messages and logs). */
  name: string;
  website: WebsiteConfig;
}

interface Entry {
  site: Site | null;
  /** Buckets consulted while resolving: an update to any of them may change the answer. */
  buckets: string[];
}

export interface SiteResolverOptions {
  rootDomain?: string;
  /** Maximum cached hosts, positive and negative (default 100,000). */
  capacity?: number;
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

export class SiteResolver {
  private readonly store: Store;
  private readonly suffix: string | undefined;
  readonly capacity: number;
  /** Insertion order is recency order: a hit is moved to the end, eviction takes the first. */
  private readonly cache = new Map<string, Entry>();
  private readonly byBucket = new Map<string, Set<string>>();
  hits = 0;
  misses = 0;

  constructor(store: Store, opts: SiteResolverOptions = {}) {
    this.store = store;
    this.suffix = rootSuffix(opts.rootDomain);
    this.capacity = Math.max(1, opts.capacity ?? 100_000);
    // An alias name can answer for the host equal to it and for <name>.<root_domain>.
    store.aliases.local.onUpdate((_before, after) => {
      this.invalidateHost(after.name);
      if (this.suffix) this.invalidateHost(after.name + this.suffix);
    });
    store.buckets.local.onUpdate((_before, after) => this.invalidateBucket(after.id));
    // A site entry can give its domain to its bucket as a host; a website route can give any
    // name. Routes are few and rarely change: any change drops the whole cache.
    store.sites.local.onUpdate((_before, after) => this.invalidateBucket(after.bucket));
    store.routes.local.onUpdate(() => this.clear());
  }

  get size(): number {
    return this.cache.size;
  }

  /** The site a (normalized) host serves, or null when none does. Synchronous: no await between
   *  reading the tables and caching the answer, so an invalidation cannot be overtaken. */
  resolve(host: string): Site | null {
    const e = this.cache.get(host);
    if (e) {
      this.hits++;
      this.cache.delete(host);
      this.cache.set(host, e);
      return e.site;
    }
    this.misses++;
    const entry = this.lookup(host);
    this.remember(host, entry);
    return entry.site;
  }

  private lookup(host: string): Entry {
    return websiteForHost(this.store, host, this.suffix);
  }

  private clear(): void {
    this.cache.clear();
    this.byBucket.clear();
  }

  private remember(host: string, e: Entry): void {
    this.cache.set(host, e);
    for (const id of e.buckets) {
      let s = this.byBucket.get(id);
      if (!s) this.byBucket.set(id, (s = new Set()));
      s.add(host);
    }
    while (this.cache.size > this.capacity) {
      const oldest = this.cache.keys().next().value as string;
      this.invalidateHost(oldest);
    }
  }

  private invalidateHost(host: string): void {
    const e = this.cache.get(host);
    if (!e) return;
    this.cache.delete(host);
    for (const id of e.buckets) {
      const s = this.byBucket.get(id);
      s?.delete(host);
      if (s?.size === 0) this.byBucket.delete(id);
    }
  }

  private invalidateBucket(id: string): void {
    const s = this.byBucket.get(id);
    if (!s) return;
    for (const host of [...s]) this.invalidateHost(host);
  }

  /** Number of buckets with cached hosts (bounded by the cache: for tests and metrics). */
  get indexedBuckets(): number {
    return this.byBucket.size;
  }
}
