// Self-service sites (as Deuxfleurs' Guichet): a key an admin allowed (`sitesMax`) creates sites
// itself at `<name>.<root domain>`; a custom domain waits for an admin's approval (a site request
// in the quota_request table). The names go through the bucket and host rules an admin's do.
import type { Store } from './store.ts';
import type { AccessKey } from './key.ts';
import { bucketNameError } from './bucket.ts';
import { rootSuffix, tenantBucketNameRefusal } from './hosts.ts';
import { ModelError } from './errors.ts';
import { SerialByKey } from '../util/serial-by-key.ts';
import { createSite, type CreateSiteOptions, type SiteRef } from './site.ts';

/** The largest allowance an admin may give one key (each site is a bucket in everywhere tables). */
export const SITES_MAX_LIMIT = 1000;

export type SiteName = { kind: 'root'; domain: string } | { kind: 'custom'; domain: string };

/** Where an owner's site would live: a bare name ("blog") or `blog.<root>` is under the root
 *  domain; any other domain is custom. Refuses what an owner may not take: an invalid bucket
 *  name, more than one label under the root, the root itself, the S3 root, a routed host. */
export function classifySiteName(store: Store, input: string, roots: { web?: string; s3?: string }): SiteName {
  const name = input.trim().toLowerCase();
  const web = rootSuffix(roots.web);
  const shown = JSON.stringify(name.slice(0, 80));
  let domain = name;
  let kind: SiteName['kind'] = 'custom';
  if (web && !name.includes('.')) domain = name + web;
  if (web && (domain === web.slice(1) || domain.endsWith(web))) {
    const label = domain.slice(0, -web.length);
    if (label === '' || label.includes('.')) throw new ModelError('InvalidSiteName', `${shown}: a site under ${web.slice(1)} is one name, such as blog${web}`);
    kind = 'root';
  } else if (!name.includes('.')) {
    throw new ModelError('InvalidSiteName', `${shown} is not a domain name, and this cluster has no root domain for sites (s3_web.root_domain)`);
  }
  const why = bucketNameError(domain);
  if (why) throw new ModelError('InvalidSiteName', `site ${JSON.stringify(domain.slice(0, 80))}: ${why}`);
  // Routed hosts, route sites and names under the S3 root are not a tenant's to take.
  const no = tenantBucketNameRefusal(store, domain, [roots.s3]);
  if (no) throw new ModelError(no.code === 'InvalidBucketName' ? 'InvalidSiteName' : no.code, no.message);
  if (kind === 'root') {
    // A bucket named like the label already answers <label>.<root>: the site would shadow it.
    const label = domain.slice(0, -web!.length);
    if (store.aliases.local.get('alias', label)?.bucket.v) throw new ModelError('BucketAlreadyExists', `the site name "${label}" is taken`);
  }
  return { kind, domain };
}

/** The live sites the key created itself (bucket ids). */
export function ownLiveSites(store: Store, k: AccessKey): string[] {
  const out: string[] = [];
  for (const [id, on] of Object.entries(k.ownSites ?? {})) {
    if (on.v !== 'self') continue;
    const s = store.sites.local.get('site', id);
    if (s && !s.deleted.v) out.push(id);
  }
  return out;
}

/** Why the key may not create one more site (undefined: it may). */
export function allowanceRefusal(store: Store, k: AccessKey): string | undefined {
  const max = k.sitesMax?.v ?? 0;
  if (max <= 0) return 'your access key may not create sites; an administrator can allow it (grenier key allow-sites <key> --max N)';
  const n = ownLiveSites(store, k).length;
  if (n >= max) return `your access key may create ${max} site${max === 1 ? '' : 's'} and has ${n}: an administrator can delete one or raise your allowance`;
  return undefined;
}

/** Per store: one key's self-service creations queued one at a time, so that a key's count check
 *  and its write never interleave with another creation of the same key on this node. */
const creating = new WeakMap<Store, SerialByKey>();

function oneAtATime<T>(store: Store, keyId: string, f: () => Promise<T>): Promise<T> {
  let queue = creating.get(store);
  if (!queue) creating.set(store, (queue = new SerialByKey()));
  return queue.run(keyId, f);
}

/** Creates a site the key owns and counts it against its allowance (checked here, again, so an
 *  approval given after the key filled its allowance is refused too). One key's creations run one
 *  at a time on a node: concurrent ones each see the sites the previous recorded, so they cannot
 *  together pass sitesMax. Two racing on two nodes may still both pass (each checks its own
 *  replica of the key): the allowance is a limit for people, not a security boundary. */
export async function createOwnSite(store: Store, keyId: string, domain: string, o: CreateSiteOptions): Promise<SiteRef> {
  return oneAtATime(store, keyId, async () => {
    const k = await store.key(keyId);
    if (!k || k.deleted.v) throw new ModelError('NoSuchAccessKey', `access key ${keyId} no longer exists`);
    const why = allowanceRefusal(store, k);
    if (why) throw new ModelError('SiteAllowanceExceeded', why);
    const ref = await createSite(store, domain, k, o);
    await recordSite(store, keyId, ref.bucket.id, 'self');
    return ref;
  });
}

/** Notes on the owner's key that the site workflow made site `bucketId` for it ('self' counts
 *  against its allowance; the site list comes from the owner flags, model/site-index.ts). */
export async function recordSite(store: Store, keyId: string, bucketId: string, how: 'self' | 'given'): Promise<void> {
  const cur = await store.key(keyId);
  if (!cur) return;
  const t = Math.max(store.ts(), (cur.ownSites?.[bucketId]?.t ?? 0) + 1);
  await store.keys.insert({ ...cur, ownSites: { ...(cur.ownSites ?? {}), [bucketId]: { t, v: how } } });
}
