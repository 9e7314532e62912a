// Test harness: starts a real `grenier server` process on free loopback ports in a temp dir,
// creates an access key through the admin API, and hands back what a test needs to talk to it
// (plus helpers to build an S3 client and to run external CLIs with bounded time).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, existsSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, delimiter } from 'node:path';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MAIN = join(REPO_ROOT, 'src/cli/main.ts');

export interface StartOptions {
  /** Extra top-level TOML lines (e.g. `block_size = 65536`). */
  extraConfig?: string;
  /** Extra lines for the [s3_web] section (e.g. `micro_cache_secs = 0`). */
  webConfig?: string;
  /** Extra lines for the [s3_api] section (e.g. `sse_c_over_http = true`). */
  s3Config?: string;
  region?: string;
  /** Milliseconds to wait for /health (default 20 s). */
  startTimeoutMs?: number;
  /** What start-up waits for: 'ready' (/health: able to serve, the default) or 'live' (/health/live:
   *  the process answers; for a node whose peers are not up yet). */
  wait?: 'ready' | 'live';
  /** Where to create the node's temp dir (default os.tmpdir()). */
  parentDir?: string;
  /** Keep the temp dir after stop() (also when GRENIER_TEST_KEEP=1). */
  keepDir?: boolean;
  env?: Record<string, string>;
  /** Use this existing directory instead of a fresh temp dir (e.g. to create the node key first). */
  dir?: string;
  /** Fixed RPC port (default: a free one). */
  rpcPort?: number;
  /** `rpc_public_addr`: what other nodes dial (e.g. a delaying proxy in front of rpcPort). */
  rpcPublicAddr?: string;
  /** Cluster secret (64 hex; default random, i.e. a cluster of one). */
  rpcSecret?: string;
  /** `replication_factor` (default 1). */
  replicationFactor?: number;
  /** Create an access key with createBucket through the admin API once up (default true). */
  createKey?: boolean;
  /** Address every listener binds and URLs use (default 127.0.0.1), e.g. a network namespace's. */
  host?: string;
  /** Command prefix for the server process, e.g. ['ip', 'netns', 'exec', 'ns1'] (must exec, not fork). */
  command?: string[];
}

export interface TestNode {
  s3Url: string;
  webUrl: string;
  adminUrl: string;
  adminToken: string;
  keyId: string;
  secret: string;
  region: string;
  dir: string;
  configPath: string;
  /** The RPC port the server binds (on its host, 127.0.0.1 by default). */
  rpcPort: number;
  /** pid of the current server process (changes on restart). */
  readonly pid: number;
  /** Last output of the server process (stdout + stderr), for diagnostics. */
  output(): string;
  /** Sends a signal and waits (bounded) for the process to exit. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Stops the server (SIGTERM, then SIGKILL after 10 s) and removes the temp dir. */
  stop(): Promise<void>;
  /** Starts the server again on the same dir, config and ports (stopping it first if running);
   *  waits for /health, or only /health/live with 'live' (a node that cannot reach a quorum alone). */
  restart(wait?: 'ready' | 'live'): Promise<void>;
  /** Calls an admin API v2 operation; throws on a non-2xx answer. */
  admin(op: string, body?: unknown, query?: string): Promise<any>;
}

const live = new Set<ChildProcess>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Never leave a server behind, whatever way the test process ends.
  process.on('exit', () => {
    for (const c of live) {
      try {
        c.kill('SIGKILL');
      } catch {
        /* already gone */
      }
    }
  });
}

/** Binds a random port below the kernel's ephemeral range (32768–60999), so a server started
 *  there later cannot collide with an outgoing connection's local port; retries on EADDRINUSE. */
function bindLowPort(): Promise<ReturnType<typeof createServer>> {
  return new Promise((resolve, reject) => {
    let tries = 0;
    const attempt = () => {
      const s = createServer();
      s.once('error', (e: NodeJS.ErrnoException) => {
        if (e.code === 'EADDRINUSE' && ++tries < 200) attempt();
        else reject(e);
      });
      s.listen(10_000 + Math.floor(Math.random() * 22_000), '127.0.0.1', () => resolve(s));
    };
    attempt();
  });
}

/** A free loopback port below the ephemeral range (bind, read, close). */
export async function freePort(): Promise<number> {
  return (await freePorts(1))[0]!;
}

async function freePorts(n: number): Promise<number[]> {
  // Hold all sockets open until every port is chosen, so the n ports are distinct.
  const servers: ReturnType<typeof createServer>[] = [];
  for (let i = 0; i < n; i++) servers.push(await bindLowPort());
  const ports = servers.map((s) => {
    const a = s.address();
    return typeof a === 'object' && a ? a.port : 0;
  });
  await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
  return ports;
}

/** The environment for child processes: the parent's minus AWS_*, test-runner and proxy variables. */
export function cleanEnv(extra: Record<string, string | undefined> = {}): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined) continue;
    if (/^(AWS_|NODE_TEST_CONTEXT$|NODE_OPTIONS$|RCLONE_|RESTIC_|S3CMD|BOTO_|https?_proxy$|HTTPS?_PROXY$|all_proxy$|ALL_PROXY$)/.test(k)) continue;
    out[k] = v;
  }
  out.NO_PROXY = out.no_proxy = '127.0.0.1,localhost';
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete out[k];
    else out[k] = v;
  }
  return out;
}

/** Path of an executable found on PATH (or the given absolute path if it exists), else undefined. */
export function which(bin: string): string | undefined {
  if (bin.includes('/')) return existsSync(bin) ? bin : undefined;
  for (const d of (process.env.PATH ?? '').split(delimiter)) {
    const p = join(d, bin);
    if (d && existsSync(p)) return p;
  }
  return undefined;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function waitExit(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(false), timeoutMs);
    child.once('exit', () => {
      clearTimeout(t);
      resolve(true);
    });
  });
}

export async function startNode(opts: StartOptions = {}): Promise<TestNode> {
  installExitHook();
  if (!existsSync(MAIN)) throw new Error(`startNode: ${MAIN} does not exist (the CLI entry point is missing)`);
  const region = opts.region ?? 'garage';
  const dir = opts.dir ?? mkdtempSync(join(opts.parentDir ?? tmpdir(), 'grenier-test-'));
  const [s3Port, webPort, adminPort, freeRpcPort] = await freePorts(4);
  const rpcPort = opts.rpcPort ?? freeRpcPort!;
  const host = opts.host ?? '127.0.0.1';
  const adminToken = randomBytes(24).toString('hex');
  const configPath = join(dir, 'grenier.toml');
  mkdirSync(join(dir, 'meta'), { recursive: true });
  mkdirSync(join(dir, 'data'), { recursive: true });
  writeFileSync(
    configPath,
    [
      `metadata_dir = "${join(dir, 'meta')}"`,
      `data_dir = "${join(dir, 'data')}"`,
      `replication_factor = ${opts.replicationFactor ?? 1}`,
      `rpc_secret = "${opts.rpcSecret ?? randomBytes(32).toString('hex')}"`,
      `rpc_bind_addr = "${host}:${rpcPort}"`,
      opts.rpcPublicAddr ? `rpc_public_addr = "${opts.rpcPublicAddr}"` : '',
      opts.extraConfig ?? '',
      '',
      '[s3_api]',
      `api_bind_addr = "${host}:${s3Port}"`,
      `s3_region = "${region}"`,
      'root_domain = ".s3.localhost"',
      opts.s3Config ?? '',
      '',
      '[s3_web]',
      `bind_addr = "${host}:${webPort}"`,
      'root_domain = ".web.localhost"',
      opts.webConfig ?? '',
      '',
      '[admin]',
      `api_bind_addr = "${host}:${adminPort}"`,
      `admin_token = "${adminToken}"`,
      `metrics_token = "${randomBytes(16).toString('hex')}"`,
      '',
    ].join('\n'),
  );
  const adminUrl = `http://${host}:${adminPort}`;
  // Generous: on a loaded 2-core machine loading the server's modules alone took 10–30 s.
  const startTimeoutMs = opts.startTimeoutMs ?? 60_000;
  let child: ChildProcess | undefined;
  let out = '';
  const append = (b: Buffer) => {
    out += b.toString();
    if (out.length > 64 * 1024) out = out.slice(-64 * 1024);
  };

  async function spawnServer(wait: 'ready' | 'live' = opts.wait ?? 'ready'): Promise<void> {
    const probe = wait === 'live' ? '/health/live' : '/health';
    const argv = [...(opts.command ?? []), process.execPath, MAIN, 'server', '-c', configPath];
    const c = spawn(argv[0]!, argv.slice(1), {
      cwd: REPO_ROOT,
      env: cleanEnv({ GRENIER_LOG: 'warn', ...opts.env }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = c;
    live.add(c);
    c.stdout!.on('data', append);
    c.stderr!.on('data', append);
    c.once('exit', () => live.delete(c));
    // A server left running by a failed test must not keep the test process alive (the runner
    // would wait for it for ever): unreferenced, it is SIGKILLed by the exit hook instead.
    c.unref();
    (c.stdout as unknown as { unref?: () => void }).unref?.();
    (c.stderr as unknown as { unref?: () => void }).unref?.();
    const deadline = Date.now() + startTimeoutMs;
    let last = '';
    for (;;) {
      if (c.exitCode !== null || c.signalCode !== null)
        throw new Error(`startNode: server exited (code ${c.exitCode}, signal ${c.signalCode}) before answering ${probe}; output:\n${out}`);
      try {
        const r = await fetch(`${adminUrl}${probe}`, { signal: AbortSignal.timeout(1000) });
        await r.arrayBuffer();
        if (r.ok) return;
        last = `HTTP ${r.status}`;
      } catch (e) {
        last = String((e as Error).cause ?? e);
      }
      if (Date.now() > deadline) {
        c.kill('SIGKILL');
        throw new Error(`startNode: no healthy answer from ${adminUrl}${probe} within ${startTimeoutMs} ms (last: ${last}); output:\n${out}`);
      }
      await sleep(100);
    }
  }

  async function admin(op: string, body?: unknown, query = ''): Promise<any> {
    const r = await fetch(`${adminUrl}/v2/${op}${query ? '?' + query : ''}`, {
      method: body === undefined ? 'GET' : 'POST',
      headers: { authorization: `Bearer ${adminToken}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(10_000),
    });
    const text = await r.text();
    if (!r.ok) throw new Error(`admin ${op}: HTTP ${r.status}: ${text}`);
    return text ? JSON.parse(text) : undefined;
  }

  async function kill(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const c = child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    c.kill(signal);
    if (!(await waitExit(c, 10_000))) {
      c.kill('SIGKILL');
      if (!(await waitExit(c, 5_000))) throw new Error(`server pid ${c.pid} did not exit within 15 s of ${signal} + SIGKILL`);
    }
  }

  let stopped = false;
  const node: TestNode = {
    s3Url: `http://${host}:${s3Port}`,
    webUrl: `http://${host}:${webPort}`,
    adminUrl,
    adminToken,
    keyId: '',
    secret: '',
    region,
    dir,
    configPath,
    rpcPort,
    get pid() {
      return child?.pid ?? -1;
    },
    output: () => out,
    kill,
    admin,
    async stop() {
      if (stopped) return;
      stopped = true;
      await kill('SIGTERM');
      if (!(opts.keepDir || process.env.GRENIER_TEST_KEEP === '1')) rmSync(dir, { recursive: true, force: true });
    },
    async restart(wait = 'ready') {
      await kill('SIGTERM');
      await spawnServer(wait);
    },
  };

  try {
    await spawnServer();
    if (opts.createKey === false) return node;
    const k = await admin('CreateKey', { name: 'test', allow: { createBucket: true } });
    if (!k?.accessKeyId || !k?.secretAccessKey) throw new Error(`startNode: CreateKey gave no credentials: ${JSON.stringify(k)}`);
    if (k.permissions?.createBucket !== true) await admin('UpdateKey', { allow: { createBucket: true } }, `id=${encodeURIComponent(k.accessKeyId)}`);
    node.keyId = k.accessKeyId;
    node.secret = k.secretAccessKey;
  } catch (e) {
    await node.stop().catch(() => {});
    throw e;
  }
  return node;
}

/** An @aws-sdk/client-s3 client for the node (path-style, its region, its key, no retries). */
export function s3Client(node: TestNode, extra: Partial<S3ClientConfig> = {}): S3Client {
  return new S3Client({
    endpoint: node.s3Url,
    forcePathStyle: true,
    region: node.region,
    credentials: { accessKeyId: node.keyId, secretAccessKey: node.secret },
    maxAttempts: 1,
    ...extra,
  });
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion (killed with a clear error after timeoutMs, default 120 s). */
export function run(
  cmd: string,
  args: string[],
  opts: { env?: Record<string, string>; input?: string | Buffer; timeoutMs?: number; cwd?: string } = {},
): Promise<RunResult> {
  const timeoutMs = opts.timeoutMs ?? 120_000;
  return new Promise((resolve, reject) => {
    const c = spawn(cmd, args, { env: opts.env ?? cleanEnv(), cwd: opts.cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    live.add(c);
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    c.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const timer = setTimeout(() => {
      c.kill('SIGKILL');
      reject(new Error(`run: ${cmd} ${args.join(' ')} did not finish within ${timeoutMs} ms\nstdout: ${stdout.slice(-2000)}\nstderr: ${stderr.slice(-2000)}`));
    }, timeoutMs);
    c.once('error', (e) => {
      clearTimeout(timer);
      live.delete(c);
      reject(new Error(`run: cannot start ${cmd}: ${e.message}`));
    });
    c.once('close', (code, signal) => {
      clearTimeout(timer);
      live.delete(c);
      resolve({ code, signal, stdout, stderr });
    });
    c.stdin.on('error', () => {});
    c.stdin.end(opts.input ?? '');
  });
}

/** Formats a RunResult for an assertion message. */
export function describeRun(what: string, r: RunResult): string {
  return `${what} exited ${r.code}${r.signal ? ` (signal ${r.signal})` : ''}\nstdout: ${r.stdout.slice(-3000)}\nstderr: ${r.stderr.slice(-3000)}`;
}
