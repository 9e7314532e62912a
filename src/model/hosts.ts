// Who may serve a host: the one rule that the web listener, /check and certificate ordering
// follow, and the bucket names a tenant may not take (README "Who may serve a host").
import type { Store } from './store.ts';
import type { WebsiteConfig } from './bucket.ts';

/** "web.example.org" or ".web.example.org" → ".web.example.org" (undefined when unset). */
export function rootSuffix(rootDomain: string | undefined): string | undefined {
  const root = rootDomain?.trim().toLowerCase().replace(/^\.+|\.+$/g, '');
  return root ? `.${root}` : undefined;
}

/** Names that website routes serve: a route's `site`, or its own host when it names none. */
function websiteRouteSites(store: Store): Set<string> {
  const out = new Set<string>();
  for (const r of store.routes.local.range('route')) {
    const t = r.target.v;
    if (t?.kind === 'website') out.add(t.site ?? r.host);
  }
  return out;
}

/** Whether an admin gave `name`, as a bare host, to bucket `id`: through the admin API (bucket
 *  creation, AddBucketAlias: the alias's `given`), the site workflow (the site's domain, also
 *  for sites made before `given` existed) or a website route naming it. A bucket a tenant
 *  created over S3 has none of these. Reads local copies of "everywhere" tables only. */
export function adminGaveHost(store: Store, name: string, id: string, routeSites?: Set<string>): boolean {
  const a = store.aliases.local.get('alias', name);
  if (!a || a.bucket.v !== id) return false;
  if (a.given?.v === id) return true;
  const s = store.sites.local.get('site', id);
  if (s && !s.deleted.v && s.domain === name) return true;
  return (routeSites ?? websiteRouteSites(store)).has(name);
}

export interface HostSite {
  bucketId: string;
  /** The alias the host resolved through. */
  name: string;
  website: WebsiteConfig;
}

export interface HostLookup {
  site: HostSite | null;
  /** Buckets consulted: an update to any of them may change the answer (for caches). */
  buckets: string[];
}

/** The website a (normalized) host serves: the bucket an admin gave that bare host, else, for
 *  `<name><suffix>`, the bucket named `name` (any bucket, tenants' included). Synchronous. */
export function websiteForHost(store: Store, host: string, suffix: string | undefined): HostLookup {
  const buckets: string[] = [];
  const website = (name: string, given: boolean): HostSite | null => {
    const id = store.aliases.local.get('alias', name)?.bucket.v;
    if (!id) return null;
    buckets.push(id);
    const b = store.buckets.local.get('bucket', id);
    if (!b || b.deleted.v || !b.website.v) return null;
    if (given && !adminGaveHost(store, name, id)) return null;
    return { bucketId: id, name, website: b.website.v };
  };
  const bare = website(host, true);
  if (bare) return { site: bare, buckets };
  if (suffix && host.endsWith(suffix) && host.length > suffix.length) {
    const sub = website(host.slice(0, -suffix.length), false);
    if (sub) return { site: sub, buckets };
  }
  return { site: null, buckets };
}

/** Every bare host an admin gave a website bucket (for the certificate worker). */
export function adminGivenWebsiteHosts(store: Store): string[] {
  const routeSites = websiteRouteSites(store);
  const out: string[] = [];
  for (const b of store.buckets.local.range('bucket')) {
    if (b.deleted.v || !b.website.v) continue;
    for (const [name, on] of Object.entries(b.aliases)) if (on.v && adminGaveHost(store, name, b.id, routeSites)) out.push(name);
  }
  return out;
}

export interface NameRefusal {
  code: 'InvalidBucketName' | 'BucketAlreadyExists';
  message: string;
}

/** Why a tenant (an S3 key with create-bucket rights) may not create a bucket `name`: a name
 *  under a root domain would shadow `<site>.<root_domain>` hosts, and a route's host or site is
 *  a host an admin gave. Undefined: the name is free for a tenant. */
export function tenantBucketNameRefusal(store: Store, name: string, rootDomains: (string | undefined)[]): NameRefusal | undefined {
  for (const r of rootDomains) {
    const suffix = rootSuffix(r);
    if (suffix && (name === suffix.slice(1) || name.endsWith(suffix)))
      return { code: 'InvalidBucketName', message: `bucket names ending in "${suffix.slice(1)}" are reserved: that is this cluster's root domain` };
  }
  for (const r of store.routes.local.range('route', { prefix: name + '/' })) {
    if (r.host === name && r.target.v) return { code: 'BucketAlreadyExists', message: `the bucket name "${name}" is not available: it is a host routed by this cluster` };
  }
  if (websiteRouteSites(store).has(name)) return { code: 'BucketAlreadyExists', message: `the bucket name "${name}" is not available: a website route names it` };
  return undefined;
}
