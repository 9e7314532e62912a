// Local indexes of the site workflow, derived from the replicated tables by their update hooks
// (so every write counts, whichever node or API path made it, local or replicated): the sites each
// key owns (owner flag on the site's bucket) and the quota requests of each site by state.
import type { Tree } from '../db/db.ts';
import type { Bucket } from './bucket.ts';
import type { SiteEntry } from './site.ts';
import type { QuotaRequest } from './quota-request.ts';
import type { Store } from './store.ts';
import { log } from '../util/log.ts';

// One tree: 'o' keyId 0 bucketId → owner index; 'r' group 0 state 0 time(8) id → request index;
// 'm' name → backfill progress (a sort key reached, or DONE).
const O = 'o';
const R = 'r';
const M = 'm';
const DONE = '\u0000done';
/** Entries one backfill transaction handles (about 10 ms of work on an idle core; the loop yields
 *  to requests between chunks). */
export const SITE_INDEX_BACKFILL_CHUNK = 250;

const trees = new WeakMap<Store, Tree<string | 1>>();
const backfills = new WeakMap<Store, Promise<void>>();

function tree(store: Store): Tree<string | 1> {
  let t = trees.get(store);
  if (!t) {
    t = store.db.tree<string | 1>('site_index');
    trees.set(store, t);
  }
  return t;
}

const ownerKey = (keyId: string, bucketId: string): Buffer => Buffer.from(`${O}${keyId}\0${bucketId}`);

/** The group a request is counted and retained in: its site's bucket; a custom-domain site
 *  request (no bucket yet) its requester's ('~' never starts a bucket id). */
export function requestGroup(r: QuotaRequest): string {
  return r.bucket || `~${r.requester}`;
}

function requestKey(r: QuotaRequest): Buffer {
  const d = r.decision.v;
  const pending = d.state === 'pending';
  const at = Buffer.alloc(8);
  at.writeBigUInt64BE(BigInt(Math.max(0, Math.floor(pending ? r.created : d.at))));
  return Buffer.concat([Buffer.from(`${R}${requestGroup(r)}\0${pending ? 'p' : 'd'}\0`), at, Buffer.from(r.id)]);
}

function prefixRange(p: Buffer): { start: Buffer; end: Buffer } {
  return { start: p, end: Buffer.concat([p.subarray(0, -1), Buffer.from([p.at(-1)! + 1])]) };
}

/** The index entries of one bucket's owners, from the current bucket and site (both local). */
function indexOwners(store: Store, b: Bucket, site: SiteEntry, keys: Iterable<string>): void {
  const t = tree(store);
  const live = !b.deleted.v && !site.deleted.v;
  for (const k of keys) {
    const key = ownerKey(k, b.id);
    if (live && b.keys[k]?.v.owner === true) {
      if (t.get(key) === undefined) t.put(key, 1);
    }
    else if (t.get(key) !== undefined) t.remove(key);
  }
}

function indexRequest(store: Store, before: QuotaRequest | undefined, after: QuotaRequest): void {
  const t = tree(store);
  if (before) t.remove(requestKey(before));
  if (after.expired !== true) t.put(requestKey(after), 1);
}

/** Installed by the Store's constructor, before any write: the backfill's DONE mark relies on
 *  every later merge having gone through these hooks. */
export function installSiteIndexes(store: Store): void {
  store.buckets.local.onUpdate((before, after) => {
    const site = store.sites.local.get('site', after.id);
    if (!site) return; // not a site (yet): the site's own hook indexes it when it comes
    indexOwners(store, after, site, new Set([...Object.keys(before?.keys ?? {}), ...Object.keys(after.keys)]));
  });
  store.sites.local.onUpdate((_before, after) => {
    const b = store.buckets.local.get('bucket', after.bucket);
    if (b) indexOwners(store, b, after, Object.keys(b.keys));
  });
  store.quotaRequests.local.onUpdate((before, after) => indexRequest(store, before, after));
  // A new database has nothing to backfill: the hooks see everything from its first write.
  const t = tree(store);
  if (t.get(Buffer.from(M + 'owners')) === undefined && store.sites.local.range('site', { limit: 1 }).next().done && store.quotaRequests.local.range('quota_request', { limit: 1 }).next().done)
    store.db.transaction(() => {
      t.put(Buffer.from(M + 'owners'), DONE);
      t.put(Buffer.from(M + 'requests'), DONE);
    });
}

/** Indexes what a database written before these indexes holds: in chunks of
 *  SITE_INDEX_BACKFILL_CHUNK entries per transaction, the position saved with each (a restart
 *  goes on from there), yielding to other work between chunks. Once per database; callers share it. */
export function siteIndexReady(store: Store): Promise<void> {
  let p = backfills.get(store);
  if (!p) {
    p = backfill(store);
    backfills.set(store, p);
    p.catch(() => backfills.delete(store)); // a failed pass is tried again by the next caller
  }
  return p;
}

async function backfill(store: Store): Promise<void> {
  const t = tree(store);
  if (t.get(Buffer.from(M + 'requests')) === DONE) return;
  const t0 = Date.now();
  const pass = async (name: string, step: (after: string | undefined) => string | undefined): Promise<void> => {
    const mk = Buffer.from(M + name);
    for (;;) {
      const at = t.get(mk);
      if (at === DONE) return;
      store.db.transaction(() => t.put(mk, step(typeof at === 'string' ? at : undefined) ?? DONE));
      await new Promise((r) => setImmediate(r));
    }
  };
  await pass('owners', (after) => {
    let last: string | undefined;
    for (const s of store.sites.local.range('site', { after, limit: SITE_INDEX_BACKFILL_CHUNK })) {
      const b = store.buckets.local.get('bucket', s.bucket);
      if (b) indexOwners(store, b, s, Object.keys(b.keys));
      last = s.bucket;
    }
    return last;
  });
  await pass('requests', (after) => {
    let last: string | undefined;
    for (const r of store.quotaRequests.local.range('quota_request', { after, limit: SITE_INDEX_BACKFILL_CHUNK })) {
      if (r.expired !== true) t.put(requestKey(r), 1);
      last = r.id;
    }
    return last;
  });
  log.info({ ms: Date.now() - t0 }, 'site index: built from the site, bucket and quota request tables');
}

/** Bucket ids of the sites the key owns (the index: call siteIndexReady first). */
export function ownedSiteIds(store: Store, keyId: string): string[] {
  const p = Buffer.from(`${O}${keyId}\0`);
  const out: string[] = [];
  for (const { key } of tree(store).range(prefixRange(p))) out.push(key.subarray(p.length).toString());
  return out;
}

/** How many requests of a group are pending (the index: call siteIndexReady first). */
export function pendingRequestCount(store: Store, group: string): number {
  return tree(store).count(prefixRange(Buffer.from(`${R}${group}\0p\0`)));
}

/** Ids of a group's decided requests, oldest decision first. */
export function decidedRequestIds(store: Store, group: string): string[] {
  const p = Buffer.from(`${R}${group}\0d\0`);
  const out: string[] = [];
  for (const { key } of tree(store).range(prefixRange(p))) out.push(key.subarray(p.length + 8).toString());
  return out;
}
