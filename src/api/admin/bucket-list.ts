// ListBuckets by pages (?limit=&start=&search=): a range scan from a continuation token, so a
// page costs the same at 50,000 buckets as at 500. Without parameters ListBuckets keeps Garage's
// answer (every bucket, an array); this is the paged form the console uses.
import type { Store } from '../../model/store.ts';
import type { Bucket } from '../../model/bucket.ts';
import { bucketAliases } from '../../model/bucket-ops.ts';
import { badRequest } from './http.ts';
import { parseLimit, parseSearch, parseStart } from './paging.ts';
import { localAliasesByBucket } from './local-alias.ts';

/** Buckets per page at most (?limit=). */
export const LIST_BUCKETS_LIMIT_MAX = 1000;
export const LIST_BUCKETS_LIMIT_DEFAULT = 100;
/** Table entries one page request may read at most (2000 alias entries are about 35 ms here, bucket
 *  entries 120 ms): a search over names that seldom match stops there and answers what it found
 *  with a `nextStart` to go on from, so no request holds the node for long. */
export const LIST_BUCKETS_SCAN_MAX = 2000;
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

// The listing walks phases in order, the token naming the phase and the last entry it read:
//  p:<alias>  when searching, the aliases that START with the search (a prefix range: the common
//             case, typing the start of a name, is found at once whatever the total);
//  a:<alias>  the alias table in name order — every alias, or when searching those containing the
//             search but not starting with it (a scan within the budget);
//  b:<id>     the bucket table in id order: buckets without a global alias, or when the search is
//             hex, ids starting with it whose aliases did not match.
// A bucket is listed once: at its first alias matching the earliest phase that takes it.
type Phase = 'p' | 'a' | 'b';

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

/** One page of buckets. `search` matches a global alias containing it, or an id starting with it.
 *  `budget`: table entries read at most (smaller in tests, to stop pages on it). */
export async function listBucketPage(store: Store, query: URLSearchParams, budget = LIST_BUCKETS_SCAN_MAX): Promise<BucketPage> {
  const limit = parseLimit(query.get('limit'), LIST_BUCKETS_LIMIT_DEFAULT, LIST_BUCKETS_LIMIT_MAX);
  const search = parseSearch(query.get('search'), LIST_BUCKETS_SEARCH_CHARS_MAX);
  const start = parseStart(query.get('start'), search, ['p', 'a', 'b'] as const, 'ListBuckets');
  const st = { after: start.after, budget, found: [] as Bucket[], limit };
  const idSearch = /^[0-9a-f]+$/.test(search) ? search : null;
  const phases: Phase[] = search === '' ? ['a', 'b'] : idSearch !== null ? ['p', 'a', 'b'] : ['p', 'a'];
  const prefixed = (b: Bucket) => bucketAliases(b).some((x) => x.startsWith(search));
  const scanners: Record<Phase, () => Promise<'done' | 'more'>> = {
    p: () =>
      scan(
        (after, n) => store.aliases.range('alias', { prefix: search, after, limit: n }),
        (a) => a.name,
        async (a) => {
          const b = a.bucket.v ? await store.bucketById(a.bucket.v) : undefined;
          // The alias table may briefly name a bucket that no longer has the alias.
          return b && bucketAliases(b).find((x) => x.startsWith(search)) === a.name ? b : undefined;
        },
        st,
      ),
    a: () =>
      scan(
        (after, n) => store.aliases.range('alias', { after, limit: n }),
        (a) => a.name,
        async (a) => {
          if (!a.bucket.v || !a.name.includes(search) || (search !== '' && a.name.startsWith(search))) return undefined;
          const b = await store.bucketById(a.bucket.v);
          return b && (search === '' || !prefixed(b)) && bucketAliases(b).find((x) => x.includes(search)) === a.name ? b : undefined;
        },
        st,
      ),
    b: () =>
      scan(
        (after, n) => store.buckets.range('bucket', { after, prefix: idSearch ?? undefined, limit: n }),
        (b) => b.id,
        async (b) => {
          if (b.deleted.v) return undefined;
          const names = bucketAliases(b);
          const listed = idSearch === null ? names.length > 0 : names.some((x) => x.includes(search));
          return listed ? undefined : b;
        },
        st,
      ),
  };
  if (!phases.includes(start.phase)) throw badRequest('query parameter "start" is not a token for this search');
  for (let i = phases.indexOf(start.phase); i < phases.length; i++) {
    const phase = phases[i]!;
    if (i > phases.indexOf(start.phase)) st.after = undefined;
    const r = await scanners[phase]();
    if (r === 'more') return page(store, st.found, `${phase}:${st.after}`);
    // This phase is done; if the page is full (or the budget spent) the next phase starts next time.
    const following = phases[i + 1];
    if (following && (st.found.length === limit || st.budget === 0)) return page(store, st.found, `${following}:`);
  }
  return page(store, st.found, null);
}

/** Key entries one page reads at most for local aliases. */
const PAGE_KEY_READS_MAX = 10_000;

async function page(store: Store, buckets: Bucket[], nextStart: string | null): Promise<BucketPage> {
  // Local aliases live in the key entries. Reading every key would make a page cost the number of
  // keys (400 ms at 10,000 keys, measured), so a page reads the keys the bucket names in its
  // permissions (a key gets one when it creates the bucket or is allowed on it): a local alias of
  // a key with no permission entry on the bucket is listed by the unpaged ListBuckets only.
  const keys = new Map<string, Awaited<ReturnType<Store['key']>>>();
  const out: BucketListItem[] = [];
  for (const b of buckets) {
    const local: { accessKeyId: string; alias: string }[] = [];
    for (const id of Object.keys(b.keys).sort()) {
      if (!keys.has(id)) {
        if (keys.size >= PAGE_KEY_READS_MAX) break;
        keys.set(id, await store.key(id));
      }
      const k = keys.get(id);
      if (k?.localAliases) for (const alias of localAliasesByBucket(k).get(b.id) ?? []) local.push({ accessKeyId: id, alias });
    }
    out.push(listItem(b, local));
  }
  return { buckets: out, nextStart };
}

export function listItem(b: Bucket, localAliases: { accessKeyId: string; alias: string }[]): BucketListItem {
  return { id: b.id, created: new Date(b.created).toISOString(), globalAliases: bucketAliases(b), localAliases };
}
