// Cluster composition: the peer transport, RPC, the live layout and the background workers
// (propagation queue, layout gossip, anti-entropy, block resync, scrub, GC) of one node.
import { statfs } from 'node:fs/promises';
import { hostname } from 'node:os';
import type { Config } from './config/config.ts';
import type { Store } from './model/store.ts';
import { NetApp } from './net/index.ts';
import { Rpc } from './rpc/rpc.ts';
import { LayoutManager } from './layout/manager.ts';
import { ackMin, current } from './layout/history.ts';
import type { LayoutHistory } from './layout/types.ts';
import { quorumsFor } from './table/replication.ts';
import { gcTombstones, syncTable } from './table/sync.ts';
import type { BlockReplication } from './block/replication.ts';
import { parseResyncVariable, RESYNC_VARIABLES, resyncPass, scrubPass, sweepPass, type ResyncKnobs } from './block/workers.ts';
import type { NodeId } from './rpc/transport.ts';
import { Worker, Workers } from './util/worker.ts';
import { sweepExpiredUploads } from './model/uploads.ts';
import { systemClock } from './util/time.ts';
import { log } from './util/log.ts';
import { gaugeFrom } from './util/metrics.ts';

export type { ClusterNodeInfo as NodeInfo } from './api/admin/cluster-handle.ts';
import { nodeEndpoints, type ClusterNodeInfo as NodeInfo, type ReplicationDebt } from './api/admin/cluster-handle.ts';
import { processUsage } from './util/process-usage.ts';

async function disk(path: string): Promise<{ avail: number; total: number } | undefined> {
  try {
    const s = await statfs(path);
    return { avail: s.bavail * s.bsize, total: s.blocks * s.bsize };
  } catch {
    return undefined;
  }
}

/** One RPC message must hold a whole block (block/put accepts up to 2 × block_size) plus its envelope, whatever
 *  rpc_message_bytes_max says: a smaller limit would make every block transfer fail. */
export function rpcMessageMax(config: Config): number {
  return Math.max(config.limits.rpc_message_bytes_max, 2 * config.block_size + 64 * 1024);
}


/** How long the first anti-entropy pass waits for the layout's nodes to connect. */
const FIRST_SYNC_WAIT_MS = 30_000;
/** Back-off of a layout-sync pass that could have proved the new version but failed (errors,
 *  blocks not fetched yet): 1 s doubling, up to anti_entropy_interval_secs (the worker's period),
 *  so a version that cannot be proved (a block lost everywhere) costs no more than before. */
const LAYOUT_SYNC_RETRY_MIN_MS = 1000;

export class Cluster {
  readonly net: NetApp;
  readonly rpc: Rpc;
  readonly layout: LayoutManager;
  readonly blockRepl: BlockReplication;
  readonly workers = new Workers();
  /** The resync worker's knobs (worker variables), kept in block_meta across restarts. */
  readonly resyncKnobs: ResyncKnobs = { tranquility: 0, workers: 4 };
  private readonly store: Store;
  private readonly config: Config;
  private readonly version: string;
  /** Failed attempts at proving layout `version` synced here (for the back-off). */
  private layoutSyncFailures = { version: -1, n: 0 };
  /** The layout version whose block sweep has run here (once per version). */
  private sweptForVersion = -1;

  constructor(config: Config, store: Store, nodeKeyPem: string, version: string) {
    this.config = config;
    this.store = store;
    this.version = version;
    this.net = new NetApp({
      nodeKeyPem,
      rpcSecret: config.rpc_secret,
      bindAddr: config.rpc_bind_addr,
      publicAddr: config.rpc_public_addr,
      bootstrapPeers: config.bootstrap_peers,
      pingIntervalMs: config.rpc_ping_interval_secs * 1000,
      gossipIntervalMs: Math.max(1000, config.rpc_ping_interval_secs * 3000),
      defaultTimeoutMs: config.rpc_timeout_secs * 1000,
      handshakeTimeoutMs: config.limits.rpc_handshake_timeout_secs * 1000,
      pendingHandshakesMax: config.limits.rpc_pending_handshakes_max,
      connectionsPerIpMax: config.limits.rpc_connections_per_ip_max,
      messageBytesMax: rpcMessageMax(config),
      knownPeersMax: config.limits.rpc_known_peers_max,
    });
    this.rpc = new Rpc(this.net, systemClock);
    const tree = store.db.tree<LayoutHistory>('layout');
    const key = Buffer.from('history');
    this.layout = new LayoutManager(
      this.rpc,
      { load: () => tree.get(key), save: (h) => store.db.transaction(() => tree.put(key, h)) },
      config.replication_factor,
    );
    this.rpc.zoneOf = (id) => this.layout.zoneOf(id);
    const quorums = quorumsFor(config.consistency_mode, config.replication_factor);
    this.blockRepl = store.enableCluster(
      { rpc: this.rpc, placement: this.layout, quorums, timeoutMs: config.rpc_timeout_secs * 1000 },
      { backgroundBytes: config.block_ram_buffer_max },
    );
    const nodeEps = nodeEndpoints(this.rpc);
    nodeEps.info.serve(async () => this.info());
    // What this node owes, for a peer's GetClusterHealth (`grenier status` shows every node's).
    nodeEps.debt.serve(async () => this.replicationDebt());
    this.loadKnobs();
    this.addWorkers();
    // Only a change of the active layout versions moves blocks (acks and sync marks do not).
    let versions = this.activeVersions();
    // The version for which the last ack was seen (an ack that completes a version's acks lets a
    // sync pass prove it: run one now, not at the next anti-entropy interval).
    let provableSeen = -1;
    this.layout.onChange((h) => {
      const target = current(h).version;
      if (this.layoutSyncNeeded(h) && provableSeen !== target) {
        provableSeen = target;
        this.workers.get('table-sync')?.trigger();
      }
      const v = this.activeVersions();
      if (v === versions) return;
      versions = v;
      this.workers.get('table-sync')?.trigger();
      this.workers.get('block-resync')?.trigger();
    });
    this.net.on('peer-up', (id) => {
      // A peer that comes back gets what it missed, at once, and we learn its layout.
      this.workers.get('table-queue')?.trigger();
      void this.catchUp(id);
      void this.layout.pull();
      // A layout version this node could not prove while that peer was down: try now, not after the back-off.
      if (this.layoutSyncNeeded(this.layout.history())) this.workers.get('table-sync')?.trigger();
    });
    store.blocks.resync.onEnqueue = () => this.workers.get('block-resync-queue')?.trigger();
  }

  /** This node has not synced the current layout version, and every node already writes with it,
   *  so a table-sync pass starting now proves it (a cheap check, run at every layout change). */
  private layoutSyncNeeded(h: LayoutHistory): boolean {
    const target = current(h).version;
    return (h.syncMap[this.rpc.id] ?? 0) < target && ackMin(h) >= target;
  }

  /** Whether some block keeps this node from proving a layout version once every node writes with
   *  it: one queued before `since` and not tried yet, or one it should hold whose fetch failed. A
   *  block whose reference arrived later comes from a write made with the new write sets (a quorum
   *  of the new holders has it), like any lagging replica: under steady writes some always is in
   *  flight, so counting those (as `missingBlocks` does) could keep a version from ever syncing. */
  private blocksKeepLayoutUnsynced(since: number): boolean {
    const q = this.store.blocks.resync;
    if (q.due(1, since).length > 0) return true;
    const me = this.rpc.id;
    for (const h of this.store.blocks.referenced()) if (q.errorOf(h) && this.blockRepl.holders(h).includes(me) && !this.store.blocks.store.has(h)) return true;
    return false;
  }

  private activeVersions(): string {
    return this.layout.history().versions.map((v) => v.version).join(',');
  }

  private readonly catchingUp = new Set<NodeId>();

  /** A peer just came up: deliver what is queued for it, then compare every table with it (it may
   *  have missed writes that were never queued, or hold some we missed while we were down). */
  private async catchUp(peer: NodeId): Promise<void> {
    if (this.catchingUp.has(peer)) return;
    this.catchingUp.add(peer);
    const t0 = Date.now();
    try {
      let sent = 0;
      // Block references first: their arrival starts the peer's block fetches while the rest goes.
      const tables = this.store.tables();
      tables.sort((x, y) => Number(y === this.store.blockRefs) - Number(x === this.store.blockRefs));
      for (const t of tables) {
        for (let i = 0; i < 1000; i++) {
          const n = await t.drainQueue(1000, peer);
          sent += n;
          if (n === 0) break;
        }
      }
      const drainMs = Date.now() - t0;
      let pulled = 0;
      let pushed = 0;
      let errors = 0;
      for (const t of this.store.tables()) {
        if (!this.rpc.isUp(peer)) break;
        const st = await syncTable(t, this.ctx(), (n) => this.rpc.isUp(n), peer);
        pulled += st.pulled;
        pushed += st.pushed;
        errors += st.errors;
      }
      log.info({ node: peer.slice(0, 16), sent, pulled, pushed, errors, drainMs, ms: Date.now() - t0 }, 'peer up: caught up');
    } catch (e) {
      log.warn({ node: peer.slice(0, 16), err: (e as Error).message }, 'peer up: catch-up failed; the queue and anti-entropy retry');
    } finally {
      this.catchingUp.delete(peer);
    }
  }

  private ctx() {
    const c = this.config;
    return { rpc: this.rpc, placement: this.layout, quorums: quorumsFor(c.consistency_mode, c.replication_factor), timeoutMs: c.rpc_timeout_secs * 1000 };
  }

  /** The replication debt, for GetClusterHealth and `grenier status`: table entries queued for
   *  nodes that missed them, and blocks this node should hold but has not fetched yet. */
  replicationDebt(): ReplicationDebt {
    const byNode: Record<NodeId, number> = {};
    let entries = 0;
    for (const t of this.store.tables())
      for (const [n, c] of t.queuedByNode()) {
        byNode[n] = (byNode[n] ?? 0) + c;
        entries += c;
      }
    const blocksQueued = this.store.blocks.resync.length();
    const behind = Object.keys(byNode);
    if (blocksQueued > 0 && !behind.includes(this.rpc.id)) behind.push(this.rpc.id);
    return { entriesQueued: entries, entriesQueuedByNode: byNode, blocksQueued, blockErrors: this.store.blocks.resync.errorCount(), nodesBehind: behind };
  }

  private knobTree() {
    return this.store.db.tree<number>('block_meta');
  }

  private loadKnobs(): void {
    for (const [name, knob] of Object.entries(RESYNC_VARIABLES)) {
      const v = this.knobTree().get(Buffer.from(`var:${name}`));
      if (v === undefined) continue;
      try {
        this.resyncKnobs[knob] = parseResyncVariable(name, String(v)).value;
      } catch {
        // A stored value out of today's range: keep the default.
      }
    }
  }

  /** Worker variables (GetWorkerVariable / SetWorkerVariable), as strings like Garage's. */
  variables(): Record<string, string> {
    return Object.fromEntries(Object.entries(RESYNC_VARIABLES).map(([name, knob]) => [name, String(this.resyncKnobs[knob])]));
  }

  /** Sets a worker variable (throws with the allowed range), persisted; applies to the running pass. */
  setVariable(name: string, value: string): string {
    const p = parseResyncVariable(name, value);
    this.store.db.transaction(() => this.knobTree().put(Buffer.from(`var:${name}`), p.value));
    this.resyncKnobs[p.knob] = p.value;
    return String(p.value);
  }

  async info(): Promise<NodeInfo> {
    return {
      id: this.rpc.id,
      hostname: hostname(),
      version: this.version,
      rpcAddr: this.config.rpc_public_addr,
      dataDisk: await disk(this.config.data_dir),
      metadataDisk: await disk(this.config.metadata_dir),
      blocks: this.store.blocks.rcCount(),
      replicationFactor: this.config.replication_factor,
      process: processUsage(),
    };
  }

  private addWorkers(): void {
    const c = this.config;
    const clock = systemClock;
    const tables = this.store.tables();
    const ctx = () => this.ctx();
    this.workers.add(
      new Worker('table-queue', 1000, clock, async () => {
        let sent = 0;
        for (const t of tables) sent += await t.drainQueue();
        const queue = tables.reduce((n, t) => n + t.queueLength(), 0);
        return { queue, progress: sent ? `sent ${sent} entries` : 'idle' };
      }),
    );
    this.workers.add(new Worker('layout-gossip', 5000, clock, async () => this.layout.pull()));
    this.workers.add(
      new Worker('table-sync', c.anti_entropy_interval_secs * 1000, clock, async (w) => {
        if (w.status().runs === 0) await this.waitForPeers(FIRST_SYNC_WAIT_MS, w);
        const h = this.layout.history();
        const target = current(h).version;
        // A sync only proves version `target` is complete here if every node already wrote with it.
        const provesTarget = this.layoutSyncNeeded(h);
        let errors = 0;
        // Partitions compared with too few replicas (peers down: skipped, not errors) to prove them.
        let unproved = 0;
        let i = 0;
        const skipped = new Set<NodeId>();
        try {
          for (const t of tables) {
            // The last ack arrived during a pass that cannot prove the version: stop it, so the one
            // that can (already triggered) starts now rather than after every table (tens of seconds under load).
            if (!provesTarget && this.layoutSyncNeeded(this.layout.history())) {
              log.info({ version: current(this.layout.history()).version }, 'layout: every node writes with the new version; restarting the sync pass to prove it');
              break;
            }
            w.report({ progress: `syncing ${t.name} (${++i}/${tables.length})` });
            const st = await syncTable(t, ctx(), (n) => this.rpc.isUp(n));
            errors += st.errors;
            unproved += st.unproved;
            for (const n of st.skipped) skipped.add(n);
            if (st.pulled || st.pushed) log.info({ table: t.name, ...st }, 'anti-entropy repaired entries');
          }
          if (provesTarget && errors === 0 && unproved === 0) {
            // Every block of the new layout here: queue the sweep's findings and fetch them now. One
            // sweep per version: on a retry the queue already has them (and arriving refs add theirs).
            if (this.sweptForVersion !== target) {
              await sweepPass(this.store.blocks, this.blockRepl, this.rpc.id, w);
              this.sweptForVersion = target;
            }
            const fetchFrom = clock.now();
            await resyncPass(this.store.blocks, this.blockRepl, this.rpc.id, w, this.resyncKnobs);
            if (!this.blocksKeepLayoutUnsynced(fetchFrom)) {
              this.layout.markSynced(target);
              log.info({ version: target }, 'layout: this node has synced the new version');
            }
          }
        } finally {
          // Could have proved it but did not (errors, a throw, blocks still missing): retry soon.
          if (provesTarget && (this.layout.history().syncMap[this.rpc.id] ?? 0) < target) {
            const f = this.layoutSyncFailures;
            if (f.version !== target) this.layoutSyncFailures = { version: target, n: 0 };
            const ms = LAYOUT_SYNC_RETRY_MIN_MS * 2 ** Math.min(this.layoutSyncFailures.n++, 20);
            w.retryIn(ms);
            log.info({ version: target, errors, unproved, retryInMs: ms }, 'layout: new version not proved synced here yet; retrying');
          }
        }
        const down = skipped.size ? `, skipped ${skipped.size} down peer(s): ${[...skipped].map((n) => n.slice(0, 8)).join(' ')}` : '';
        if (skipped.size) log.info({ skipped: [...skipped].map((n) => n.slice(0, 16)) }, 'anti-entropy: peers down, not compared');
        return { queue: 0, progress: `synced ${tables.length} tables, ${errors} errors${down}` };
      }),
    );
    // The resync queue: only blocks that are due (a reference arrived for a block not on disk,
    // a sweep found it misplaced, a back-off expired). Woken by enqueues and by the next due time;
    // its period is only a fallback, and an idle pass reads one key.
    let dueTimer: NodeJS.Timeout | undefined;
    const queueWorker = new Worker('block-resync-queue', c.resync_interval_secs * 1000, clock, async (w) => {
      const r = await resyncPass(this.store.blocks, this.blockRepl, this.rpc.id, w, this.resyncKnobs);
      // The last missing block arrived while this node has a layout version to prove: prove it now
      // rather than at the table-sync's next retry (its back-off may be long by then).
      if (r.fetched > 0 && r.queued === 0 && this.layoutSyncNeeded(this.layout.history())) this.workers.get('table-sync')?.trigger();
      clearTimeout(dueTimer);
      const next = this.store.blocks.resync.nextDue();
      if (next !== undefined && next - clock.now() < c.resync_interval_secs * 1000) {
        dueTimer = setTimeout(() => queueWorker.trigger(), Math.max(10, next - clock.now()));
        dueTimer.unref();
      }
      return { queue: r.queued, progress: r.fetched || r.offloaded || r.missing ? `fetched ${r.fetched}, offloaded ${r.offloaded}, failed ${r.missing}` : 'idle' };
    });
    this.workers.add(queueWorker);
    // The full sweep (repair blocks, layout change, and slowly: resync_sweep_interval_secs) feeds
    // that queue. Its last run is kept, so restarts neither repeat it nor postpone it for ever.
    const meta = this.store.db.tree<number>('block_meta');
    const lastSweepKey = Buffer.from('last_sweep_at');
    const sweepMs = c.resync_sweep_interval_secs * 1000;
    const lastSweep = meta.get(lastSweepKey);
    this.workers.add(
      new Worker('block-resync', sweepMs, clock, async (w) => {
        const st = await sweepPass(this.store.blocks, this.blockRepl, this.rpc.id, w);
        this.store.db.transaction(() => meta.put(lastSweepKey, clock.now()));
        return { queue: 0, progress: `swept ${st.scanned} blocks, queued ${st.queued}` };
      }, { firstDelayMs: lastSweep === undefined ? Math.min(sweepMs, 60_000) : Math.max(1000, lastSweep + sweepMs - clock.now()) }),
    );
    this.workers.add(
      new Worker('block-scrub', c.scrub_interval_secs * 1000, clock, async (w) => {
        await scrubPass(this.store.blocks, this.blockRepl, w);
      }, { firstDelayMs: c.scrub_interval_secs * 1000 }),
    );
    this.workers.add(
      new Worker('block-gc', 60_000, clock, async () => {
        const n = await this.store.blocks.gc();
        return { progress: `deleted ${n} unreferenced blocks` };
      }),
    );
    // Unfinished multipart uploads past their bucket's expiry (model/uploads.ts: due index entries only).
    this.workers.add(new Worker('upload-expiry', 600_000, clock, async () => ({ progress: `aborted ${await sweepExpiredUploads(this.store)} expired uploads` })));
    this.workers.add(
      new Worker(
        'tombstone-gc',
        3600_000,
        clock,
        async () => {
          let n = 0;
          for (const t of tables) n += await gcTombstones(t, ctx());
          return { progress: `removed ${n} tombstones` };
        },
        { firstDelayMs: 600_000 },
      ),
    );
  }

  /** Worker queues and progress, replication queues and peers, read at each Prometheus scrape. */
  private registerMetrics(): void {
    const w = () => this.workers.all().map((x) => x.status());
    gaugeFrom('worker_queue_length', 'Items waiting in each background worker', ['worker'], () => w().map((s) => ({ labels: { worker: s.name }, value: s.queue })));
    gaugeFrom('worker_busy', '1 while a worker pass runs', ['worker'], () => w().map((s) => ({ labels: { worker: s.name }, value: s.state === 'busy' ? 1 : 0 })));
    gaugeFrom('worker_runs', 'Passes completed by each worker', ['worker'], () => w().map((s) => ({ labels: { worker: s.name }, value: s.runs })));
    gaugeFrom('worker_errors', 'Failed passes of each worker', ['worker'], () => w().map((s) => ({ labels: { worker: s.name }, value: s.errors })));
    gaugeFrom('table_pending_propagation', 'Entries queued for replicas that missed them', ['table'], () =>
      this.store.tables().map((t) => ({ labels: { table: t.name }, value: t.queueLength() })),
    );
    gaugeFrom('block_resync_queue_length', 'Blocks queued for resync on this node (missing or misplaced)', [], () => [{ value: this.store.blocks.resync.length() }]);
    gaugeFrom('block_resync_errors', 'Blocks whose resync failed and is backing off', [], () => [{ value: this.store.blocks.resync.errorCount() }]);
    gaugeFrom('block_background_bytes', 'Bytes of blocks whose last replicas are still being written', [], () => [{ value: this.blockRepl.backgroundBytes() }]);
    gaugeFrom('cluster_peers_connected', 'Peers with a live connection', [], () => [{ value: this.net.peers().filter((p) => p.connected).length }]);
    gaugeFrom('cluster_layout_version', 'Current layout version', [], () => [{ value: current(this.layout.history()).version }]);
  }

  /** Waits (bounded) until every node of the layout is connected. */
  private async waitForPeers(maxMs: number, w: Worker): Promise<void> {
    const until = Date.now() + maxMs;
    // Then let the peer-up catch-ups finish first: they already compared us with each peer.
    while (Date.now() < until && w.status().state !== 'stopped' && (this.catchingUp.size > 0 || !this.layout.allNodes().every((n) => this.rpc.isUp(n))))
      await new Promise((r) => setTimeout(r, 250));
  }

  async start(): Promise<void> {
    this.registerMetrics();
    await this.net.start();
    // A fresh layout version means this node is writing with it.
    this.layout.merge(this.layout.history());
    this.workers.startAll();
  }

  async stop(): Promise<void> {
    await this.workers.stopAll();
    await this.net.stop();
  }
}
