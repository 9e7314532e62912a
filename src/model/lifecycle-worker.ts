// The lifecycle worker: applies each bucket's lifecycle rules (model/lifecycle.ts) once per
// interval, a bounded number of object entries per bucket per pass, resuming from a cursor kept in
// the metadata DB so a restart continues where it stopped; one node per bucket does the work.
import type { Config } from '../config/config.ts';
import { Worker } from '../util/worker.ts';
import { log } from '../util/log.ts';
import type { Bucket } from './bucket.ts';
import type { ObjectEntry, ObjectVersion } from './object.ts';
import type { Store } from './store.ts';
import { DAY_MS, dueActions, type LifecycleConfig } from './lifecycle.ts';
import { abortUpload } from './uploads.ts';

/** Object entries read per bucket per pass (each with all its versions); the rest waits for the next pass. */
export const LIFECYCLE_ENTRIES_PER_BUCKET_PASS = 10_000;
const PAGE = 1000;

export interface LifecycleOptions {
  /** How often each bucket is scanned in full (ms). */
  intervalMs: number;
  /** The length of a lifecycle day (ms): a real day, or GRENIER_LIFECYCLE_DAY_SECS in tests. */
  dayMs: number;
  entriesPerPass?: number;
  /** Whether this node applies the rules of the bucket (default: yes). */
  responsible?: (bucketId: string) => boolean;
}

/** Per bucket, in the `lifecycle_progress` tree: where the current scan stands. */
interface Progress {
  /** The last key handled by an unfinished scan (absent: no scan under way). */
  after?: string;
  /** When the last full scan finished, and which configuration (register timestamp) it applied. */
  doneAt?: number;
  configT?: number;
}

export interface PassStats {
  buckets: number;
  scanned: number;
  expired: number;
  removed: number;
  aborted: number;
  /** Buckets whose scan stopped at the bound and resumes next pass. */
  resuming: number;
}

/** GRENIER_LIFECYCLE_DAY_SECS (tests only, like Ceph's rgw_lc_debug_interval): a shorter day. */
export function lifecycleDayMs(env: NodeJS.ProcessEnv = process.env): number {
  const s = env.GRENIER_LIFECYCLE_DAY_SECS;
  if (s === undefined || s === '') return DAY_MS;
  const n = Number(s);
  if (!Number.isInteger(n) || n < 1 || n > 86400) throw new Error(`GRENIER_LIFECYCLE_DAY_SECS must be an integer from 1 to 86400, got "${s}"`);
  return n * 1000;
}

function progressTree(store: Store) {
  return store.db.tree<Progress>('lifecycle_progress');
}

/** A delete marker on top of `o` (a "null" one unless versioning is Enabled): DeleteObject's form,
 *  its timestamp after every version the entry holds so it is the current version. */
async function addDeleteMarker(store: Store, b: Bucket, o: ObjectEntry): Promise<void> {
  let ts = store.ts();
  for (const x of o.versions) if (x.ts >= ts) ts = x.ts + 1;
  store.observeTs(ts);
  const marker: ObjectVersion = { uuid: store.newUuid(), ts, state: 'complete', nullVersion: b.versioning.v !== 'Enabled', deleteMarker: true, multipart: false };
  await store.objects.insert({ bucket: b.id, key: o.key, versions: [marker] });
}

/** Applies what the rules ask of one entry, re-read first so a version written since the scan
 *  read it is judged on its own (a new PUT is not expired by its predecessor's age). */
async function applyEntry(store: Store, b: Bucket, cfg: LifecycleConfig, scanned: ObjectEntry, o: LifecycleOptions, st: PassStats): Promise<void> {
  const now = store.clock.now();
  const versioned = b.versioning.v === 'Enabled';
  if (dueActions(cfg.rules, scanned, now, o.dayMs, versioned).length === 0) return;
  const fresh = await store.objects.get(b.id, scanned.key);
  if (!fresh) return;
  for (const a of dueActions(cfg.rules, fresh, now, o.dayMs, versioned)) {
    if (a.kind === 'abort') {
      if (await abortUpload(store, b.id, fresh.key, a.uploadId)) st.aborted++;
    } else if (a.kind === 'remove') {
      // As DeleteObject with a versionId: 'aborted' removes it for good and releases its data.
      await store.objects.insert({ bucket: b.id, key: fresh.key, versions: [{ ...a.version, state: 'aborted' }] });
      st.removed++;
    } else {
      await addDeleteMarker(store, b, fresh);
      st.expired++;
    }
  }
}

/** One pass over every bucket with enabled rules that this node is responsible for. */
export async function lifecyclePass(store: Store, o: LifecycleOptions, report: (s: PassStats, bucket?: string) => void = () => {}): Promise<PassStats> {
  const st: PassStats = { buckets: 0, scanned: 0, expired: 0, removed: 0, aborted: 0, resuming: 0 };
  const tree = progressTree(store);
  const budget = o.entriesPerPass ?? LIFECYCLE_ENTRIES_PER_BUCKET_PASS;
  for (const b of await store.liveBuckets()) {
    const key = Buffer.from(b.id);
    const cfg = b.lifecycle?.v;
    if (!cfg || !cfg.rules.some((r) => r.enabled) || !(o.responsible?.(b.id) ?? true)) {
      if (tree.get(key)) store.db.transaction(() => tree.remove(key));
      continue;
    }
    const p = tree.get(key) ?? {};
    const now = store.clock.now();
    const sameConfig = p.configT === b.lifecycle!.t;
    if (p.after === undefined && sameConfig && p.doneAt !== undefined && now - p.doneAt < o.intervalMs) continue;
    st.buckets++;
    // A changed configuration restarts the scan from the first key.
    let after = sameConfig ? p.after : undefined;
    let left = budget;
    let finished = false;
    while (left > 0) {
      const page = await store.objects.range(b.id, { limit: Math.min(PAGE, left), ...(after === undefined ? {} : { after }) });
      for (const e of page) {
        try {
          await applyEntry(store, b, cfg, e, o, st);
        } catch (err) {
          // One entry that cannot be handled now (a replica down) must not stop the bucket's scan.
          log.warn({ bucket: b.id, key: e.key.slice(0, 200), err: (err as Error).message }, 'lifecycle: entry skipped');
        }
        st.scanned++;
      }
      left -= page.length;
      if (page.length > 0) after = page.at(-1)!.key;
      report(st, b.id);
      if (page.length < Math.min(PAGE, left + page.length)) {
        finished = true;
        break;
      }
    }
    const next: Progress = finished ? { doneAt: store.clock.now(), configT: b.lifecycle!.t } : { ...(after === undefined ? {} : { after }), configT: b.lifecycle!.t, ...(p.doneAt === undefined ? {} : { doneAt: p.doneAt }) };
    if (!finished) st.resuming++;
    store.db.transaction(() => tree.put(key, next));
  }
  return st;
}

interface ClusterView {
  rpc: { id: string; isUp(id: string): boolean };
  layout: { readNodes(partition: number): string[] };
}

/** The bucket's lifecycle node: the first (by id) of its partition's nodes that is up. Another node
 *  taking over while the first is down may repeat an action; removes and aborts are idempotent,
 *  and a second delete marker is caught by the re-read (the current version is then a marker). */
export function bucketLeader(store: Store, c: ClusterView): (bucketId: string) => boolean {
  return (bucketId) => {
    const nodes = c.layout.readNodes(store.objects.local.partitionOf(bucketId));
    const up = nodes.filter((n) => n === c.rpc.id || c.rpc.isUp(n)).sort();
    return up[0] === c.rpc.id;
  };
}

function summary(s: PassStats): string {
  return `${s.buckets} buckets, ${s.scanned} entries scanned: ${s.expired} expired, ${s.removed} versions removed, ${s.aborted} uploads aborted` + (s.resuming ? `; ${s.resuming} buckets resume next pass` : '');
}

/** The `lifecycle` worker of a node (listed by `worker list`). It wakes often (a tenth of the
 *  interval, at most every 10 minutes) so a bounded scan resumes soon; each bucket is scanned in
 *  full once per interval, or at once after its configuration changed. */
export function lifecycleWorker(store: Store, config: Config, cluster?: ClusterView): Worker {
  const dayMs = lifecycleDayMs();
  const intervalMs = dayMs === DAY_MS ? config.lifecycle_interval_secs * 1000 : dayMs;
  const tickMs = Math.max(1000, Math.min(intervalMs / 10, 600_000));
  const o: LifecycleOptions = { intervalMs, dayMs, ...(cluster ? { responsible: bucketLeader(store, cluster) } : {}) };
  return new Worker(
    'lifecycle',
    tickMs,
    store.clock,
    async (w) => {
      const st = await lifecyclePass(store, o, (s, bucket) => w.report({ progress: `bucket ${bucket?.slice(0, 16)}: ${summary(s)}` }));
      return { queue: st.resuming, progress: summary(st) };
    },
    { firstDelayMs: Math.min(tickMs, 60_000) },
  );
}
