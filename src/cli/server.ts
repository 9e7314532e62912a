// `grenier server`: runs a node from a config file, or on first run writes and uses the embedded
// single-node dev config under ./data, creating a first access key and printing how to connect.
import { existsSync } from 'node:fs';
import { flushCompileCache, getCompileCacheDir } from 'node:module';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig, splitAddr, type Config } from '../config/config.ts';
import { ensureDevConfig } from '../config/dev.ts';
import { GrenierNode } from '../node.ts';
import { createKey } from '../model/bucket-ops.ts';
import { log } from '../util/log.ts';
import { privateDir } from '../db/private-files.ts';
import { registry } from '../util/metrics.ts';
import { Counter } from 'prom-client';
import { keepServingOnBrokenPipes } from './broken-pipe.ts';

const unhandledRejections = new Counter({
  name: 'unhandled_rejections_total',
  help: 'Promise rejections nobody handled (each one is a bug: logged, the node keeps running)',
  registers: [registry],
});

/** Last-resort net: a rejection nobody handled is a bug to log and count, not a reason to stop
 *  serving every other request. Code must still handle its rejections; this only keeps the node up. */
export function survivesUnhandledRejections(): void {
  process.on('unhandledRejection', (reason) => {
    unhandledRejections.inc();
    log.error({ err: reason }, 'unhandled promise rejection (a bug; the node keeps running)');
  });
}

function url(addr: string): string {
  const { host, port } = splitAddr(addr);
  const h = host === '::' || host === '0.0.0.0' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  return `http://${h}:${port}`;
}

/** Node's compile cache for a checkout's server: the TypeScript sources are type-stripped by a
 *  WebAssembly compiler that, once loaded, stays in the process (+16 MiB anonymous, +5 MiB of
 *  binary pages: a node idle at 101 MiB RSS is at 84 with the cache, 80 built to JavaScript).
 *  With the stripped code cached, a warm start never loads it. The cache sits in the checkout's
 *  node_modules, as trusted as the code it is derived from (a shared /tmp is not: Node checks
 *  entries with a CRC32 only). undefined when running built JavaScript (an install), which
 *  nothing strips, or when there is no node_modules/. */
function compileCacheDir(): string | undefined {
  if (!import.meta.url.endsWith('.ts')) return undefined;
  const modules = fileURLToPath(new URL('../../node_modules/', import.meta.url));
  return existsSync(modules) ? join(modules, '.cache', 'grenier-compile') : undefined;
}

/** Whether this process loaded the type stripper (some module was not in the compile cache). */
const stripperLoaded = (): boolean => ((process as unknown as { moduleLoadList?: string[] }).moduleLoadList ?? []).some((m) => m.includes('internal/deps/amaro'));

/** Re-executes this process (same pid) with memory settings that keep RSS flat while multi-GiB
 *  objects stream and bounded with many sites: stream buffers are small heap objects holding
 *  large off-heap memory, so a small young generation frees them promptly; two malloc arenas
 *  limit fragmentation from the I/O threads; a heap ceiling keeps V8 near its live set; the
 *  compile cache (compileCacheDir) spares a checkout's server the type stripper. All can only be
 *  set at process start. A re-executed process that still had to strip (a cold cache: first
 *  start after a change) writes the cache and re-executes once more, so the process that serves
 *  never holds the stripper. GRENIER_NO_TUNE=1 disables it, GRENIER_HEAP_MB changes the ceiling,
 *  GRENIER_COMPILE_CACHE_DIR the cache's place (NODE_COMPILE_CACHE, set before the start, wins). */
function tuneRuntime(): void {
  if (process.env.GRENIER_NO_TUNE || typeof process.execve !== 'function') return;
  const stage = process.env.GRENIER_TUNED;
  // getCompileCacheDir(): the cache could be enabled (its directory is writable), so it will hit next time.
  if (stage === '1' && getCompileCacheDir() && stripperLoaded()) {
    flushCompileCache();
    process.execve(process.execPath, [process.execPath, ...process.execArgv, ...process.argv.slice(1)], { ...process.env, GRENIER_TUNED: '2' });
  }
  if (stage) return;
  const env: Record<string, string | undefined> = { ...process.env, GRENIER_TUNED: '1', MALLOC_ARENA_MAX: process.env.MALLOC_ARENA_MAX ?? '2' };
  const cache = process.env.GRENIER_COMPILE_CACHE_DIR || compileCacheDir();
  if (cache && !env.NODE_COMPILE_CACHE && !env.NODE_DISABLE_COMPILE_CACHE) env.NODE_COMPILE_CACHE = cache;
  // V8 sizes its old generation from the machine's memory and then rarely shrinks; a fixed
  // ceiling keeps it near the live set (a node with 50,000 sites: 330 -> 157 MiB anonymous).
  const heapMb = process.env.GRENIER_HEAP_MB ?? '384';
  process.execve(process.execPath, [process.execPath, '--max-semi-space-size=1', `--max-old-space-size=${heapMb}`, ...process.execArgv, ...process.argv.slice(1)], env);
}

export async function runServer(opts: { config?: string }): Promise<void> {
  tuneRuntime();
  // Whoever reads the node's output may go away (a closed terminal, a log pipe): it keeps serving.
  keepServingOnBrokenPipes();
  const path = opts.config ?? process.env.GRENIER_CONFIG;
  let cfgPath: string;
  let dev = false;
  if (path) cfgPath = resolve(path);
  else {
    const r = ensureDevConfig(resolve('data'));
    cfgPath = r.path;
    dev = true;
    if (r.created) log.info({ path: cfgPath }, 'wrote a single-node dev config');
  }
  const config: Config = loadConfig(cfgPath);
  survivesUnhandledRejections();
  // Before anything writes there: the metadata holds every secret key in clear.
  privateDir(config.metadata_dir, 'metadata_dir');
  privateDir(config.data_dir, 'data_dir');
  const node = new GrenierNode(config);
  await node.start();
  if (dev) {
    const keys = (await node.store.keys.range('key')).filter((k) => !k.deleted.v);
    const key = keys.find((k) => k.name.v === 'dev') ?? (await createKey(node.store, 'dev', { allowCreateBucket: true }));
    const lines = [
      '',
      'Grenier is running (single-node dev mode).',
      `  config          ${cfgPath}`,
      `  S3 endpoint     ${url(config.s3_api.api_bind_addr)}   (region ${config.s3_api.s3_region})`,
      `  web endpoint    ${url(config.s3_web.bind_addr)}   (sites as <bucket>${config.s3_web.root_domain ?? ''})`,
      `  admin API       ${url(config.admin.api_bind_addr)}   (token ${config.admin.admin_token})`,
      `  access key id   ${key.id}`,
      `  secret key      ${key.secret}`,
      '',
      `  try: AWS_ACCESS_KEY_ID=${key.id} AWS_SECRET_ACCESS_KEY=${key.secret} aws --endpoint-url ${url(config.s3_api.api_bind_addr)} --region ${config.s3_api.s3_region} s3 mb s3://hello`,
      '',
    ];
    process.stdout.write(lines.join('\n') + '\n');
  } else {
    process.stdout.write(`grenier node ${node.nodeId.slice(0, 16)} listening: S3 ${url(config.s3_api.api_bind_addr)}, admin ${url(config.admin.api_bind_addr)}\n`);
  }
  let stopping = false;
  const stop = async (sig: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ sig }, 'stopping');
    await node.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}
