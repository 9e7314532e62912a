// Block maintenance passes: resync (take the blocks due in the persistent resync queue, fetch
// those this node should hold but lacks, hand over and delete those it no longer should hold),
// the sweep that feeds that queue from a full scan (layout change, repair, slow periodic), and
// scrub (re-hash every local block, quarantine and re-fetch corrupted ones).
import type { BlockManager } from './manager.ts';
import type { BlockReplication } from './replication.ts';
import { BlockCorrupted } from './store.ts';
import type { Worker } from '../util/worker.ts';
import { log } from '../util/log.ts';

export interface ResyncStats {
  fetched: number;
  offloaded: number;
  /** Blocks that failed this pass (back in the queue with a back-off). */
  missing: number;
  /** Blocks still queued after the pass. */
  queued: number;
}

/** What one queued block needed. Throws when it could not be done (the caller backs it off). */
async function resyncOne(mgr: BlockManager, repl: BlockReplication, me: string, h: Buffer): Promise<'fetched' | 'offloaded' | 'ok'> {
  const holders = repl.holders(h);
  if (holders.includes(me)) {
    if (mgr.refcount(h) === 0 || mgr.store.has(h)) return 'ok';
    await mgr.putLocal(h, await repl.fetchRemote(h));
    return 'fetched';
  }
  if (!mgr.store.has(h)) return 'ok';
  // The partition moved away from this node (layout change): hand the block over, then drop it.
  if (holders.length === 0) throw new Error('no node holds this partition');
  let data: Buffer | undefined;
  // Nothing referencing it here (its objects deleted, or never referenced on this node): only a
  // holder that references it but lacks the file needs it, and this copy is left to the GC (after
  // block_gc_delay_secs). Waiting for the holders' references, as for a referenced block, would
  // wait for ever on garbage and report it as a block in error (replication debt) meanwhile.
  const garbage = mgr.refcount(h) === 0;
  for (const n of holders) {
    const [has] = await repl.has(n, [h]);
    if (has) continue;
    if (garbage && !(await repl.referenced(n, [h]))[0]) continue;
    data ??= await mgr.store.get(h);
    await repl.pushTo(n, h, data);
  }
  if (garbage) return 'ok';
  // Drop this copy only once every holder also has a reference: a holder with the file but no
  // reference yet (its block_ref entries still on their way by anti-entropy) would let its GC
  // delete the block after block_gc_delay_secs, and with this copy gone it would be lost. Until
  // then the block stays queued here with back-off (a peer without the endpoint counts as no).
  for (const n of holders) {
    const [ok] = await repl.referenced(n, [h]).catch(() => [false]);
    if (!ok) throw new Error(`hand-over waits: ${n.slice(0, 8)} has the block but no reference to it yet`);
  }
  await mgr.store.delete(h);
  return 'offloaded';
}

/** The resync worker's operator knobs (Garage's worker variables resync-tranquility and
 *  resync-worker-count), read at each batch so a SetWorkerVariable applies to the running pass. */
export interface ResyncKnobs {
  /** After each block a lane sleeps this many times the block took (0: no pause), as Garage. */
  tranquility: number;
  /** Blocks resynchronised at once. */
  workers: number;
}
export const RESYNC_TRANQUILITY_MAX = 100;
export const RESYNC_WORKERS_MAX = 16;
/** Longest pause after one block, whatever the tranquility (a stalled fetch must not park a lane). */
const TRANQUILITY_SLEEP_MS_MAX = 10_000;

/** One resync pass over the blocks due now (at most `limit`, `knobs.workers` at a time): costs what
 *  is queued, nothing when the queue is empty. `knobs.tranquility` pauses between blocks (per lane)
 *  so foreground traffic keeps priority. */
export async function resyncPass(
  mgr: BlockManager,
  repl: BlockReplication,
  me: string,
  w?: Worker,
  knobs: Partial<ResyncKnobs> = {},
  limit = 10_000,
): Promise<ResyncStats> {
  const st: ResyncStats = { fetched: 0, offloaded: 0, missing: 0, queued: 0 };
  const q = mgr.resync;
  const tried = new Set<string>();
  let seen = 0;
  while (seen < limit) {
    const batch = q.due(Math.min(100, limit - seen)).filter((h) => !tried.has(h.toString('hex')));
    if (batch.length === 0) break;
    for (const h of batch) tried.add(h.toString('hex'));
    seen += batch.length;
    w?.report({ progress: `resync: ${st.fetched} fetched, ${st.offloaded} offloaded, ${st.missing} failed` });
    let next = 0;
    const done: Buffer[] = [];
    const lane = async () => {
      while (next < batch.length) {
        const h = batch[next++]!;
        if (await one(h)) done.push(h);
      }
    };
    try {
      await Promise.all(Array.from({ length: Math.max(1, Math.min(knobs.workers ?? 4, batch.length)) }, lane));
    } finally {
      // A crash before this commit only means these are looked at again (and found in place).
      q.doneMany(done);
    }
  }
  async function one(h: Buffer): Promise<boolean> {
    let ok = false;
    const t0 = Date.now();
    try {
      const r = await resyncOne(mgr, repl, me, h);
      if (r === 'fetched') st.fetched++;
      else if (r === 'offloaded') st.offloaded++;
      ok = true;
    } catch (e) {
      st.missing++;
      const next = q.failed(h, (e as Error).message);
      log.warn({ block: h.toString('hex').slice(0, 16), err: (e as Error).message, retryInMs: next - Date.now() }, 'resync: cannot resync block; backing off');
    }
    const tq = knobs.tranquility ?? 0;
    if (tq > 0) await new Promise((r) => setTimeout(r, Math.min(TRANQUILITY_SLEEP_MS_MAX, tq * (Date.now() - t0))));
    return ok;
  }
  st.queued = q.length();
  if (seen) w?.report({ queue: st.queued, progress: `fetched ${st.fetched}, offloaded ${st.offloaded}, failed ${st.missing}` });
  return st;
}

export interface SweepStats {
  scanned: number;
  queued: number;
}

/** The full scan, run only after a layout change, on `grenier repair blocks` and as a slow
 *  periodic sweep: every referenced block this node should hold but lacks, and every stored block
 *  it should no longer hold, goes to the resync queue (which does the fetching and offloading). */
export async function sweepPass(mgr: BlockManager, repl: BlockReplication, me: string, w?: Worker): Promise<SweepStats> {
  const st: SweepStats = { scanned: 0, queued: 0 };
  let batch: Buffer[] = [];
  const add = (h: Buffer) => {
    batch.push(h);
    st.queued++;
    if (batch.length >= 1000) {
      mgr.resync.enqueueMany(batch);
      batch = [];
    }
  };
  for (const h of mgr.referenced()) {
    if (++st.scanned % 1000 === 0) w?.report({ progress: `sweep: ${st.scanned} scanned, ${st.queued} queued` });
    if (repl.holders(h).includes(me) && !mgr.store.has(h)) add(h);
  }
  for await (const h of mgr.store.list()) {
    if (++st.scanned % 1000 === 0) w?.report({ progress: `sweep: ${st.scanned} scanned, ${st.queued} queued` });
    if (!repl.holders(h).includes(me)) add(h);
  }
  mgr.resync.enqueueMany(batch);
  w?.report({ queue: 0, progress: `swept ${st.scanned} blocks, queued ${st.queued}` });
  return st;
}

/** Referenced blocks this node should hold but lacks (after a layout change: proves the new
 *  version complete here when 0). A full scan of the refcounts; no fetching. */
export function missingBlocks(mgr: BlockManager, repl: BlockReplication, me: string, limit = Infinity): number {
  let n = 0;
  for (const h of mgr.referenced()) if (repl.holders(h).includes(me) && !mgr.store.has(h) && ++n >= limit) break;
  return n;
}

export interface ScrubStats {
  checked: number;
  corrupted: number;
  repaired: number;
}

export async function scrubPass(mgr: BlockManager, repl: BlockReplication | undefined, w?: Worker, tranquilityMs = 0): Promise<ScrubStats> {
  const st: ScrubStats = { checked: 0, corrupted: 0, repaired: 0 };
  for await (const h of mgr.store.list()) {
    st.checked++;
    if (st.checked % 100 === 0) w?.report({ progress: `checked ${st.checked} blocks, ${st.corrupted} corrupted` });
    try {
      await mgr.store.get(h);
    } catch (e) {
      if (!(e instanceof BlockCorrupted)) continue;
      st.corrupted++;
      await mgr.store.quarantine(h);
      log.error({ block: h.toString('hex') }, 'scrub: corrupted block quarantined');
      if (repl) {
        try {
          await mgr.putLocal(h, await repl.get(h));
          st.repaired++;
        } catch (e2) {
          log.error({ block: h.toString('hex'), err: (e2 as Error).message }, 'scrub: no healthy replica to re-fetch from');
        }
      }
    }
    if (tranquilityMs) await new Promise((r) => setTimeout(r, tranquilityMs));
  }
  w?.report({ queue: 0, progress: `checked ${st.checked}, corrupted ${st.corrupted}, repaired ${st.repaired}` });
  return st;
}

/** Worker variable names (Garage's) → the resync knob they set. */
export const RESYNC_VARIABLES = { 'resync-tranquility': 'tranquility', 'resync-worker-count': 'workers' } as const;

/** Parses a worker variable's new value; throws a message naming the allowed range. */
export function parseResyncVariable(name: string, value: string): { knob: keyof ResyncKnobs; value: number } {
  const knob = (RESYNC_VARIABLES as Record<string, keyof ResyncKnobs>)[name];
  if (!knob) throw new Error(`unknown worker variable "${name.slice(0, 64)}" (known: ${Object.keys(RESYNC_VARIABLES).join(', ')})`);
  const [min, max] = knob === 'tranquility' ? [0, RESYNC_TRANQUILITY_MAX] : [1, RESYNC_WORKERS_MAX];
  const n = /^\d{1,6}$/.test(value.trim()) ? Number(value.trim()) : NaN;
  if (!(n >= min && n <= max)) throw new Error(`${name} must be an integer from ${min} to ${max} (got ${JSON.stringify(value.slice(0, 64))})`);
  return { knob, value: n };
}
