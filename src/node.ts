// Composition root: builds every part of a node from its Config, starts the listeners, stops cleanly.
import { createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Server } from 'node:http';
import type { Config } from './config/config.ts';
import { splitAddr } from './config/config.ts';
import { Store } from './model/store.ts';
import { createS3Server } from './api/s3/server.ts';
import { createAdminServer } from './api/admin/server.ts';
import { createWebServer, WebHandler } from './web/server.ts';
import { Front } from './front/server.ts';
import { log } from './util/log.ts';
import { Cluster } from './node-cluster.ts';
import { lifecycleWorker } from './model/lifecycle-worker.ts';
import { guardListener } from './util/listener.ts';
import { metaSnapshots, type MetaSnapshots } from './db/snapshot.ts';
import { acquireHashPool } from './util/hash-pool.ts';

export const VERSION = '0.1.0';

/** The node's persistent ed25519 identity; its id is the raw public key in hex. */
export function loadNodeKey(metadataDir: string): { id: string; privateKeyPem: string } {
  const path = join(metadataDir, 'node_key.pem');
  mkdirSync(metadataDir, { recursive: true });
  if (!existsSync(path)) {
    const { privateKey } = generateKeyPairSync('ed25519');
    writeFileSync(path, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  }
  const pem = readFileSync(path, 'utf8');
  const pub = createPublicKey(createPrivateKey(pem)).export({ format: 'der', type: 'spki' });
  return { id: pub.subarray(pub.length - 32).toString('hex'), privateKeyPem: pem };
}

function listen(server: Server, addr: string, what: string): Promise<void> {
  const { host, port } = splitAddr(addr);
  return new Promise((resolve, reject) => {
    server.once('error', (e) => reject(new Error(`${what}: cannot listen on ${addr}: ${(e as NodeJS.ErrnoException).code ?? e}`)));
    server.listen(port, host, () => resolve());
  });
}

export class GrenierNode {
  readonly config: Config;
  readonly store: Store;
  readonly nodeId: string;
  readonly startedAt = Date.now();
  readonly cluster: Cluster;
  /** Metadata snapshots: on demand (CLI, admin API, peers) and every metadata_auto_snapshot_interval. */
  readonly snapshots: MetaSnapshots;
  /** The HTTPS front, when the config has a [front] section. */
  front?: Front;
  /** The website handler of the web listener and the front (set by start()). */
  web!: WebHandler;
  private servers: Server[] = [];
  /** Gives back the process's hash workers (the last node to stop terminates them). */
  private readonly releaseHashPool: () => Promise<void>;

  constructor(config: Config) {
    this.config = config;
    const key = loadNodeKey(config.metadata_dir);
    this.nodeId = key.id;
    this.store = new Store({
      metadataDir: config.metadata_dir,
      dataDir: config.data_dir,
      blockSize: config.block_size,
      compression: config.compression_level,
      dataFsync: config.data_fsync,
      metadataFsync: config.metadata_fsync,
      inlineThreshold: config.inline_threshold,
      gcDelayMs: config.block_gc_delay_secs * 1000,
      limits: config.limits,
    });
    this.cluster = new Cluster(config, this.store, key.privateKeyPem, VERSION);
    this.cluster.workers.add(lifecycleWorker(this.store, config, this.cluster));
    this.snapshots = metaSnapshots(this.store.db, config);
    this.releaseHashPool = acquireHashPool(config.limits);
  }

  async start(): Promise<void> {
    const c = this.config;
    await this.cluster.start();
    const s3 = createS3Server(this.store, { region: c.s3_api.s3_region, rootDomain: c.s3_api.root_domain, webRootDomain: c.s3_web.root_domain, sseCOverHttp: c.s3_api.sse_c_over_http });
    // One website handler for the web listener and the front: one set of caches and settings.
    this.web = new WebHandler(this.store, { rootDomain: c.s3_web.root_domain, index: c.s3_web.index, microCacheMs: c.s3_web.micro_cache_secs * 1000 });
    if (c.front) this.front = new Front({ store: this.store, config: c, nodeId: this.nodeId, web: this.web.handle, s3: (req, res) => s3.emit('request', req, res) });
    const admin = createAdminServer({ store: this.store, config: c, nodeId: this.nodeId, startedAt: this.startedAt, version: VERSION, cluster: this.cluster, front: this.front });
    guardListener(s3, c.limits, 's3');
    guardListener(admin, c.limits, 'admin');
    await listen(s3, c.s3_api.api_bind_addr, 'S3 API');
    this.servers.push(s3);
    await listen(admin, c.admin.api_bind_addr, 'admin API');
    this.servers.push(admin);
    const web = createWebServer(this.web);
    guardListener(web, c.limits, 'web');
    await listen(web, c.s3_web.bind_addr, 'web');
    this.servers.push(web);
    await this.front?.start();
    this.snapshots.startAuto();
    log.info({ node: this.nodeId.slice(0, 16), s3: c.s3_api.api_bind_addr, admin: c.admin.api_bind_addr }, 'grenier node started');
  }

  async stop(): Promise<void> {
    await this.front?.stop();
    await this.cluster.stop();
    await Promise.all(
      this.servers.map(
        (s) =>
          new Promise<void>((r) => {
            s.close(() => r());
            s.closeAllConnections();
          }),
      ),
    );
    await this.snapshots.stop();
    await this.store.close();
    await this.releaseHashPool();
  }
}
