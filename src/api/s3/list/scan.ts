// The listing core shared by ListObjects(V2) and ListObjectVersions: walks a key-ordered page
// source, rolls keys up into common prefixes and seeks past each rolled-up prefix instead of
// reading every key under it, so a listing costs about what it returns, whatever the bucket holds.

/** One page of entries whose keys start with the listing prefix, in UTF-8 byte order of keys.
 *  `start` is inclusive, `after` exclusive; at most `limit` entries. */
export type PageSource<E> = (q: { start?: string; after?: string; limit: number }) => Promise<E[]>;

export type Listed<T> = { kind: 'item'; key: string; item: T } | { kind: 'prefix'; prefix: string };

export interface ScanParams<E, T> {
  prefix: string;
  /** '' means no delimiter. */
  delimiter: string;
  maxKeys: number;
  /** Resume strictly after this key; if it lies under a common prefix, after that whole prefix. */
  marker?: string;
  /** Resume inside one key's items (versions): scanning starts at `key` inclusive and its items
   *  go through `drop` first. Ignored when `marker` is given. */
  resumeIn?: { key: string; drop: (items: T[]) => T[] };
  keyOf: (e: E) => string;
  /** The listable items of an entry, in output order (none: the entry is skipped). */
  expand: (e: E) => T[];
  fetch: PageSource<E>;
  /** Largest page asked of the source (tests use small values to exercise page boundaries). */
  maxPage?: number;
}

export interface ScanResult<T> {
  /** Items and common prefixes interleaved in key order. */
  entries: Listed<T>[];
  /** True only when something listable exists after the last entry (exact, as S3). */
  truncated: boolean;
  /** How many entries the source returned in total (for tests and metrics). */
  scanned: number;
}

/** Smallest string greater, in UTF-8 byte order, than every string starting with `p`
 *  (undefined if none exists). UTF-8 preserves code point order, so bumping the last code point
 *  is enough; surrogates are not characters, hence the jump over them. */
export function prefixSuccessor(p: string): string | undefined {
  const cps = Array.from(p);
  while (cps.length > 0) {
    const c = cps.pop()!.codePointAt(0)!;
    if (c >= 0x10ffff) continue;
    let n = c + 1;
    if (n >= 0xd800 && n <= 0xdfff) n = 0xe000;
    return cps.join('') + String.fromCodePoint(n);
  }
  return undefined;
}

/** Compares strings in UTF-8 byte order (= code point order), which is the order S3 lists in
 *  and the order the table stores keys; JS `<` compares UTF-16 units and differs above U+FFFF. */
export function compareKeys(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    // Surrogates (astral code points) sort after every BMP code point in code point order.
    const sx = x >= 0xd800 && x <= 0xdfff;
    const sy = y >= 0xd800 && y <= 0xdfff;
    if (sx !== sy) return sx ? 1 : -1;
    return x - y;
  }
  return a.length - b.length;
}

/** The common prefix `key` rolls up into, if any. */
export function commonPrefixOf(key: string, prefix: string, delimiter: string): string | undefined {
  if (delimiter === '' || !key.startsWith(prefix)) return undefined;
  const i = key.indexOf(delimiter, prefix.length);
  return i < 0 ? undefined : key.slice(0, i + delimiter.length);
}

type Cursor = { start?: string; after?: string };

/** Where to start reading after `marker`: a marker under a common prefix resumes past the whole
 *  prefix, so pages never repeat a common prefix already returned. */
export function resumeCursor(prefix: string, delimiter: string, marker: string): Cursor | undefined {
  const cp = commonPrefixOf(marker, prefix, delimiter);
  return cp === undefined ? { after: marker } : seekPast(cp, prefix);
}

/** Cursor just past every key under `group`, or undefined when that leaves the listing prefix. */
function seekPast(group: string, prefix: string): Cursor | undefined {
  const s = prefixSuccessor(group);
  return s === undefined || !s.startsWith(prefix) ? undefined : { start: s };
}

const MIN_PAGE = 16;

export async function scan<E, T>(p: ScanParams<E, T>): Promise<ScanResult<T>> {
  const entries: Listed<T>[] = [];
  let scanned = 0;
  if (p.maxKeys <= 0) return { entries, truncated: false, scanned };
  const maxPage = p.maxPage ?? 1000;
  let cursor: Cursor | undefined;
  let resumeIn = p.resumeIn;
  if (p.marker !== undefined) {
    cursor = resumeCursor(p.prefix, p.delimiter, p.marker);
    resumeIn = undefined;
  } else if (resumeIn !== undefined) {
    const cp = commonPrefixOf(resumeIn.key, p.prefix, p.delimiter);
    if (cp !== undefined) {
      cursor = resumeCursor(p.prefix, p.delimiter, resumeIn.key);
      resumeIn = undefined;
    } else cursor = { start: resumeIn.key };
  } else cursor = {};
  // Adaptive page size: shrinks when a common prefix overflows a page (the rest of the page was
  // wasted reading keys under it), grows back while pages are consumed in full.
  let pageSize = Math.max(MIN_PAGE, Math.min(maxPage, p.maxKeys + 1));
  let group: string | undefined;
  while (cursor) {
    // Never more than one entry past what the answer still needs (the extra one tells whether it
    // is truncated): after a full page, a whole second page read for that one entry doubled the
    // cost of each 1000-key ListObjectsV2 page. Entries that list nothing (rolled up, hidden
    // versions) are what pageSize adapts to; MIN_PAGE bounds the number of reads they cost.
    const limit = Math.max(MIN_PAGE, Math.min(pageSize, p.maxKeys - entries.length + 1));
    const page = await p.fetch({ ...cursor, limit });
    scanned += page.length;
    for (const e of page) {
      const key = p.keyOf(e);
      if (!key.startsWith(p.prefix)) continue;
      if (group !== undefined && key.startsWith(group)) continue;
      const cp = commonPrefixOf(key, p.prefix, p.delimiter);
      if (cp !== undefined) {
        if (entries.length >= p.maxKeys) return { entries, truncated: true, scanned };
        entries.push({ kind: 'prefix', prefix: cp });
        group = cp;
        continue;
      }
      let items = p.expand(e);
      if (resumeIn !== undefined && key === resumeIn.key) items = resumeIn.drop(items);
      for (const item of items) {
        if (entries.length >= p.maxKeys) return { entries, truncated: true, scanned };
        entries.push({ kind: 'item', key, item });
      }
    }
    if (page.length < limit) break;
    const last = p.keyOf(page[page.length - 1]!);
    if (group !== undefined && last.startsWith(group)) {
      cursor = seekPast(group, p.prefix);
      pageSize = Math.max(MIN_PAGE, pageSize >> 1);
    } else {
      cursor = { after: last };
      pageSize = Math.min(maxPage, pageSize * 2);
    }
  }
  return { entries, truncated: false, scanned };
}
