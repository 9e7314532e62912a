// A micro-cache of small, complete website responses (inline objects: pages, styles, icons),
// keyed by host, URL and accepted encoding. Local writes invalidate entries at once through the
// table hooks; a short maximum age bounds staleness for writes that reach this node late or
// not at all (objects of partitions it does not hold), as nginx "microcaching" does.
import type { Store } from '../model/store.ts';
import { Lru } from '../util/lru.ts';

export interface CachedResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
  etag: string;
  bucketId: string;
  at: number;
}

export interface ResponseCacheOptions {
  maxEntries?: number;
  maxBytes?: number;
  maxAgeMs?: number;
}

export class ResponseCache {
  /** Oldest stored first (a hit does not refresh: entries age out by maxAgeMs anyway); weighed by body bytes. */
  private readonly entries: Lru<string, CachedResponse>;
  private readonly byBucket = new Map<string, Set<string>>();
  /** Keys requested once recently, not yet cached (oldest first). */
  private readonly seen: Lru<string, true>;
  readonly maxAgeMs: number;
  hits = 0;

  constructor(store: Store, opts: ResponseCacheOptions = {}) {
    const maxEntries = opts.maxEntries ?? 20_000;
    this.entries = new Lru({ maxEntries, maxWeight: opts.maxBytes ?? 64 * 1024 * 1024, onEvict: (k, e) => this.unindex(k, e) });
    this.seen = new Lru({ maxEntries });
    this.maxAgeMs = opts.maxAgeMs ?? 5_000;
    // Once the write transaction is committed (a drop before it would let a request in between
    // cache the old page again): the next request after a local change never sees the old page.
    const db = store.db;
    store.objects.local.onUpdate((_b, after) => db.afterCommit(() => this.dropBucket(after.bucket)));
    store.buckets.local.onUpdate((_b, after) => db.afterCommit(() => this.dropBucket(after.id)));
    store.sites.local.onUpdate((_b, after) => db.afterCommit(() => this.dropBucket(after.bucket)));
    store.aliases.local.onUpdate(() => db.afterCommit(() => this.clear()));
  }

  /** Only plain requests use the cache: ranges and preconditions other than If-None-Match are served fresh. */
  static keyFor(host: string, url: string, h: Record<string, string | string[] | undefined>, encoding: string): string | undefined {
    if (h.range || h['if-match'] || h['if-modified-since'] || h['if-unmodified-since'] || h['if-range']) return undefined;
    return `${encoding} ${host} ${url}`;
  }

  get enabled(): boolean {
    return this.maxAgeMs > 0;
  }

  get(key: string, now: number): CachedResponse | undefined {
    const e = this.entries.peek(key);
    if (!e) return undefined;
    if (now - e.at > this.maxAgeMs) {
      this.drop(key);
      return undefined;
    }
    this.hits++;
    return e;
  }

  /** Admits a page on its second request within the recent window, so traffic spread evenly
   *  over more sites than the cache holds does not churn it (and costs one map lookup). */
  set(key: string, e: CachedResponse): void {
    if (!this.enabled) return;
    if (!this.seen.delete(key)) {
      this.seen.set(key, true);
      return;
    }
    this.drop(key);
    let s = this.byBucket.get(e.bucketId);
    if (!s) this.byBucket.set(e.bucketId, (s = new Set()));
    s.add(key);
    this.entries.set(key, e, e.body.length);
  }

  get size(): number {
    return this.entries.size;
  }

  private drop(key: string): void {
    const e = this.entries.peek(key);
    if (!e) return;
    this.entries.delete(key);
    this.unindex(key, e);
  }

  private unindex(key: string, e: CachedResponse): void {
    const s = this.byBucket.get(e.bucketId);
    s?.delete(key);
    if (s?.size === 0) this.byBucket.delete(e.bucketId);
  }

  private dropBucket(id: string): void {
    const s = this.byBucket.get(id);
    if (!s) return;
    for (const k of [...s]) this.drop(k);
  }

  clear(): void {
    this.seen.clear();
    this.entries.clear();
    this.byBucket.clear();
  }
}
