// Block maintenance passes: resync (fetch referenced blocks this node should hold but lacks,
// hand over blocks it no longer should hold, then delete them), scrub (re-hash every local
// block, quarantine and re-fetch corrupted ones) — each reporting progress to its Worker.
import type { BlockManager } from './manager.ts';
import type { BlockReplication } from './replication.ts';
import { BlockCorrupted } from './store.ts';
import type { Worker } from '../util/worker.ts';
import { log } from '../util/log.ts';

export interface ResyncStats {
  fetched: number;
  offloaded: number;
  missing: number;
}

/** One resync pass. `tranquilityMs` pauses between blocks so foreground traffic keeps priority. */
export async function resyncPass(mgr: BlockManager, repl: BlockReplication, me: string, w?: Worker, tranquilityMs = 0): Promise<ResyncStats> {
  const st: ResyncStats = { fetched: 0, offloaded: 0, missing: 0 };
  const todo: Buffer[] = [];
  for (const h of mgr.referenced()) if (repl.holders(h).includes(me) && !mgr.store.has(h)) todo.push(h);
  let i = 0;
  for (const h of todo) {
    w?.report({ queue: todo.length - i, progress: `fetching ${++i}/${todo.length}` });
    try {
      const d = await repl.get(h);
      await mgr.putLocal(h, d);
      st.fetched++;
    } catch (e) {
      st.missing++;
      log.warn({ block: h.toString('hex').slice(0, 16), err: (e as Error).message }, 'resync: cannot fetch block');
    }
    if (tranquilityMs) await new Promise((r) => setTimeout(r, tranquilityMs));
  }
  // Hand over blocks whose partition moved away from this node (layout change), then drop them.
  const away: Buffer[] = [];
  for await (const h of mgr.store.list()) if (!repl.holders(h).includes(me)) away.push(h);
  i = 0;
  for (const h of away) {
    w?.report({ queue: away.length - i, progress: `offloading ${++i}/${away.length}` });
    const holders = repl.holders(h);
    let allHave = holders.length > 0;
    for (const n of holders) {
      try {
        const [has] = await repl.has(n, [h]);
        if (!has) {
          const d = await mgr.store.get(h);
          await repl.pushTo(n, h, d);
        }
      } catch {
        allHave = false;
      }
    }
    if (allHave) {
      await mgr.store.delete(h);
      st.offloaded++;
    }
  }
  w?.report({ queue: 0, progress: `fetched ${st.fetched}, offloaded ${st.offloaded}, missing ${st.missing}` });
  return st;
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
