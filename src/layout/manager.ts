// The live layout of this node: holds the history, persists it, spreads it by gossip (push on
// change, periodic pull), and answers the placement questions tables and blocks ask.
import type { Rpc } from '../rpc/rpc.ts';
import type { NodeId } from '../rpc/transport.ts';
import { log } from '../util/log.ts';
import type { LayoutHistory, NodeRole, Preview } from './types.ts';
import {
  allNodes,
  apply,
  current,
  emptyHistory,
  markAcked,
  markSynced,
  mergeHistory,
  preview,
  readNodes,
  revert,
  stage,
  trim,
  writeSets,
} from './history.ts';
import { canon } from './history.ts';
import { checkHistory, salvageHistory } from './validate.ts';
import { BadAnswerError, Endpoint, none } from '../rpc/schema.ts';
import { BurstLog } from '../net/admission.ts';

export interface LayoutStore {
  load(): LayoutHistory | undefined;
  save(h: LayoutHistory): void;
}

export class LayoutManager {
  private h: LayoutHistory;
  private readonly rpc: Rpc;
  private readonly persist: LayoutStore;
  private readonly listeners: ((h: LayoutHistory) => void)[] = [];
  /** Per-partition caches, rebuilt on every change: the hot path only indexes arrays. */
  private readCache: NodeId[][] = [];
  private writeCache: NodeId[][][] = [];
  private allCache: NodeId[] = [];
  private readonly refusedLog = new BurstLog('layout: invalid layout from a peer refused (nothing saved)');
  /** The layout endpoints, typed once; both directions validate the whole history (checkHistory). */
  private readonly eps: { get: Endpoint<null, LayoutHistory>; push: Endpoint<LayoutHistory, boolean> };

  constructor(rpc: Rpc, persist: LayoutStore, rf: number) {
    this.rpc = rpc;
    this.persist = persist;
    this.h = this.loadValid(rf);
    this.eps = {
      get: new Endpoint<null, LayoutHistory>(rpc, 'layout/get', none, checkHistory),
      push: new Endpoint<LayoutHistory, boolean>(rpc, 'layout/push', checkHistory),
    };
    this.eps.get.serve(async () => this.h);
    // The whole history is validated before it is merged, saved or gossiped on.
    this.eps.push.serve(async (from, m) => {
      try {
        this.merge(m);
      } catch (e) {
        this.refusedLog.hit({ node: from.slice(0, 16), err: (e as Error).message });
        throw e;
      }
      return true;
    });
  }

  /** The stored history if valid; else the newest valid part of it (or an empty one), saved and
   *  said so. A bad stored layout never stops a node from starting: peers gossip back the rest. */
  private loadValid(rf: number): LayoutHistory {
    let stored: unknown;
    try {
      stored = this.persist.load();
    } catch (e) {
      log.error({ err: (e as Error).message }, 'layout: cannot read the stored layout; starting with an empty one');
    }
    if (stored === undefined || stored === null) {
      this.h = emptyHistory(rf);
      this.rebuild();
      return this.h;
    }
    const { history, problem } = salvageHistory(stored, rf);
    this.h = history;
    try {
      this.rebuild();
    } catch (e) {
      this.h = emptyHistory(rf);
      this.rebuild();
      log.error({ err: (e as Error).message }, 'layout: stored layout unusable; starting with an empty one');
      return this.h;
    }
    if (problem) {
      log.error(
        { problem, kept: this.h.versions.map((v) => v.version) },
        'layout: the stored layout is invalid; starting with its last valid versions (peers will send the rest)',
      );
      try {
        this.persist.save(this.h);
      } catch (e) {
        log.error({ err: (e as Error).message }, 'layout: cannot save the repaired layout');
      }
    }
    return this.h;
  }

  history(): LayoutHistory {
    return this.h;
  }

  onChange(cb: (h: LayoutHistory) => void): void {
    this.listeners.push(cb);
  }

  /** True once some version gives this cluster storage nodes (before that, everything is local). */
  hasStorage(): boolean {
    return Object.values(current(this.h).roles).some((r) => r.capacity !== null);
  }

  zoneOf(id: NodeId): string | undefined {
    for (let i = this.h.versions.length - 1; i >= 0; i--) {
      const r = this.h.versions[i]!.roles[id];
      if (r) return r.zone;
    }
    return undefined;
  }

  private rebuild(): void {
    const me = this.rpc.id;
    if (!this.hasStorage() && this.h.versions.length === 1) {
      // No layout yet: this node alone holds everything (single-node dev mode, or before setup).
      this.readCache = Array.from({ length: 256 }, () => [me]);
      this.writeCache = Array.from({ length: 256 }, () => [[me]]);
      this.allCache = [me];
      return;
    }
    this.readCache = Array.from({ length: 256 }, (_, p) => readNodes(this.h, p));
    this.writeCache = Array.from({ length: 256 }, (_, p) => writeSets(this.h, p));
    const all = new Set(allNodes(this.h));
    this.allCache = [...all];
  }

  /** Merges a history (from gossip or a local change); persists and notifies if it changed.
   *  A result that is not a valid history is refused (InvalidLayout) and nothing is saved. */
  merge(other: LayoutHistory): boolean {
    const next = trim(mergeHistory(this.h, other));
    if (canon(next) === canon(this.h)) return false;
    checkHistory(next);
    const before = current(this.h).version;
    this.h = next;
    // Seeing a version means acknowledging it: writes from here will use it.
    const v = current(this.h).version;
    if ((this.h.ackMap[this.rpc.id] ?? -1) < v) this.h = markAcked(this.h, this.rpc.id, v);
    this.persist.save(this.h);
    this.rebuild();
    if (v !== before) log.info({ version: v }, 'layout: new version');
    for (const l of this.listeners) l(this.h);
    this.push();
    return true;
  }

  /** Pushes our history to every connected peer (best effort). */
  push(): void {
    for (const p of this.rpc.transport.peers()) {
      if (!p.connected) continue;
      this.eps.push.call(p.id, this.h, { timeoutMs: 10_000, priority: 'high' }).catch(() => {});
    }
  }

  /** Pulls and merges every connected peer's history. */
  async pull(): Promise<void> {
    await Promise.all(
      this.rpc.transport
        .peers()
        .filter((p) => p.connected)
        .map(async (p) => {
          let got: LayoutHistory;
          try {
            got = await this.eps.get.call(p.id, null, { timeoutMs: 10_000 });
          } catch (e) {
            // A history that fails checkHistory is refused (logged); unreachable peers are retried on the next round.
            if (e instanceof BadAnswerError) this.refusedLog.hit({ node: p.id.slice(0, 16), err: e.message });
            return;
          }
          try {
            this.merge(got);
          } catch (e) {
            this.refusedLog.hit({ node: p.id.slice(0, 16), err: (e as Error).message });
          }
        }),
    );
  }

  stageRole(node: NodeId, role: NodeRole | null, now: number): void {
    this.merge(stage(this.h, node, role, now));
  }

  revert(): void {
    this.merge(revert(this.h));
  }

  preview(bytesPerReplica?: number): Preview {
    return preview(this.h, { bytesPerReplica });
  }

  apply(version: number, now: number): void {
    this.merge(apply(this.h, version, now));
  }

  markSynced(version: number): void {
    this.merge(markSynced(this.h, this.rpc.id, version));
  }

  // Placement (table/replication.ts and block/replication.ts interfaces).
  readNodes(p: number): NodeId[] {
    return this.readCache[p]!;
  }
  writeSets(p: number): NodeId[][] {
    return this.writeCache[p]!;
  }
  allNodes(): NodeId[] {
    return this.allCache;
  }
}
