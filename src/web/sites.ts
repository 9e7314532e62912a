// Host → website resolution from a compact in-memory index of the website buckets and the
// aliases that name them, built once from the local copies of the "everywhere" alias, bucket,
// site and route tables and kept in step by their update hooks (same transaction): a lookup,
// first visit or not, is a Map access whatever the number of sites, and touches no LMDB page.
// The rule is model/hosts.ts's websiteForHost (the one /check and ACME follow); the index answers
// the same (sites.test.ts checks it against websiteForHost over random tables and changes).
import type { Store } from '../model/store.ts';
import type { Bucket, WebsiteConfig } from '../model/bucket.ts';
import type { Alias } from '../model/alias.ts';
import type { SiteEntry } from '../model/site.ts';
import { rootSuffix, websiteForHost } from '../model/hosts.ts';
import type { LocalTable } from '../table/local.ts';
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

/** A website bucket (not deleted, website config set) and the alias names that point at it
 *  (an array: usually one). Its id string is the one Site objects share. */
interface WebBucket {
  id: string;
  website: WebsiteConfig;
  names: string[];
}

/** The answer for an alias that points at a website bucket, with whether an admin gave the name
 *  (alias.given) for the bare-host rule. */
interface Named extends Site {
  given: boolean;
}

/** Table entries read per event-loop turn while building the index. */
const BUILD_CHUNK = 2000;

/** Most distinct website configs shared between buckets (most sites use the same few). */
const SHARED_CONFIGS_MAX = 1000;

export class SiteResolver {
  private readonly store: Store;
  private readonly suffix: string | undefined;
  private readonly buckets = new Map<string, WebBucket>();
  private readonly names = new Map<string, Named>();
  /** Equal website configs share one object (JSON → config): 50,000 copies of the same few
   *  fields would be most of the index. Callers never modify a Site's website. */
  private readonly configs = new Lru<string, WebsiteConfig>({ maxEntries: SHARED_CONFIGS_MAX });
  /** bucket id → the domain of its (not deleted) site entry: a site gives its domain as a host. */
  private readonly siteDomains = new Map<string, string>();
  /** Names that website routes serve (routes are few: rebuilt on any change). */
  private routeSites = new Set<string>();

  constructor(store: Store, opts: SiteResolverOptions = {}) {
    this.store = store;
    this.suffix = rootSuffix(opts.rootDomain);
    // Hooks first: every change from now on is applied, during the build too (each reads the
    // tables as they are then, so the build's later reads cannot undo a newer change).
    store.buckets.local.onUpdate((_before, after) => this.updateBucket(after));
    store.aliases.local.onUpdate((_before, after) => this.updateAlias(after));
    store.sites.local.onUpdate((_before, after) => this.updateSite(after));
    store.routes.local.onUpdate(() => this.updateRoutes());
    this.built = this.build();
  }

  /** Set once the index holds every table entry: until then lookups read the tables. */
  private ready = false;
  /** Resolves when the index is complete (synchronously done, inside the constructor, when every
   *  table fits in one chunk). */
  readonly built: Promise<void>;

  /** Reads the tables in chunks of BUILD_CHUNK entries, yielding to the event loop between them:
   *  50,000 sites take a second or more, which must not hold up the node's start. */
  private async build(): Promise<void> {
    const scan = async <E>(t: LocalTable<E>, pk: string, each: (e: E) => void): Promise<void> => {
      let after: string | undefined;
      for (;;) {
        const page = [...t.range(pk, { after, limit: BUILD_CHUNK })];
        for (const e of page) each(e);
        if (page.length < BUILD_CHUNK) return;
        after = t.schema.sortKey(page.at(-1)!);
        await new Promise((r) => setImmediate(r));
      }
    };
    // A bucket already indexed was put there by its hook, from a read at least as recent.
    await scan(this.store.buckets.local, 'bucket', (b) => {
      if (!this.buckets.has(b.id) && !b.deleted.v && b.website.v) this.buckets.set(b.id, { id: b.id, website: this.shared(b.website.v), names: [] });
    });
    await scan(this.store.aliases.local, 'alias', (a) => this.updateAlias(a));
    await scan(this.store.sites.local, 'site', (e) => this.updateSite(e));
    this.updateRoutes();
    this.ready = true;
  }

  /** Hosts indexed (alias names of website buckets). */
  get size(): number {
    return this.names.size;
  }

  /** Website buckets indexed. */
  get indexedBuckets(): number {
    return this.buckets.size;
  }

  /** The site a (normalized) host serves, or null when none does: the bucket an admin gave that
   *  bare host, else, for `<name><suffix>`, the bucket named `name`. Synchronous. */
  resolve(host: string): Site | null {
    if (!this.ready) return websiteForHost(this.store, host, this.suffix).site;
    const bare = this.names.get(host);
    if (bare && (bare.given || this.siteDomains.get(bare.bucketId) === host || this.routeSites.has(host))) return bare;
    const suffix = this.suffix;
    if (suffix && host.length > suffix.length && host.endsWith(suffix)) {
      const sub = this.names.get(host.slice(0, -suffix.length));
      if (sub) return sub;
    }
    return null;
  }

  private updateAlias(a: Alias): void {
    const old = this.names.get(a.name);
    if (old) {
      this.names.delete(a.name);
      const b = this.buckets.get(old.bucketId);
      if (b) b.names = b.names.filter((n) => n !== a.name);
    }
    const id = a.bucket.v;
    const b = id ? this.buckets.get(id) : undefined;
    if (!id || !b) return;
    this.names.set(a.name, { bucketId: b.id, name: a.name, website: b.website, given: a.given?.v === id });
    b.names.push(a.name);
  }

  private shared(w: WebsiteConfig): WebsiteConfig {
    const k = JSON.stringify(w);
    const hit = this.configs.get(k);
    if (hit) return hit;
    this.configs.set(k, w);
    return w;
  }

  private updateBucket(after: Bucket): void {
    const id = after.id;
    const cur = this.buckets.get(id);
    if (after.deleted.v || !after.website.v) {
      if (!cur) return;
      this.buckets.delete(id);
      for (const n of cur.names) this.names.delete(n);
      return;
    }
    const b: WebBucket = { id, website: this.shared(after.website.v), names: [] };
    this.buckets.set(id, b);
    // The names that may point here: those it had, and those the bucket lists (the alias
    // table decides, as in websiteForHost).
    const candidates = new Set([...(cur?.names ?? []), ...Object.keys(after.aliases)]);
    for (const n of candidates) {
      const a = this.store.aliases.local.get('alias', n);
      if (a) this.updateAlias(a);
      else this.names.delete(n);
    }
  }

  private updateSite(e: SiteEntry): void {
    if (e.deleted.v) this.siteDomains.delete(e.bucket);
    else this.siteDomains.set(e.bucket, e.domain);
  }

  private updateRoutes(): void {
    const out = new Set<string>();
    for (const r of this.store.routes.local.range('route')) {
      const t = r.target.v;
      if (t?.kind === 'website') out.add(t.site ?? r.host);
    }
    this.routeSites = out;
  }
}
