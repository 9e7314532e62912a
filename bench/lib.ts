// Shared benchmark plumbing: the Result every section returns (Grenier figure vs a reference
// measured in the same run), load-average capture, timing loops, and the printing/saving helpers.
import { loadavg } from 'node:os';
import { Agent } from 'node:http';
import { S3Client } from '@aws-sdk/client-s3';
import { readFileSync, writeFileSync } from 'node:fs';

/** One figure: Grenier against its reference, measured back to back in the same run. */
export interface Result {
  /** Section that produced it ("s3", "web", later "geo"). */
  section: string;
  /** What was measured, e.g. "PUT 64MiB". */
  name: string;
  /** Unit of grenier and reference, e.g. "MiB/s", "ops/s", "req/s", "MiB". */
  unit: string;
  grenier: number;
  reference: number;
  /** Name of the reference ("reference", "nginx", "500 sites"...). */
  referenceName: string;
  /** grenier / reference. */
  ratio: number;
  /** Wanted ratio, when there is one; `lowerIsBetter` flips the comparison (e.g. memory). */
  goal?: number;
  lowerIsBetter?: boolean;
  /** 1-minute load average at the start and end of the measurement. */
  load: [number, number];
  note?: string;
}

/** A section of the benchmark: runs its measurements and returns their results (printed as it goes). */
export type Section = (opts: SectionOptions) => Promise<Result[]>;

export interface SectionOptions {
  /** Multiplier for durations and counts (BENCH_SCALE, default 1; smaller = quicker, noisier). */
  scale: number;
}

export function load1(): number {
  return loadavg()[0]!;
}

/** `uptime`-style load string, e.g. "load 1.23 0.98 0.70". */
export function loadString(): string {
  return `load ${loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')}`;
}

/** Builds a Result, computing the ratio and the load pair. */
export function result(r: Omit<Result, 'ratio' | 'load'> & { load?: [number, number]; loadStart?: number }): Result {
  const { loadStart, ...rest } = r;
  return {
    ...rest,
    ratio: r.reference > 0 ? r.grenier / r.reference : NaN,
    load: r.load ?? [loadStart ?? load1(), load1()],
  };
}

export function fmtNum(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  const a = Math.abs(x);
  if (a >= 1000) return x.toFixed(0);
  if (a >= 100) return x.toFixed(1);
  if (a >= 10) return x.toFixed(1);
  return x.toFixed(2);
}

function verdict(r: Result): string {
  if (r.goal === undefined || !Number.isFinite(r.ratio)) return '';
  const ok = r.lowerIsBetter ? r.ratio <= r.goal : r.ratio >= r.goal;
  return ` (goal ${r.lowerIsBetter ? '≤' : '≥'} ${r.goal}: ${ok ? 'met' : 'NOT met'})`;
}

/** One line per result, e.g. `PUT 64MiB: grenier 61.2 MiB/s, reference 180.3 MiB/s, ratio 0.34 [load 1.2→1.9]`. */
export function formatResult(r: Result): string {
  return (
    `${r.name}: grenier ${fmtNum(r.grenier)} ${r.unit}, ${r.referenceName} ${fmtNum(r.reference)} ${r.unit}, ` +
    `ratio ${r.ratio.toFixed(2)}${verdict(r)} [load ${r.load[0].toFixed(2)}→${r.load[1].toFixed(2)}]`
  );
}

export function printResult(r: Result): void {
  console.log(`  ${formatResult(r)}`);
  if (r.note) console.log(`    ${r.note}`);
}

/** A progress/explanation line, indented under the section heading. */
export function info(msg: string): void {
  console.log(`  · ${msg}`);
}

export function heading(title: string): void {
  console.log(`\n== ${title} (${loadString()}) ==`);
}

/** The final table: one row per result. */
export function printSummary(results: Result[]): void {
  const rows = [
    ['section', 'measure', 'grenier', 'reference', 'ref', 'ratio', 'goal', 'load'],
    ...results.map((r) => [
      r.section,
      r.name,
      `${fmtNum(r.grenier)} ${r.unit}`,
      `${fmtNum(r.reference)} ${r.unit}`,
      r.referenceName,
      r.ratio.toFixed(2),
      r.goal === undefined ? '' : `${r.lowerIsBetter ? '≤' : '≥'}${r.goal}${verdict(r).includes('NOT') ? ' ✗' : ' ✓'}`,
      `${r.load[0].toFixed(2)}→${r.load[1].toFixed(2)}`,
    ]),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  const line = (row: string[]) => row.map((c, i) => (i >= 2 && i <= 5 && i !== 4 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ');
  console.log('\n== summary ==');
  console.log(line(rows[0]!));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const row of rows.slice(1)) console.log(line(row));
}

/** Writes the results (with machine context) as JSON; returns the path. Not committed. */
export function saveResults(results: Result[], path: string): string {
  let cpu = '';
  try {
    cpu = /model name\s*:\s*(.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? '';
  } catch {
    /* not Linux */
  }
  writeFileSync(
    path,
    JSON.stringify({ date: new Date().toISOString(), node: process.version, cpu, loadavgAtEnd: loadavg(), results }, null, 2) + '\n',
  );
  return path;
}

/** Runs `fn` once per item from `count` workers in parallel; returns elapsed seconds. */
export async function parallel(concurrency: number, total: number, fn: (i: number) => Promise<void>): Promise<number> {
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let i = next++; i < total; i = next++) await fn(i);
    }),
  );
  return (performance.now() - t0) / 1000;
}

/** Runs `fn` from `concurrency` workers until `seconds` have passed; returns operations per second. */
export async function opsFor(concurrency: number, seconds: number, fn: (i: number) => Promise<void>): Promise<{ ops: number; perSec: number }> {
  let next = 0;
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) await fn(next++);
    }),
  );
  const elapsed = (performance.now() - t0) / 1000;
  return { ops: next, perSec: next / elapsed };
}

/** Resident set size of a process in MiB (VmRSS from /proc/<pid>/status). */
export function rssMiB(pid: number): number {
  const s = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /VmRSS:\s*(\d+)\s*kB/.exec(s);
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]) / 1024;
}

/** VmRSS with its anonymous and file-backed parts (LMDB's map counts as file-backed), in MiB. */
export function rssDetail(pid: number): { rss: number; anon: number; file: number } {
  const s = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string) => Number(new RegExp(`${k}:\\s*(\\d+)\\s*kB`).exec(s)?.[1] ?? NaN) / 1024;
  return { rss: kb('VmRSS'), anon: kb('RssAnon'), file: kb('RssFile') + kb('RssShmem') };
}

export const MiB = 1024 * 1024;

/** Reads a response body to its end; returns its length. */
export async function drain(body: unknown): Promise<number> {
  let n = 0;
  for await (const c of body as AsyncIterable<Buffer>) n += c.length;
  return n;
}

/** The benchmarks' S3 client: path style, no retries, keep-alive, and checksums only when an op
 *  requires one (the SDK's default CRC32 on every request/response would dominate small ops and
 *  add a full pass over large bodies on the client). */
export function benchClient(endpoint: string, keyId: string, secret: string, region: string): S3Client {
  return new S3Client({
    endpoint,
    forcePathStyle: true,
    region,
    credentials: { accessKeyId: keyId, secretAccessKey: secret },
    maxAttempts: 1,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    requestHandler: { httpAgent: new Agent({ keepAlive: true, maxSockets: 64 }) },
  });
}
