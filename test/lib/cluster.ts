// Multi-node test harness: starts real `grenier server` processes (one zone each by default, with
// an optional delaying proxy in front of every RPC address), joins them, applies a layout through
// the admin API, shares one access key, and checks acknowledged writes byte for byte on every node.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { loadNodeKey } from '../../src/node.ts';
import { freePort, s3Client, startNode, type TestNode } from './node.ts';
import { startDelayProxy, type DelayProxy } from './delay-proxy.ts';
import type { NetLab } from './netns.ts';

export type Mode = 'consistent' | 'degraded' | 'dangerous';

export interface ClusterOptions {
  zones?: string[];
  nodesPerZone?: number;
  rf?: number;
  mode?: Mode;
  /** One-way delay added in front of each node's RPC address (RTT between two nodes = 2×). */
  proxyDelayMs?: number;
  /** Extra top-level TOML lines for every node (intervals are already short; see DEFAULT_EXTRA). */
  extraConfig?: string;
  /** Extra [s3_api] lines for every node (e.g. `sse_c_over_http = true`). */
  s3Config?: string;
  /** Per-node environment (by index), e.g. faketime's LD_PRELOAD/FAKETIME for one node. */
  envFor?: (index: number, zone: string) => Record<string, string> | undefined;
  /** Run node i in the lab's namespace i, on its address (for partitions; see netns.ts). */
  netLab?: NetLab;
  /** Bounded wait for the cluster to be up and agree on the layout (default 60 s). */
  readyTimeoutMs?: number;
}

export interface ClusterNode extends TestNode {
  id: string;
  zone: string;
  index: number;
  /** The address other nodes dial (the proxy when there is one). */
  publicAddr: string;
  proxy?: DelayProxy;
  /** An S3 client on this node with the cluster's shared key. */
  s3: S3Client;
}

export interface AckedWrite {
  bucket: string;
  key: string;
  sha256: string;
  size?: number;
}

/** Short intervals so that repairs converge within a test; overridable through extraConfig. */
export const DEFAULT_EXTRA = {
  anti_entropy_interval_secs: 5,
  resync_interval_secs: 5,
  rpc_ping_interval_secs: 1,
  rpc_timeout_secs: 5,
  block_gc_delay_secs: 600,
};

export const CAPACITY = 1_000_000_000;

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls `probe` every `everyMs` until it returns a truthy value (returned) or `timeoutMs` passes;
 *  then throws naming `what` and the last probe result or error. */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined | null | false>, timeoutMs: number, everyMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    try {
      const v = await probe();
      if (v) return v;
      last = JSON.stringify(v);
    } catch (e) {
      last = (e as Error).message;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${last.slice(0, 2000)})`);
    await sleep(everyMs);
  }
}

export function sha256(b: Uint8Array | string): string {
  return createHash('sha256').update(b).digest('hex');
}

/** Runs `fn` over `items` with at most `limit` in flight. */
export async function pool<T, R>(items: T[], limit: number, fn: (x: T, i: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]!, i);
      }
    }),
  );
  return out;
}

function mergeExtra(extra: string | undefined, defaults: Record<string, number | string>): string {
  const lines = (extra ?? '').split('\n').filter((l) => l.trim());
  const set = new Set(lines.map((l) => l.split('=')[0]!.trim()));
  for (const [k, v] of Object.entries(defaults)) if (!set.has(k)) lines.push(`${k} = ${typeof v === 'string' ? JSON.stringify(v) : v}`);
  return lines.join('\n');
}

export class Cluster {
  readonly nodes: ClusterNode[] = [];
  readonly secret = randomBytes(32).toString('hex');
  readonly opts: Required<Pick<ClusterOptions, 'rf' | 'mode'>> & ClusterOptions;
  readonly root = mkdtempSync(join(tmpdir(), 'grenier-cluster-'));
  keyId = '';
  keySecret = '';
  private stopped = false;

  constructor(opts: ClusterOptions) {
    this.opts = { rf: 3, mode: 'consistent', ...opts };
  }

  /** The node's S3 client and address book entries are only valid once the shared key exists. */
  private async prepareNode(index: number, zone: string): Promise<{ dir: string; id: string; rpcPort: number; publicAddr: string; proxy?: DelayProxy }> {
    const dir = mkdtempSync(join(this.root, `n${index}-${zone}-`));
    const id = loadNodeKey(join(dir, 'meta')).id;
    const lab = this.opts.netLab;
    const rpcPort = lab ? 3901 : await freePort();
    let proxy: DelayProxy | undefined;
    let publicAddr = `${lab ? lab.ip(index) : '127.0.0.1'}:${rpcPort}`;
    if (this.opts.proxyDelayMs !== undefined) {
      proxy = await startDelayProxy({ targetPort: rpcPort, delayMs: this.opts.proxyDelayMs });
      publicAddr = proxy.addr;
    }
    return { dir, id, rpcPort, publicAddr, proxy };
  }

  private async launch(index: number, zone: string, prep: Awaited<ReturnType<Cluster['prepareNode']>>, peers: string[], wait: 'ready' | 'live' = 'ready'): Promise<ClusterNode> {
    const extra = mergeExtra(
      [this.opts.extraConfig ?? '', `bootstrap_peers = ${JSON.stringify(peers)}`].join('\n'),
      { consistency_mode: this.opts.mode, ...DEFAULT_EXTRA },
    );
    const n = await startNode({
      dir: prep.dir,
      rpcPort: prep.rpcPort,
      rpcPublicAddr: prep.publicAddr,
      rpcSecret: this.secret,
      replicationFactor: this.opts.rf,
      createKey: false,
      extraConfig: extra,
      s3Config: this.opts.s3Config,
      env: this.opts.envFor?.(index, zone),
      host: this.opts.netLab?.ip(index),
      command: this.opts.netLab?.exec(index),
      startTimeoutMs: 60_000,
      wait,
    });
    const node = n as ClusterNode;
    node.id = prep.id;
    node.zone = zone;
    node.index = index;
    node.publicAddr = prep.publicAddr;
    node.proxy = prep.proxy;
    let client: S3Client | undefined;
    Object.defineProperty(node, 's3', {
      configurable: true,
      enumerable: true,
      get: () => (client ??= s3Client(node)),
    });
    return node;
  }

  async start(): Promise<void> {
    const zones = this.opts.zones ?? ['paris', 'lyon', 'nantes'];
    const per = this.opts.nodesPerZone ?? 1;
    const plan: { zone: string; index: number }[] = [];
    for (let i = 0; i < per; i++) for (const z of zones) plan.push({ zone: z, index: plan.length });
    const preps = await Promise.all(plan.map((p) => this.prepareNode(p.index, p.zone)));
    const started = await Promise.all(
      plan.map((p, i) =>
        this.launch(
          p.index,
          p.zone,
          preps[i]!,
          preps.filter((_, j) => j !== i).map((q) => `${q.id}@${q.publicAddr}`),
          // Its peers start at the same time: waitConnected below waits for all of them.
          'live',
        ),
      ),
    );
    this.nodes.push(...started);
    const timeout = this.opts.readyTimeoutMs ?? 60_000;
    await this.waitConnected(this.nodes, timeout);
    await this.assignAndApply(this.nodes.map((n) => ({ id: n.id, zone: n.zone })));
    await this.waitLayout(this.nodes, 1, timeout);
    await this.shareKey(timeout);
  }

  /** The node at `index` (throws if absent, for readable tests). */
  node(i: number): ClusterNode {
    const n = this.nodes[i];
    if (!n) throw new Error(`cluster has no node ${i}`);
    return n;
  }

  /** GetClusterStatus of one node. */
  async status(n: ClusterNode): Promise<{ layoutVersion: number; nodes: { id: string; isUp: boolean; role?: { zone: string } | null }[] }> {
    return n.admin('GetClusterStatus');
  }

  /** Waits until every node in `among` sees every other one up. */
  async waitConnected(among: ClusterNode[], timeoutMs: number): Promise<void> {
    await waitFor(
      `nodes ${among.map((n) => n.index).join(',')} to see each other up`,
      async () => {
        const missing: string[] = [];
        for (const n of among) {
          const st = await this.status(n);
          for (const m of among) {
            const e = st.nodes.find((x) => x.id === m.id);
            if (!e?.isUp) missing.push(`${n.index}→${m.index}`);
          }
        }
        if (missing.length) throw new Error(`not up: ${missing.join(' ')}`);
        return true;
      },
      timeoutMs,
      500,
    );
  }

  /** Stages roles (equal capacity, or removal with zone null) on node `via` and applies the next version. */
  async assignAndApply(roles: { id: string; zone: string | null }[], via: ClusterNode = this.nodes[0]!): Promise<number> {
    const layout = await via.admin('GetClusterLayout').catch(() => undefined);
    const version = Number(layout?.version ?? 0) + 1;
    await via.admin('UpdateClusterLayout', {
      roles: roles.map((r) => (r.zone === null ? { id: r.id, remove: true } : { id: r.id, zone: r.zone, capacity: CAPACITY, tags: [] })),
    });
    await via.admin('ApplyClusterLayout', { version });
    return version;
  }

  /** Waits until every node in `among` reports layout version `version`. */
  async waitLayout(among: ClusterNode[], version: number, timeoutMs: number): Promise<void> {
    await waitFor(
      `layout version ${version} on nodes ${among.map((n) => n.index).join(',')}`,
      async () => {
        const vs = await Promise.all(among.map(async (n) => (await this.status(n)).layoutVersion));
        if (vs.some((v) => v !== version)) throw new Error(`versions: ${vs.join(',')}`);
        return true;
      },
      timeoutMs,
      500,
    );
  }

  /** Waits until every node in `among` reports `version` as the only layout version in use
   *  (older ones Historical), acknowledged and synced by every storage node of that version. */
  async waitLayoutSynced(among: ClusterNode[], version: number, timeoutMs: number): Promise<void> {
    await waitFor(
      `layout version ${version} synced, as seen by nodes ${among.map((n) => n.index).join(',')}`,
      async () => {
        for (const n of among) {
          const h = await n.admin('GetClusterLayoutHistory');
          if (h.currentVersion !== version) throw new Error(`node ${n.index}: current version ${h.currentVersion}`);
          const busy = (h.versions as { version: number; status: string }[]).filter((v) => v.status !== 'Historical' && v.version !== version);
          if (busy.length) throw new Error(`node ${n.index}: versions still in use: ${busy.map((v) => `${v.version} ${v.status}`).join(', ')}; ackMap ${JSON.stringify(h.ackMap)} syncMap ${JSON.stringify(h.syncMap)}`);
        }
        return true;
      },
      timeoutMs,
      1000,
    );
  }

  /** Creates one key (createBucket allowed) on node 0 and waits until every node knows it. */
  private async shareKey(timeoutMs: number): Promise<void> {
    const k = await this.nodes[0]!.admin('CreateKey', { name: 'cluster-test', allow: { createBucket: true } });
    if (!k?.accessKeyId || !k?.secretAccessKey) throw new Error(`CreateKey gave no credentials: ${JSON.stringify(k)}`);
    if (k.permissions?.createBucket !== true) await this.nodes[0]!.admin('UpdateKey', { allow: { createBucket: true } }, `id=${encodeURIComponent(k.accessKeyId)}`);
    this.keyId = k.accessKeyId;
    this.keySecret = k.secretAccessKey;
    for (const n of this.nodes) this.adoptKey(n);
    await this.waitKey(this.nodes, timeoutMs);
  }

  private adoptKey(n: ClusterNode): void {
    n.keyId = this.keyId;
    n.secret = this.keySecret;
  }

  async waitKey(among: ClusterNode[], timeoutMs: number): Promise<void> {
    await waitFor(
      `the shared key on nodes ${among.map((n) => n.index).join(',')}`,
      async () => {
        for (const n of among) {
          const info = await n.admin('GetKeyInfo', undefined, `id=${encodeURIComponent(this.keyId)}`);
          if (info?.permissions?.createBucket !== true) throw new Error(`node ${n.index}: key without createBucket yet`);
        }
        return true;
      },
      timeoutMs,
      500,
    );
  }

  /** Starts one more node (in `zone`) that bootstraps from the current ones; no layout role yet. */
  async addNode(zone: string): Promise<ClusterNode> {
    const index = this.nodes.length;
    const prep = await this.prepareNode(index, zone);
    const n = await this.launch(
      index,
      zone,
      prep,
      this.nodes.map((q) => `${q.id}@${q.publicAddr}`),
    );
    this.adoptKey(n);
    this.nodes.push(n);
    return n;
  }

  /** Calls LaunchRepairOperation on every given node (those that are down are skipped). */
  async repair(types: ('tables' | 'blocks' | 'scrub' | 'rebalance' | 'gc')[], among: ClusterNode[] = this.nodes): Promise<void> {
    for (const n of among) for (const t of types) await n.admin('LaunchRepairOperation', { repairType: t });
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await Promise.all(this.nodes.map((n) => n.stop().catch(() => {})));
    await Promise.all(this.nodes.map((n) => n.proxy?.close()));
    if (process.env.GRENIER_TEST_KEEP !== '1') rmSync(this.root, { recursive: true, force: true });
  }
}

export async function startCluster(opts: ClusterOptions = {}): Promise<Cluster> {
  const c = new Cluster(opts);
  try {
    await c.start();
  } catch (e) {
    const tails = c.nodes.map((n) => `--- node ${n.index} (${n.zone}) output tail:\n${n.output().slice(-3000)}`).join('\n');
    await c.stop();
    throw new Error(`${(e as Error).message}\n${tails}`);
  }
  return c;
}

/** The last acknowledged write of each (bucket, key), in order. */
export function latestWrites(writes: AckedWrite[]): AckedWrite[] {
  const m = new Map<string, AckedWrite>();
  for (const w of writes) {
    const k = `${w.bucket}\u0000${w.key}`;
    m.delete(k);
    m.set(k, w);
  }
  return [...m.values()];
}

async function readSha(client: S3Client, bucket: string, key: string): Promise<{ sha: string; size: number }> {
  const r = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }), { abortSignal: AbortSignal.timeout(30_000) });
  const h = createHash('sha256');
  let size = 0;
  for await (const chunk of r.Body as AsyncIterable<Uint8Array>) {
    h.update(chunk);
    size += chunk.length;
  }
  return { sha: h.digest('hex'), size };
}

/** Reads every acknowledged object (the latest write of each key) back from EVERY given node and
 *  compares bytes; returns one line per failure ("node 2 (nantes) b/k: ..."), empty when all match. */
export async function checkWrites(nodes: ClusterNode[], writes: AckedWrite[], concurrency = 6): Promise<string[]> {
  const want = latestWrites(writes);
  const jobs = nodes.flatMap((n) => want.map((w) => ({ n, w })));
  const failures: string[] = [];
  // Fresh clients: a node may have restarted since its cached client last kept a socket alive.
  const clients = new Map(nodes.map((n) => [n, s3Client(n)]));
  await pool(jobs, concurrency, async ({ n, w }) => {
    const where = `node ${n.index} (${n.zone}) ${w.bucket}/${w.key}`;
    try {
      const got = await readSha(clients.get(n)!, w.bucket, w.key);
      if (got.sha !== w.sha256) failures.push(`${where}: content differs (got ${got.size} bytes sha ${got.sha.slice(0, 12)}, want ${w.size ?? '?'} bytes sha ${w.sha256.slice(0, 12)})`);
    } catch (e) {
      const err = e as Error & { $metadata?: { httpStatusCode?: number } };
      failures.push(`${where}: ${err.name} ${err.$metadata?.httpStatusCode ?? ''} ${err.message}`.trim());
    }
  });
  for (const cl of clients.values()) cl.destroy();
  return failures;
}

/** Formats failures for an assertion message (first 30 lines and a count). */
export function describeFailures(failures: string[]): string {
  return `${failures.length} failed reads:\n${failures.slice(0, 30).join('\n')}${failures.length > 30 ? '\n…' : ''}`;
}

/** Hashes of the blocks stored on disk by a node (data_dir/ab/cd/<hash>[.zst]). */
export function blockHashes(n: ClusterNode): Set<string> {
  const root = join(n.dir, 'data');
  const out = new Set<string>();
  const hex2 = /^[0-9a-f]{2}$/;
  for (const a of readdirSync(root).filter((x) => hex2.test(x)))
    for (const b of readdirSync(join(root, a)).filter((x) => hex2.test(x)))
      for (const f of readdirSync(join(root, a, b))) if (/^[0-9a-f]{64}(\.zst)?$/.test(f)) out.add(f.replace(/\.zst$/, ''));
  return out;
}

/** Rewrites a node's consistency_mode in its config file (takes effect at its next restart). */
export function setMode(n: ClusterNode, mode: Mode): void {
  const text = readFileSync(n.configPath, 'utf8');
  if (!/^consistency_mode = .*$/m.test(text)) throw new Error(`no consistency_mode line in ${n.configPath}`);
  writeFileSync(n.configPath, text.replace(/^consistency_mode = .*$/m, `consistency_mode = "${mode}"`));
}

/** Proves what each node holds LOCALLY: stops the whole cluster, then starts each node alone in
 *  `dangerous` mode (R=1, so it needs no peer) and reads every acknowledged write from it. The
 *  cluster is left stopped (original modes restored in the config files). Returns failures. */
export async function checkEachAlone(c: Cluster, among: ClusterNode[], writes: AckedWrite[]): Promise<string[]> {
  const failures: string[] = [];
  await Promise.all(c.nodes.map((n) => n.kill('SIGTERM')));
  for (const n of among) {
    setMode(n, 'dangerous');
    try {
      // Alone, a node holding only some partitions has no quorum for the others: not ready.
      await n.restart('live');
      const f = await checkWrites([n], writes);
      failures.push(...f.map((x) => `alone: ${x}`));
    } finally {
      await n.kill('SIGTERM');
      setMode(n, c.opts.mode);
    }
  }
  return failures;
}
