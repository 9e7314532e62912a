// A least-recently-used map bounded by entry count and/or total weight (e.g. bytes): O(1) get,
// set and delete through a Map of nodes on a doubly linked list, so a hit moves no Map entry
// (Map delete + re-insert leaves holes that make V8 rehash the table as it grows).

export interface LruOptions<K, V> {
  /** Most entries kept (default unbounded). */
  maxEntries?: number;
  /** Most total weight kept, the sum of the weights given to set() (default unbounded). */
  maxWeight?: number;
  /** Called for each entry the bounds push out (not for delete(), clear() or a replaced value):
   *  where a reverse index is kept in step. */
  onEvict?: (key: K, value: V) => void;
}

interface Node<K, V> {
  key: K;
  value: V;
  weight: number;
  /** Towards the least recently used end. */
  older: Node<K, V> | undefined;
  /** Towards the most recently used end. */
  newer: Node<K, V> | undefined;
}

export class Lru<K, V> {
  readonly maxEntries: number;
  readonly maxWeight: number;
  private readonly onEvict: ((key: K, value: V) => void) | undefined;
  private readonly nodes = new Map<K, Node<K, V>>();
  private oldest: Node<K, V> | undefined;
  private newest: Node<K, V> | undefined;
  private total = 0;

  constructor(opts: LruOptions<K, V> = {}) {
    this.maxEntries = Math.max(1, opts.maxEntries ?? Infinity);
    this.maxWeight = Math.max(0, opts.maxWeight ?? Infinity);
    this.onEvict = opts.onEvict;
  }

  get size(): number {
    return this.nodes.size;
  }

  /** Sum of the weights of the entries kept. */
  get weight(): number {
    return this.total;
  }

  has(key: K): boolean {
    return this.nodes.has(key);
  }

  /** The value, made the most recently used. */
  get(key: K): V | undefined {
    const n = this.nodes.get(key);
    if (!n) return undefined;
    this.touch(n);
    return n.value;
  }

  /** The value, without changing its recency. */
  peek(key: K): V | undefined {
    return this.nodes.get(key)?.value;
  }

  /** Stores the value as the most recently used, then evicts the least recently used entries
   *  while a bound is exceeded. The entry just set is never evicted, even alone over maxWeight:
   *  the caller is using it. */
  set(key: K, value: V, weight = 0): void {
    let n = this.nodes.get(key);
    if (n) {
      this.total += weight - n.weight;
      n.value = value;
      n.weight = weight;
      this.touch(n);
    } else {
      n = { key, value, weight, older: this.newest, newer: undefined };
      if (this.newest) this.newest.newer = n;
      else this.oldest = n;
      this.newest = n;
      this.nodes.set(key, n);
      this.total += weight;
    }
    this.trim(n);
  }

  /** Changes an entry's weight without changing its recency (a value whose size is known later),
   *  then evicts others while over a bound. False when the key is absent. */
  reweigh(key: K, weight: number): boolean {
    const n = this.nodes.get(key);
    if (!n) return false;
    this.total += weight - n.weight;
    n.weight = weight;
    this.trim(n);
    return true;
  }

  /** Removes an entry (no onEvict); true when it was there. */
  delete(key: K): boolean {
    const n = this.nodes.get(key);
    if (!n) return false;
    this.unlink(n);
    return true;
  }

  clear(): void {
    this.nodes.clear();
    this.oldest = this.newest = undefined;
    this.total = 0;
  }

  /** Keys from the least to the most recently used. */
  *keys(): Generator<K> {
    for (let n = this.oldest; n; n = n.newer) yield n.key;
  }

  private touch(n: Node<K, V>): void {
    if (n === this.newest) return;
    // Unhook (n is not the newest, so n.newer is set)…
    n.newer!.older = n.older;
    if (n.older) n.older.newer = n.newer;
    else this.oldest = n.newer;
    // …and append.
    n.older = this.newest;
    n.newer = undefined;
    this.newest!.newer = n;
    this.newest = n;
  }

  private unlink(n: Node<K, V>): void {
    if (n.older) n.older.newer = n.newer;
    else this.oldest = n.newer;
    if (n.newer) n.newer.older = n.older;
    else this.newest = n.older;
    n.older = n.newer = undefined;
    this.nodes.delete(n.key);
    this.total -= n.weight;
  }

  /** Evicts from the least recently used end while over a bound, sparing `keep`. */
  private trim(keep: Node<K, V>): void {
    let n = this.oldest;
    while (n && (this.nodes.size > this.maxEntries || this.total > this.maxWeight)) {
      const next = n.newer;
      if (n !== keep) {
        this.unlink(n);
        this.onEvict?.(n.key, n.value);
      }
      n = next;
    }
  }
}
