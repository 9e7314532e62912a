// Cluster composition: the peer transport, RPC, the live layout and the background workers
// (propagation queue, layout gossip, anti-entropy, block resync, scrub, GC) of one node.
import { statfs } from 'node:fs/promises';
import { hostname } from 'node:os';
import type { Config } from './config/config.ts';
import type { Store } from './model/store.ts';
import { NetApp } from './net/index.ts';
import { Rpc } from './rpc/rpc.ts';
import { none } from './rpc/schema.ts';
import { LayoutManager } from './layout/manager.ts';
import { ackMin, current } from './layout/history.ts';
import type { LayoutHistory } from './layout/types.ts';
import { quorumsFor } from './table/replication.ts';
import { gcTombstones, syncTable } from './table/sync.ts';
import type { BlockReplication } from './block/replication.ts';
import { resyncPass, scrubPass } from './block/workers.ts';
import { Worker, Workers } from './util/worker.ts';
import { sweepExpiredUploads } from './model/uploads.ts';
import { systemClock } from './util/time.ts';
import { log } from './util/log.ts';
import { gaugeFrom } from './util/metrics.ts';

export type { ClusterNodeInfo as NodeInfo } from './api/admin/cluster-handle.ts';
import type { ClusterNodeInfo as NodeInfo } from './api/admin/cluster-handle.ts';

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

export class Cluster {
  readonly net: NetApp;
  readonly rpc: Rpc;
  readonly layout: LayoutManager;
  readonly blockRepl: BlockReplication;
  readonly workers = new Workers();
  private readonly store: Store;
  private readonly config: Config;
  private readonly version: string;

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
    this.rpc.endpoint('node/info', none, async () => this.info());
    this.addWorkers();
    this.layout.onChange(() => {
      this.workers.get('table-sync')?.trigger();
      this.workers.get('block-resync')?.trigger();
    });
    this.net.on('peer-up', () => {
      // A peer that comes back gets what it missed, and we learn its layout.
      this.workers.get('table-queue')?.trigger();
      void this.layout.pull();
    });
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
    };
  }

  private addWorkers(): void {
    const c = this.config;
    const clock = systemClock;
    const tables = this.store.tables();
    const ctx = () => ({ rpc: this.rpc, placement: this.layout, quorums: quorumsFor(c.consistency_mode, c.replication_factor), timeoutMs: c.rpc_timeout_secs * 1000 });
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
        const h = this.layout.history();
        const target = current(h).version;
        // A sync only proves version `target` is complete here if every node already wrote with it.
        const provesTarget = (h.syncMap[this.rpc.id] ?? 0) < target && ackMin(h) >= target;
        let errors = 0;
        let i = 0;
        for (const t of tables) {
          w.report({ progress: `syncing ${t.name} (${++i}/${tables.length})` });
          const st = await syncTable(t, ctx(), (n) => this.rpc.isUp(n));
          errors += st.errors;
          if (st.pulled || st.pushed) log.info({ table: t.name, ...st }, 'anti-entropy repaired entries');
        }
        if (provesTarget && errors === 0) {
          const r = await resyncPass(this.store.blocks, this.blockRepl, this.rpc.id, w);
          if (r.missing === 0) {
            this.layout.markSynced(target);
            log.info({ version: target }, 'layout: this node has synced the new version');
          }
        }
        return { queue: 0, progress: `synced ${tables.length} tables, ${errors} errors` };
      }),
    );
    this.workers.add(new Worker('block-resync', c.resync_interval_secs * 1000, clock, async (w) => {
      await resyncPass(this.store.blocks, this.blockRepl, this.rpc.id, w);
    }));
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
    gaugeFrom('block_background_bytes', 'Bytes of blocks whose last replicas are still being written', [], () => [{ value: this.blockRepl.backgroundBytes() }]);
    gaugeFrom('cluster_peers_connected', 'Peers with a live connection', [], () => [{ value: this.net.peers().filter((p) => p.connected).length }]);
    gaugeFrom('cluster_layout_version', 'Current layout version', [], () => [{ value: current(this.layout.history()).version }]);
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
