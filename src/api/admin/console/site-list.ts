// ListSites by pages (?limit=&start=&search=), in domain order: a range scan of the alias table
// (a site's domain is its bucket's alias) from a continuation token, each request reading at most
// SITES_SCAN_MAX entries, so a page costs the same at 50,000 sites as at 500; a page that ran out
// of budget before filling says where to go on (`nextStart`). Owners get their sites from the
// local index of owner flags (model/site-index.ts): a page costs their sites, not everyone's.
import type { Store } from '../../../model/store.ts';
import { mayManage, type Principal } from '../../../model/quota-request.ts';
import type { SiteEntry } from '../../../model/site.ts';
import type { Bucket } from '../../../model/bucket.ts';
import { badRequest } from '../http.ts';
import { parseLimit, parseSearch, parseStart } from '../paging.ts';
import { ownedSiteIds, siteIndexReady } from '../../../model/site-index.ts';

export const LIST_SITES_LIMIT_MAX = 200;
export const LIST_SITES_LIMIT_DEFAULT = 20;
/** Alias entries one request reads at most (local reads: about 10 ms for 2000 here). */
export const SITES_SCAN_MAX = 2000;
/** A domain has at most 253 characters. */
export const LIST_SITES_SEARCH_CHARS_MAX = 253;

export interface SiteListItem {
  domain: string;
  bucketId: string;
  currentDeploy: string | null;
  usage: { bytes: number; objects: number };
  quotas: { maxSize: number | null; maxObjects: number | null };
}

export interface SitePage {
  sites: SiteListItem[];
  nextStart: string | null;
}

// Phases, as in bucket-list.ts: p:<domain> the domains starting with the search (a prefix range),
// then a:<domain> every domain containing it elsewhere (or, without a search, every domain).
type Phase = 'p' | 'a';

/** An owner's page: the sites whose bucket gives the key the owner flag (the index kept from the
 *  bucket and site tables, whichever path or node set the flag), in domain order from
 *  `o:<domain>` (exclusive). The index is the key's own sites, so it is read whole. */
async function ownerPage(store: Store, keyId: string, limit: number, search: string, raw: string | null): Promise<SitePage> {
  const m = raw === null || raw === '' ? { after: '' } : /^o:(.*)$/s.exec(raw) ? { after: raw.slice(2) } : undefined;
  if (!m) throw badRequest('query parameter "start" is not a token returned by ListSites ("nextStart")');
  await siteIndexReady(store);
  const mine: { site: SiteEntry; bucket: Bucket }[] = [];
  for (const id of ownedSiteIds(store, keyId)) {
    const site = store.sites.local.get('site', id);
    if (!site || site.deleted.v || !site.domain.includes(search) || site.domain <= m.after) continue;
    const bucket = store.buckets.local.get('bucket', id);
    if (bucket && !bucket.deleted.v && mayManage({ admin: false, keyId }, bucket)) mine.push({ site, bucket });
  }
  mine.sort((a, z) => (a.site.domain < z.site.domain ? -1 : 1));
  const page = mine.slice(0, limit);
  return { sites: await items(store, page), nextStart: mine.length > limit ? `o:${page.at(-1)!.site.domain}` : null };
}

async function items(store: Store, found: { site: SiteEntry; bucket: Bucket }[]): Promise<SiteListItem[]> {
  const sites: SiteListItem[] = [];
  for (const { site, bucket } of found) {
    const u = await store.usage(bucket.id);
    sites.push({ domain: site.domain, bucketId: bucket.id, currentDeploy: site.deploys.v.current, usage: { bytes: u.bytes, objects: u.objects }, quotas: { ...bucket.quotas.v } });
  }
  return sites;
}

/** One page of the sites `p` may manage. `budget`: alias entries read at most (smaller in tests). */
export async function listSitePage(store: Store, p: Principal, query: URLSearchParams, budget = SITES_SCAN_MAX): Promise<SitePage> {
  const limit = parseLimit(query.get('limit'), LIST_SITES_LIMIT_DEFAULT, LIST_SITES_LIMIT_MAX);
  const search = parseSearch(query.get('search'), LIST_SITES_SEARCH_CHARS_MAX);
  if (!p.admin) return ownerPage(store, p.keyId, limit, search, query.get('start'));
  const start = parseStart(query.get('start'), search, ['p', 'a'] as const, 'ListSites');
  const phases: Phase[] = search === '' ? ['a'] : ['p', 'a'];
  const found: { site: SiteEntry; bucket: Bucket }[] = [];
  let left = budget;
  /** The site whose domain is this alias (local reads: everywhere tables). */
  const take = (name: string, id: string | null): void => {
    if (!id) return;
    const site = store.sites.local.get('site', id);
    if (!site || site.deleted.v || site.domain !== name) return;
    const bucket = store.buckets.local.get('bucket', id);
    if (!bucket || bucket.deleted.v) return;
    found.push({ site, bucket });
  };
  let next: string | null = null;
  for (let i = phases.indexOf(start.phase); i < phases.length; i++) {
    const phase = phases[i]!;
    let after = i === phases.indexOf(start.phase) ? start.after : undefined;
    let more = false;
    for (const a of store.aliases.local.range('alias', { prefix: phase === 'p' ? search : undefined, after })) {
      if (found.length === limit || left === 0) {
        more = true;
        break;
      }
      left--;
      after = a.name;
      if (phase === 'a' && (!a.name.includes(search) || (search !== '' && a.name.startsWith(search)))) continue;
      take(a.name, a.bucket.v);
    }
    if (more) {
      next = `${phase}:${after ?? ''}`;
      break;
    }
    const following = phases[i + 1];
    if (following && (found.length === limit || left === 0)) {
      next = `${following}:`;
      break;
    }
  }
  return { sites: await items(store, found), nextStart: next };
}
