// Request path → deployed file, for sites published with `grenier site deploy`. The current
// deploy id comes from the local copy of the site table (replicated everywhere) through a small
// cache the table's update hook invalidates; manifests are loaded lazily on first use and kept in
// an LRU bounded by total file count. Manifests never change once written (a deploy gets a new
// id), so a switch or rollback only has to change which id a site points at: O(1) per request
// whatever the number of sites.
import type { Store } from '../model/store.ts';
import { loadManifest, siteTables, type ManifestFile } from '../model/site.ts';
import { Lru } from '../util/lru.ts';

/** What a site serves for a path: `none` = the site has no deploy (serve plain bucket keys). */
export type DeployLookup = { kind: 'none' } | { kind: 'missing' } | { kind: 'file'; file: ManifestFile };

export interface DeployResolverOptions {
  /** Most manifest entries (files) kept in memory across all sites (default 1,000,000). */
  maxFiles?: number;
  /** Most site → current-deploy answers cached (default 100,000). */
  maxSites?: number;
}

interface Loaded {
  files: Map<string, ManifestFile>;
  weight: number;
}

export class DeployResolver {
  private readonly store: Store;
  /** bucket id → current deploy id (null: no deploy). */
  private readonly current: Lru<string, string | null>;
  /** `${bucket}/${deploy}` → manifest being loaded or loaded, weighed by its file count once loaded. */
  private readonly manifests: Lru<string, Promise<Loaded>>;
  loads = 0;

  constructor(store: Store, opts: DeployResolverOptions = {}) {
    this.store = store;
    this.current = new Lru({ maxEntries: Math.max(1, opts.maxSites ?? 100_000) });
    this.manifests = new Lru({ maxWeight: Math.max(1, opts.maxFiles ?? 1_000_000) });
    // Runs once the transaction that changes the entry is committed (a drop before it would let a
    // request in between cache the old deploy again): the next request sees the new deploy.
    siteTables(store).sites.local.onUpdate((before, after) => store.db.afterCommit(() => {
      this.current.delete(after.bucket);
      const keep = new Set([after.deploys.v.current, after.deploys.v.previous]);
      for (const id of [before?.deploys.v.current, before?.deploys.v.previous]) if (id && !keep.has(id)) this.manifests.delete(`${after.bucket}/${id}`);
    }));
  }

  /** Cached manifests' total file count (for tests and metrics). */
  get cachedFiles(): number {
    return this.manifests.weight;
  }

  private currentDeploy(bucketId: string): string | null {
    const hit = this.current.get(bucketId);
    if (hit !== undefined) return hit;
    const s = siteTables(this.store).sites.local.get('site', bucketId);
    const id = s && !s.deleted.v ? s.deploys.v.current : null;
    this.current.set(bucketId, id);
    return id;
  }

  async lookup(bucketId: string, key: string): Promise<DeployLookup> {
    const id = this.currentDeploy(bucketId);
    if (!id) return { kind: 'none' };
    const m = await this.manifest(bucketId, id);
    const file = m.files.get(key);
    return file ? { kind: 'file', file } : { kind: 'missing' };
  }

  private manifest(bucketId: string, id: string): Promise<Loaded> {
    const k = `${bucketId}/${id}`;
    const hit = this.manifests.get(k);
    if (hit) return hit;
    this.loads++;
    const p = loadManifest(this.store, bucketId, id).then((m) => {
      if (!m) throw new Error(`deploy ${id} of bucket ${bucketId} has no manifest`);
      const files = new Map(Object.entries(m.files));
      return { files, weight: files.size };
    });
    this.manifests.set(k, p);
    p.then(
      // Weighed once loaded; the manifest just loaded stays even if it alone is over the bound: it is in use.
      (l) => {
        if (this.manifests.peek(k) === p) this.manifests.reweigh(k, l.weight);
      },
      () => {
        if (this.manifests.peek(k) === p) this.manifests.delete(k);
      },
    );
    return p;
  }
}
