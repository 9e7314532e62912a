// Main-thread CPU per 64 MiB PUT with the hash workers off (limits.hash_workers = 0: every hash on the
// main thread) and on (-1: cores - 1), issue 12 item 1. Main thread = /proc/<pid>/task/<pid>/stat;
// the process total (all threads) is printed too: offloading moves CPU, it does not remove it.
//   ./node_modules/.bin/node bench/hash-cpu.ts [--n N] [--workers 0,-1] [--prof DIR]
// --prof: the server's V8 CPU profiles (--cpu-prof) in DIR/workers<w> (sum them with bench/cpu-top.ts).
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { startNode } from '../test/lib/node.ts';
import { FastPrng } from '../test/lib/files.ts';
import { MiB, benchClient, loadString } from './lib.ts';
import { cpuMs } from './proc.ts';

const argv = process.argv.slice(2);
const arg = (name: string, dflt: string): string => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1]! : dflt;
};
const n = Number(arg('--n', '5'));
const profDir = arg('--prof', '');
const modes = arg('--workers', '0,-1').split(',').map(Number);
const tickMs = 1000 / Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());

function threadCpuMs(pid: number, tid: number): number {
  const s = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) * tickMs;
}

/** CPU ms of every thread of the process by thread name (comm), to see where moved work went. */
function byThread(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const s = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const name = Number(tid) === pid ? 'main' : s.slice(s.indexOf('(') + 1, s.lastIndexOf(')'));
      out.set(name, (out.get(name) ?? 0) + threadCpuMs(pid, Number(tid)));
    } catch {
      // the thread ended
    }
  }
  return out;
}

const big = new FastPrng(7).bytes(64 * MiB);
for (const w of modes) {
  const prof = profDir ? `--cpu-prof --cpu-prof-dir=${profDir}/workers${w}` : '';
  // V8 flags are refused in NODE_OPTIONS: a shell that execs node with them keeps the server's pid.
  const node = await startNode({ extraConfig: `[limits]\nhash_workers = ${w}`, ...(prof ? { command: ['bash', '-c', `exec "$0" ${prof} "$@"`] } : {}) });
  const client = benchClient(node.s3Url, node.keyId, node.secret, node.region);
  try {
    await client.send(new CreateBucketCommand({ Bucket: 'hash-cpu' }));
    // One warm-up PUT (JIT, worker start, buffer pools), then n measured.
    await client.send(new PutObjectCommand({ Bucket: 'hash-cpu', Key: 'warm', Body: big, ContentLength: big.length }));
    const l0 = loadString();
    const m0 = threadCpuMs(node.pid, node.pid);
    const p0 = cpuMs(node.pid);
    const b0 = byThread(node.pid);
    const t0 = performance.now();
    for (let i = 0; i < n; i++) await client.send(new PutObjectCommand({ Bucket: 'hash-cpu', Key: `big-${i}`, Body: big, ContentLength: big.length }));
    const wall = (performance.now() - t0) / 1000;
    const main = (threadCpuMs(node.pid, node.pid) - m0) / n;
    const all = (cpuMs(node.pid) - p0) / n;
    const b1 = byThread(node.pid);
    const threads = [...b1].map(([k, v]) => [k, (v - (b0.get(k) ?? 0)) / n] as const).filter(([, v]) => v >= 5).sort((a, b) => b[1] - a[1]);
    console.log(`hash_workers=${w}: ${n} x PUT 64MiB, main thread ${main.toFixed(0)} ms/PUT, process ${all.toFixed(0)} ms/PUT, ${((n * 64) / wall).toFixed(1)} MiB/s [${l0} → ${loadString()}]\n  per thread (ms/PUT): ${threads.map(([k, v]) => `${k} ${v.toFixed(0)}`).join(', ')}`);
  } finally {
    client.destroy();
    await node.stop();
  }
}
