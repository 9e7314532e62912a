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
import { rootSuffix } from '../model/hosts.ts';

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

/** A website bucket (not deleted, website config set) and the alias names that point at it. */
interface WebBucket {
  website: WebsiteConfig;
  names: Set<string>;
}

/** An alias that points at a website bucket: the answer for its name, and whether an admin gave
 *  the name (alias.given) for the bare-host rule. */
interface Named {
  site: Site;
  given: boolean;
}

export class SiteResolver {
  private readonly store: Store;
  private readonly suffix: string | undefined;
  private readonly buckets = new Map<string, WebBucket>();
  private readonly names = new Map<string, Named>();
  /** bucket id → the domain of its (not deleted) site entry: a site gives its domain as a host. */
  private readonly siteDomains = new Map<string, string>();
  /** Names that website routes serve (routes are few: rebuilt on any change). */
  private routeSites = new Set<string>();

  constructor(store: Store, opts: SiteResolverOptions = {}) {
    this.store = store;
    this.suffix = rootSuffix(opts.rootDomain);
    // Hooks first, then the scans: both run synchronously, so no change falls between them.
    store.buckets.local.onUpdate((_before, after) => this.updateBucket(after));
    store.aliases.local.onUpdate((_before, after) => this.updateAlias(after));
    store.sites.local.onUpdate((_before, after) => this.updateSite(after));
    store.routes.local.onUpdate(() => this.updateRoutes());
    for (const b of store.buckets.local.range('bucket')) if (!b.deleted.v && b.website.v) this.buckets.set(b.id, { website: b.website.v, names: new Set() });
    for (const a of store.aliases.local.range('alias')) this.updateAlias(a);
    for (const e of store.sites.local.range('site')) this.updateSite(e);
    this.updateRoutes();
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
    const bare = this.names.get(host);
    if (bare && (bare.given || this.siteDomains.get(bare.site.bucketId) === host || this.routeSites.has(host))) return bare.site;
    const suffix = this.suffix;
    if (suffix && host.length > suffix.length && host.endsWith(suffix)) {
      const sub = this.names.get(host.slice(0, -suffix.length));
      if (sub) return sub.site;
    }
    return null;
  }

  private updateAlias(a: Alias): void {
    const old = this.names.get(a.name);
    if (old) {
      this.names.delete(a.name);
      this.buckets.get(old.site.bucketId)?.names.delete(a.name);
    }
    const id = a.bucket.v;
    const b = id ? this.buckets.get(id) : undefined;
    if (!id || !b) return;
    this.names.set(a.name, { site: { bucketId: id, name: a.name, website: b.website }, given: a.given?.v === id });
    b.names.add(a.name);
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
    const b: WebBucket = { website: after.website.v, names: new Set() };
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
