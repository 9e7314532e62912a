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

/** A cached answer and the buckets it read (one id, or several): an update to any of them, or
 *  to the alias of the host's names, may change it. */
interface Cached {
  site: Site | null;
  buckets: string | string[];
}

/** Hosts whose answers are kept: about 550 bytes each (measured: 50,000 hosts = 26 MiB of heap),
 *  so every host of a large home cluster stays cached. A miss costs a few LMDB reads by key (the
 *  same with 500 sites or 50,000), tens of times a hit: a cache that cannot hold every host
 *  requested in turn would make the request rate depend on the number of sites after all. */
export const HOSTS_CACHED_MAX = 100_000;

/** Most distinct website configs shared between cached answers (most sites use the same few). */
const SHARED_CONFIGS_MAX = 1000;

const ids = (b: string | string[]): string[] => (typeof b === 'string' ? [b] : b);

export class SiteResolver {
  private readonly store: Store;
  private readonly suffix: string | undefined;
  private readonly cache: Lru<string, Cached>;
  /** bucket id → hosts whose cached answer read that bucket (kept in step with the LRU); one host
   *  (the usual case) as a string, to keep an entry small. */
  private readonly byBucket = new Map<string, string | Set<string>>();
  /** Equal website configs share one object (JSON → config). Callers never modify a Site's website. */
  private readonly configs = new Lru<string, WebsiteConfig>({ maxEntries: SHARED_CONFIGS_MAX });

  constructor(store: Store, opts: SiteResolverOptions & { hostsCachedMax?: number } = {}) {
    this.store = store;
    this.suffix = rootSuffix(opts.rootDomain);
    this.cache = new Lru<string, Cached>({ maxEntries: opts.hostsCachedMax ?? HOSTS_CACHED_MAX, onEvict: (h, c) => this.unlink(h, c) });
    // Each drop runs once the write is committed (Db.afterCommit): a lookup in between would cache the old answer again.
    const db = store.db;
    store.buckets.local.onUpdate((_before, after) => db.afterCommit(() => this.dropBucket(after.id)));
    // The answer for `name` and for `name<suffix>` read the alias `name`.
    store.aliases.local.onUpdate((_before, after) => db.afterCommit(() => this.dropName(after.name)));
    // A site's domain is a host an admin gave its bucket (websiteForHost's adminGaveHost).
    store.sites.local.onUpdate((before, after) => db.afterCommit(() => {
      this.dropBucket(after.bucket);
      if (before && before.bucket !== after.bucket) this.dropBucket(before.bucket);
    }));
    // Website routes give the names they serve as hosts: routes are few and change rarely.
    store.routes.local.onUpdate(() => db.afterCommit(() => this.clear()));
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
    const read = [...new Set(r.buckets)];
    const site = r.site && { bucketId: read.find((id) => id === r.site!.bucketId) ?? r.site.bucketId, name: r.site.name, website: this.shared(r.site.website) };
    const c: Cached = { site, buckets: read.length === 1 ? read[0]! : read };
    this.drop(host);
    this.cache.set(host, c);
    for (const id of read) {
      const hosts = this.byBucket.get(id);
      if (hosts === undefined) this.byBucket.set(id, host);
      else if (typeof hosts === 'string') {
        if (hosts !== host) this.byBucket.set(id, new Set([hosts, host]));
      } else hosts.add(host);
    }
    return site;
  }

  private shared(w: WebsiteConfig): WebsiteConfig {
    const k = JSON.stringify(w);
    const hit = this.configs.get(k);
    if (hit) return hit;
    this.configs.set(k, w);
    return w;
  }

  private unlink(host: string, c: Cached): void {
    for (const id of ids(c.buckets)) {
      const hosts = this.byBucket.get(id);
      if (hosts === undefined) continue;
      if (typeof hosts === 'string') {
        if (hosts === host) this.byBucket.delete(id);
        continue;
      }
      hosts.delete(host);
      if (hosts.size === 1) this.byBucket.set(id, hosts.values().next().value!);
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
    if (hosts === undefined) return;
    for (const h of typeof hosts === 'string' ? [hosts] : [...hosts]) this.drop(h);
  }

  private clear(): void {
    this.cache.clear();
    this.byBucket.clear();
  }
}
