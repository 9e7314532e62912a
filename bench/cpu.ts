// CPU cost per operation of one node (issue 12): fixed client workloads against a single server,
// the server's own CPU time (utime + stime of every thread, /proc/<pid>/stat) divided by the ops.
// Wall time on a busy 2-core machine says little; CPU per op is what a change moves.
//   ./node_modules/.bin/node bench/cpu.ts [list|put4k|get4k|put64m ...] [--prof DIR] [--n N] [--node-flags '...']
// --prof writes the server's V8 CPU profile (--cpu-prof) into DIR at exit; bench/cpu-top.ts sums it.
// --n: listings of 10 pages, or PUTs/GETs; --node-flags: node/V8 flags for the server (e.g.
// --trace-gc, --max-semi-space-size=16), whose output is then printed.
import { readFileSync, mkdirSync } from 'node:fs';
import { CreateBucketCommand, PutObjectCommand, GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { startNode } from '../test/lib/node.ts';
import { FastPrng } from '../test/lib/files.ts';
import { MiB, benchClient, drain, loadString, parallel } from './lib.ts';
import { cpuMs } from './proc.ts';

const argv = process.argv.slice(2);
const flag = (name: string): string | undefined => {
  const i = argv.indexOf(name);
  if (i < 0) return undefined;
  const v = argv[i + 1];
  argv.splice(i, 2);
  return v;
};
const profDir = flag('--prof');
const nArg = flag('--n');
/** Extra node/V8 flags for the server (e.g. --trace-gc); its output's tail is printed at the end. */
const nodeOptions = flag('--node-flags');
const workloads = argv.length ? argv : ['list', 'put4k', 'get4k'];
const BUCKET = 'cpu-bench';

if (profDir) mkdirSync(profDir, { recursive: true });
const flags = [profDir ? `--cpu-prof --cpu-prof-dir=${profDir}` : '', nodeOptions ?? ''].join(' ').trim();
// V8 flags are refused in NODE_OPTIONS: a shell that execs node with them keeps the server's pid.
const node = await startNode(flags ? { command: ['bash', '-c', `exec "$0" ${flags} "$@"`] } : {});
const client = benchClient(node.s3Url, node.keyId, node.secret, node.region);
try {
  await client.send(new CreateBucketCommand({ Bucket: BUCKET }));
  const measure = async (name: string, ops: number, fn: () => Promise<void>): Promise<void> => {
    const l0 = loadString();
    const c0 = cpuMs(node.pid);
    const t0 = performance.now();
    await fn();
    const wall = performance.now() - t0;
    const cpu = cpuMs(node.pid) - c0;
    console.log(`${name}: ${ops} ops, server CPU ${cpu.toFixed(0)} ms = ${(cpu / ops).toFixed(3)} ms/op, wall ${(wall / 1000).toFixed(1)} s [${l0} → ${loadString()}]`);
  };
  // Background work a fill leaves behind (group commits, Merkle updates) must not count as the
  // next workload's: wait until the server is idle for a second (at most 30 s).
  const settle = async (): Promise<void> => {
    for (let i = 0; i < 30; i++) {
      const c0 = cpuMs(node.pid);
      await new Promise((r) => setTimeout(r, 1000));
      if (cpuMs(node.pid) - c0 < 50) return;
    }
  };
  const small = new FastPrng(9).bytes(4096);
  for (const w of workloads) {
    if (w === 'list') {
      const keys = 10_000;
      await parallel(32, keys, (i) => client.send(new PutObjectCommand({ Bucket: BUCKET, Key: `list/${String(i).padStart(6, '0')}`, Body: Buffer.alloc(0), ContentLength: 0 })).then(() => {}));
      await settle();
      const rounds = Number(nArg ?? 5);
      await measure(`ListObjectsV2 ${keys} keys x ${rounds} (per op = one 1000-key page)`, rounds * 10, async () => {
        for (let r = 0; r < rounds; r++) {
          let token: string | undefined;
          let n = 0;
          do {
            const page = await client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'list/', ContinuationToken: token }));
            n += page.KeyCount ?? 0;
            token = page.IsTruncated ? page.NextContinuationToken : undefined;
          } while (token);
          if (n !== keys) throw new Error(`listed ${n} keys, wanted ${keys}`);
        }
      });
    } else if (w === 'put4k' || w === 'get4k') {
      const n = Number(nArg ?? 2000);
      if (w === 'put4k')
        await measure(`PUT 4KiB c=16`, n, async () => {
          await parallel(16, n, (i) => client.send(new PutObjectCommand({ Bucket: BUCKET, Key: `small/${i}`, Body: small, ContentLength: small.length })).then(() => {}));
        });
      else {
        await parallel(16, 500, (i) => client.send(new PutObjectCommand({ Bucket: BUCKET, Key: `g/${i}`, Body: small, ContentLength: small.length })).then(() => {}));
        await settle();
        await measure(`GET 4KiB c=16`, n, async () => {
          await parallel(16, n, async (i) => {
            const got = await drain((await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: `g/${(i * 7919) % 500}` }))).Body);
            if (got !== 4096) throw new Error(`GET read ${got}`);
          });
        });
      }
    } else if (w === 'put64m') {
      const big = new FastPrng(7).bytes(64 * MiB);
      const n = Number(nArg ?? 3);
      await measure(`PUT 64MiB sequential`, n, async () => {
        for (let i = 0; i < n; i++) await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: `big-${i}`, Body: big, ContentLength: big.length }));
      });
    } else throw new Error(`unknown workload ${w}`);
  }
  const st = readFileSync(`/proc/${node.pid}/status`, 'utf8');
  const kb = (k: string) => (Number(new RegExp(`${k}:\\s*(\\d+)`).exec(st)?.[1] ?? NaN) / 1024).toFixed(1);
  console.log(`server memory: VmRSS ${kb('VmRSS')} MiB, VmHWM ${kb('VmHWM')} MiB`);
} finally {
  client.destroy();
  await node.stop();
  if (nodeOptions) console.log(node.output());
}
