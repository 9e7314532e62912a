// Tests for the listing core against an in-memory page source and a naive reference listing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { commonPrefixOf, compareKeys, prefixSuccessor, scan, type Listed, type PageSource } from './scan.ts';

interface E {
  key: string;
  items: string[];
}

/** A source with the table's semantics: keys in UTF-8 byte order, prefix filter, start/after. */
function memSource(all: E[], prefix: string, stats = { calls: 0 }): PageSource<E> {
  const sorted = all.filter((e) => e.key.startsWith(prefix)).sort((a, b) => compareKeys(a.key, b.key));
  const lowerBound = (k: string, strict: boolean) => {
    let lo = 0;
    let hi = sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const c = compareKeys(sorted[mid]!.key, k);
      if (c < 0 || (strict && c === 0)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  return async (q) => {
    stats.calls++;
    let i = 0;
    if (q.start !== undefined) i = Math.max(i, lowerBound(q.start, false));
    if (q.after !== undefined) i = Math.max(i, lowerBound(q.after, true));
    return sorted.slice(i, i + q.limit);
  };
}

const keyOf = (e: E) => e.key;
const expand = (e: E) => e.items;
const one = (key: string): E => ({ key, items: [key] });

/** What S3 would list, computed the obvious way. */
function reference(all: E[], prefix: string, delimiter: string): Listed<string>[] {
  const out: Listed<string>[] = [];
  const sorted = all.filter((e) => e.key.startsWith(prefix)).sort((a, b) => compareKeys(a.key, b.key));
  for (const e of sorted) {
    const cp = commonPrefixOf(e.key, prefix, delimiter);
    if (cp !== undefined) {
      const last = out.at(-1);
      if (!(last?.kind === 'prefix' && last.prefix === cp)) out.push({ kind: 'prefix', prefix: cp });
    } else for (const item of e.items) out.push({ kind: 'item', key: e.key, item });
  }
  return out;
}

/** Lists every page the way a client does with continuation markers; returns the concatenation. */
async function allPages(all: E[], prefix: string, delimiter: string, maxKeys: number, maxPage?: number) {
  const got: Listed<string>[] = [];
  let marker: string | undefined;
  let pages = 0;
  let scanned = 0;
  for (;;) {
    const r = await scan({ prefix, delimiter, maxKeys, marker, keyOf, expand, fetch: memSource(all, prefix), maxPage });
    pages++;
    scanned += r.scanned;
    got.push(...r.entries);
    if (!r.truncated) break;
    assert.equal(r.entries.length, maxKeys, 'a truncated page is full');
    const last = r.entries.at(-1)!;
    marker = last.kind === 'item' ? last.key : last.prefix;
    assert.ok(pages < 100000, 'pagination must terminate');
  }
  return { got, pages, scanned };
}

test('prefixSuccessor is above every extension and below the next sibling, in byte order', () => {
  const bytes = (s: string) => Buffer.from(s, 'utf8');
  for (const p of ['a/', 'photos/2024/', 'é/', '😀/', 'a\uffff', 'x\u{10ffff}', '\ud7ff']) {
    const s = prefixSuccessor(p)!;
    for (const ext of ['', 'z', '\uffff', '\u{10ffff}\u{10ffff}', '😀']) assert.ok(Buffer.compare(bytes(p + ext), bytes(s)) < 0, `${p}+${ext} < succ`);
  }
  assert.equal(prefixSuccessor('a/'), 'a0');
  assert.equal(prefixSuccessor('x\u{10ffff}'), 'y');
  assert.equal(prefixSuccessor('\ud7ff'), '\ue000');
  assert.equal(prefixSuccessor('\u{10ffff}'), undefined);
});

test('compareKeys agrees with UTF-8 byte order, unlike JS string comparison', () => {
  const ks = ['a', 'ab', 'b', 'é', '\uffff', '😀', '\u{10000}', 'A', '', 'a/b', 'a0', '\ue000'];
  const byBytes = [...ks].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  assert.deepEqual([...ks].sort(compareKeys), byBytes);
  assert.ok('\uffff' > '😀', 'JS order differs here, which is why compareKeys exists');
  assert.ok(compareKeys('\uffff', '😀') < 0);
});

test('10,000+ flat keys: pages concatenate to the full listing, no duplicates, no gaps', async () => {
  const all = Array.from({ length: 10_050 }, (_, i) => one(`obj-${String(i).padStart(6, '0')}`));
  for (const maxKeys of [1000, 333, 1]) {
    if (maxKeys === 1) continue; // covered on a smaller set below; 10k single-key pages add nothing
    const { got, pages } = await allPages(all, '', '', maxKeys);
    assert.deepEqual(got, reference(all, '', ''));
    assert.equal(pages, Math.ceil(10_050 / maxKeys));
  }
});

test('a delimiter rolls 20,000 keys into prefixes by seeking, not by reading every key', async () => {
  const all: E[] = [];
  for (let d = 0; d < 10; d++) for (let f = 0; f < 2000; f++) all.push(one(`dir${d}/sub${f % 7}/file${f}`));
  all.push(one('top.txt'), one('zz'));
  const stats = { calls: 0 };
  const r = await scan({ prefix: '', delimiter: '/', maxKeys: 1000, keyOf, expand, fetch: memSource(all, '', stats) });
  assert.deepEqual(
    r.entries.map((e) => (e.kind === 'item' ? e.key : e.prefix)),
    [...Array.from({ length: 10 }, (_, d) => `dir${d}/`), 'top.txt', 'zz'],
  );
  assert.equal(r.truncated, false);
  // Reading every key would be 20,002 entries; seeking reads a shrinking page per prefix.
  assert.ok(r.scanned < 2500, `scanned ${r.scanned} entries`);
  // Under a prefix, the second level rolls up the same way.
  const r2 = await scan({ prefix: 'dir3/', delimiter: '/', maxKeys: 1000, keyOf, expand, fetch: memSource(all, 'dir3/') });
  assert.deepEqual(
    r2.entries.map((e) => (e.kind === 'prefix' ? e.prefix : e.key)),
    Array.from({ length: 7 }, (_, i) => `dir3/sub${i}/`),
  );
});

test('delimiter pagination round trips over many prefixes and plain keys', async () => {
  const all: E[] = [];
  for (let i = 0; i < 3000; i++) all.push(one(`d${i % 150}/k${i}`));
  for (let i = 0; i < 500; i++) all.push(one(`f${i}`));
  for (const [maxKeys, maxPage] of [[1000, 1000], [7, 16], [1, 16], [150, 40]] as const) {
    const { got } = await allPages(all, '', '/', maxKeys, maxPage);
    assert.deepEqual(got, reference(all, '', '/'), `maxKeys ${maxKeys}`);
  }
});

test('random keys with unicode and odd characters match the reference for every page size', async () => {
  let seed = 42;
  const rnd = (n: number) => {
    seed = (Math.imul(seed, 1103515245) + 12345) & 0x7fffffff;
    return seed % n;
  };
  const alphabet = ['a', 'b', '/', '-', ' ', '+', '%', '&', 'é', '😀', '\uffff', '\u{10ffff}', '日', '\u0001', '?'];
  for (let round = 0; round < 25; round++) {
    const keys = new Set<string>();
    const n = 50 + rnd(400);
    while (keys.size < n) {
      let k = '';
      const len = 1 + rnd(8);
      for (let i = 0; i < len; i++) k += alphabet[rnd(alphabet.length)];
      keys.add(k);
    }
    // Some entries list nothing (e.g. only delete markers) and some list several items (versions).
    const all: E[] = [...keys].map((k) => ({ key: k, items: Array.from({ length: rnd(4) }, (_, i) => `${k}#${i}`) }));
    const prefix = ['', 'a', 'a/', '😀', 'é/'][rnd(5)]!;
    const delimiter = ['', '/', 'b', '😀', '\u{10ffff}'][rnd(5)]!;
    const maxKeys = 1 + rnd(40);
    const want = reference(all, prefix, delimiter);
    // Item markers resume after the key, so an entry's items must not be split across pages here.
    const flat = all.map((e) => ({ key: e.key, items: e.items.slice(0, 1) }));
    const { got } = await allPages(flat, prefix, delimiter, maxKeys, 16);
    assert.deepEqual(got, reference(flat, prefix, delimiter), `round ${round} p=${JSON.stringify(prefix)} d=${JSON.stringify(delimiter)}`);
    const whole = await scan({ prefix, delimiter, maxKeys: 100000, keyOf, expand, fetch: memSource(all, prefix), maxPage: 16 });
    assert.deepEqual(whole.entries, want);
  }
});

test('resuming inside a key (versions) splits its items exactly across pages', async () => {
  const all: E[] = [];
  for (let i = 0; i < 300; i++) all.push({ key: `k${String(i).padStart(3, '0')}`, items: Array.from({ length: 1 + (i % 5) }, (_, j) => `v${j}`) });
  all.push({ key: 'p/x', items: ['v0'] }, { key: 'p/y', items: ['v0', 'v1'] });
  const want = reference(all, '', '/');
  for (const maxKeys of [1, 3, 4, 100]) {
    const got: Listed<string>[] = [];
    let resumeIn: { key: string; drop: (xs: string[]) => string[] } | undefined;
    let marker: string | undefined;
    for (let guard = 0; ; guard++) {
      assert.ok(guard < 10000);
      const r = await scan({ prefix: '', delimiter: '/', maxKeys, marker, resumeIn, keyOf, expand, fetch: memSource(all, ''), maxPage: 16 });
      got.push(...r.entries);
      if (!r.truncated) break;
      const last = r.entries.at(-1)!;
      if (last.kind === 'item') {
        const after = last.item;
        resumeIn = { key: last.key, drop: (xs) => xs.slice(xs.indexOf(after) + 1) };
        marker = undefined;
      } else {
        marker = last.prefix;
        resumeIn = undefined;
      }
    }
    assert.deepEqual(got, want, `maxKeys ${maxKeys}`);
  }
});

test('a marker under a common prefix skips that whole prefix; maxKeys 0 lists nothing', async () => {
  const all = ['a/1', 'a/2', 'a/3', 'b', 'c/1'].map(one);
  const r = await scan({ prefix: '', delimiter: '/', maxKeys: 10, marker: 'a/2', keyOf, expand, fetch: memSource(all, '') });
  assert.deepEqual(r.entries, [{ kind: 'item', key: 'b', item: 'b' }, { kind: 'prefix', prefix: 'c/' }]);
  const r2 = await scan({ prefix: '', delimiter: '', maxKeys: 10, marker: 'a/2', keyOf, expand, fetch: memSource(all, '') });
  assert.deepEqual(r2.entries.map((e) => (e.kind === 'item' ? e.key : '')), ['a/3', 'b', 'c/1']);
  const r3 = await scan({ prefix: '', delimiter: '', maxKeys: 0, keyOf, expand, fetch: memSource(all, '') });
  assert.deepEqual(r3, { entries: [], truncated: false, scanned: 0 });
  // Exact truncation: a full last page with nothing after is not truncated.
  const r4 = await scan({ prefix: '', delimiter: '/', maxKeys: 3, keyOf, expand, fetch: memSource(all, '') });
  assert.equal(r4.truncated, false);
  const r5 = await scan({ prefix: '', delimiter: '/', maxKeys: 2, keyOf, expand, fetch: memSource(all, '') });
  assert.equal(r5.truncated, true);
});

test('a full page of plain keys reads about one entry past it, not a second page', async () => {
  // ListObjectsV2 over 3,000 keys, 1,000 per page: the entry after the 1,000th only tells
  // whether the listing is truncated; a whole second page read for it doubled each page's cost.
  const all: E[] = [];
  for (let i = 0; i < 3000; i++) all.push(one(`list/${String(i).padStart(6, '0')}`));
  const r = await scan({ prefix: 'list/', delimiter: '', maxKeys: 1000, keyOf, expand, fetch: memSource(all, 'list/') });
  assert.equal(r.entries.length, 1000);
  assert.equal(r.truncated, true);
  assert.ok(r.scanned <= 1000 + 16, `scanned ${r.scanned} entries for a page of 1000`);
  const last = await scan({ prefix: 'list/', delimiter: '', maxKeys: 1000, marker: 'list/001999', keyOf, expand, fetch: memSource(all, 'list/') });
  assert.equal(last.entries.length, 1000);
  assert.equal(last.truncated, false);
  assert.ok(last.scanned <= 1000 + 16, `scanned ${last.scanned} entries for the last page`);
});
