// `grenier server`: runs a node from a config file, or on first run writes and uses the embedded
// single-node dev config under ./data, creating a first access key and printing how to connect.
import { resolve } from 'node:path';
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

/** Re-executes this process (same pid) with memory settings that keep RSS flat while multi-GiB
 *  objects stream and bounded with many sites: stream buffers are small heap objects holding
 *  large off-heap memory, so a small young generation frees them promptly; two malloc arenas
 *  limit fragmentation from the I/O threads; a heap ceiling keeps V8 near its live set. All can
 *  only be set at process start. GRENIER_NO_TUNE=1 disables it, GRENIER_HEAP_MB changes the ceiling. */
function tuneRuntime(): void {
  if (process.env.GRENIER_TUNED || process.env.GRENIER_NO_TUNE || typeof process.execve !== 'function') return;
  const env = { ...process.env, GRENIER_TUNED: '1', MALLOC_ARENA_MAX: process.env.MALLOC_ARENA_MAX ?? '2' };
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
