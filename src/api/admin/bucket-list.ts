// ListBuckets by pages (?limit=&start=&search=): a range scan from a continuation token, so a
// page costs the same at 50,000 buckets as at 500. Without parameters ListBuckets keeps Garage's
// answer (every bucket, an array); this is the paged form the console uses.
import type { Store } from '../../model/store.ts';
import type { Bucket } from '../../model/bucket.ts';
import { bucketAliases } from '../../model/bucket-ops.ts';
import { badRequest } from './http.ts';
import { localAliasesByBucket } from './local-alias.ts';

/** Buckets per page at most (?limit=). */
export const LIST_BUCKETS_LIMIT_MAX = 1000;
export const LIST_BUCKETS_LIMIT_DEFAULT = 100;
/** Table entries one page request may read at most: a search over names that seldom match stops
 *  there and answers what it found with a `nextStart` to go on from. */
export const LIST_BUCKETS_SCAN_MAX = 10_000;
/** Longest ?search= (a bucket name is at most 63 characters; an id 64). */
export const LIST_BUCKETS_SEARCH_CHARS_MAX = 64;

export interface BucketListItem {
  id: string;
  created: string;
  globalAliases: string[];
  localAliases: { accessKeyId: string; alias: string }[];
}

export interface BucketPage {
  buckets: BucketListItem[];
  /** Pass as ?start= for the next page; null when the listing is complete. */
  nextStart: string | null;
}

/** True when the request asks for the paged form. */
export function wantsPage(q: URLSearchParams): boolean {
  return q.has('limit') || q.has('start') || q.has('search');
}

// The listing walks two phases, named in the token: `a:<alias>` the alias table in name order (a
// bucket is listed at its first global alias that matches, so one with several appears once), then `b:<id>`
// the bucket table in id order for buckets that have no global alias (or, when searching, whose id
// starts with the search and that no alias match listed). The token names the last entry read.
type Phase = 'a' | 'b';

function parseStart(raw: string | null): { phase: Phase; after?: string } {
  if (raw === null || raw === '') return { phase: 'a' };
  const m = /^([ab]):(.*)$/s.exec(raw);
  if (!m) throw badRequest('query parameter "start" is not a token returned by ListBuckets ("nextStart")');
  return { phase: m[1] as Phase, after: m[2] };
}

function parseLimit(raw: string | null): number {
  if (raw === null) return LIST_BUCKETS_LIMIT_DEFAULT;
  const n = /^\d{1,7}$/.test(raw) ? Number(raw) : NaN;
  if (!(n >= 1 && n <= LIST_BUCKETS_LIMIT_MAX)) throw badRequest(`query parameter "limit" must be a whole number from 1 to ${LIST_BUCKETS_LIMIT_MAX}`);
  return n;
}

function parseSearch(raw: string | null): string {
  const s = (raw ?? '').trim().toLowerCase();
  if (s.length > LIST_BUCKETS_SEARCH_CHARS_MAX) throw badRequest(`query parameter "search" is longer than ${LIST_BUCKETS_SEARCH_CHARS_MAX} characters`);
  return s;
}

/** Reads `table` in key order after `st.after`, keeping what `take` accepts, until `st.found`
 *  holds `limit` buckets or `st.budget` entries were read. 'more' when it stopped with entries left. */
async function scan<E>(
  read: (after: string | undefined, n: number) => Promise<E[]>,
  keyOf: (e: E) => string,
  take: (e: E) => Promise<Bucket | undefined>,
  st: { after: string | undefined; budget: number; found: Bucket[]; limit: number },
): Promise<'done' | 'more'> {
  while (st.found.length < st.limit && st.budget > 0) {
    const want = Math.min(st.budget, SCAN_CHUNK);
    const chunk = await read(st.after, want);
    for (const e of chunk) {
      st.budget--;
      st.after = keyOf(e);
      const b = await take(e);
      if (b) st.found.push(b);
      if (st.found.length === st.limit) break;
    }
    if (chunk.length < want && st.found.length < st.limit) return 'done';
  }
  return (await read(st.after, 1)).length > 0 ? 'more' : 'done';
}

const SCAN_CHUNK = 1000;

/** One page of buckets. `search` matches a global alias containing it, or an id starting with it. */
export async function listBucketPage(store: Store, query: URLSearchParams): Promise<BucketPage> {
  const limit = parseLimit(query.get('limit'));
  const search = parseSearch(query.get('search'));
  const start = parseStart(query.get('start'));
  const st = { after: start.after, budget: LIST_BUCKETS_SCAN_MAX, found: [] as Bucket[], limit };
  const idSearch = /^[0-9a-f]+$/.test(search) ? search : null;
  // Phase b lists buckets without a global alias, or when searching those whose id starts with
  // the search and that no alias match already listed; a search that is not hex has no phase b.
  const hasPhaseB = search === '' || idSearch !== null;

  if (start.phase === 'a') {
    const r = await scan(
      (after, n) => store.aliases.range('alias', { after, limit: n }),
      (a) => a.name,
      async (a) => {
        const id = a.bucket.v;
        if (!id || (search !== '' && !a.name.includes(search))) return undefined;
        const b = await store.bucketById(id);
        // Listed once, at its first alias that matches (its first alias when not searching); the
        // alias table may briefly name a bucket that no longer has the alias.
        return b && bucketAliases(b).find((x) => x.includes(search)) === a.name ? b : undefined;
      },
      st,
    );
    if (r === 'more') return page(store, st.found, `a:${st.after}`);
    if (!hasPhaseB) return page(store, st.found, null);
    st.after = undefined;
    if (st.found.length === limit || st.budget === 0) return page(store, st.found, 'b:');
  }
  if (!hasPhaseB) return page(store, st.found, null);
  const r = await scan(
    (after, n) => store.buckets.range('bucket', { after: after || undefined, prefix: idSearch ?? undefined, limit: n }),
    (b) => b.id,
    async (b) => {
      if (b.deleted.v) return undefined;
      const names = bucketAliases(b);
      const listed = idSearch === null ? names.length > 0 : names.some((a) => a.includes(search));
      return listed ? undefined : b;
    },
    st,
  );
  return page(store, st.found, r === 'more' ? `b:${st.after}` : null);
}

async function page(store: Store, buckets: Bucket[], nextStart: string | null): Promise<BucketPage> {
  const local = new Map<string, { accessKeyId: string; alias: string }[]>();
  if (buckets.length > 0) {
    // Local aliases live in the key entries (the key table is replicated everywhere, read here).
    const ids = new Set(buckets.map((b) => b.id));
    for (const k of await store.keys.range('key')) {
      if (k.deleted.v || !k.localAliases) continue;
      for (const [bid, names] of localAliasesByBucket(k)) {
        if (ids.has(bid)) local.set(bid, [...(local.get(bid) ?? []), ...names.map((alias) => ({ accessKeyId: k.id, alias }))]);
      }
    }
  }
  return { buckets: buckets.map((b) => listItem(b, local.get(b.id) ?? [])), nextStart };
}

export function listItem(b: Bucket, localAliases: { accessKeyId: string; alias: string }[]): BucketListItem {
  return { id: b.id, created: new Date(b.created).toISOString(), globalAliases: bucketAliases(b), localAliases };
}
