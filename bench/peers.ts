// Peers section (issue 12 item 5): the same workloads, from the same @aws-sdk/client-s3 client, on
// a single Grenier node and on a throwaway single-host Ceph RGW (bench/peers/rgw-up.sh), measured
// alternately in one run: 4 KiB PUT/GET ops/s at c=16, 64 MiB PUT/GET MiB/s, ListObjectsV2 over
// 10,000 keys, RSS of each side, and each side's server CPU per operation (what a busy machine's
// wall times hide). Skipped with a message when Debian's radosgw is not installed.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { S3Client, CreateBucketCommand, PutObjectCommand, GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { startNode, which, freePort, type TestNode } from '../test/lib/node.ts';
import { FastPrng } from '../test/lib/files.ts';
import { MiB, benchClient, drain, heading, info, load1, opsFor, parallel, printResult, result, rssMiB, type Result, type SectionOptions } from './lib.ts';
import { cpuMs } from './proc.ts';

const BUCKET = 'peers-bench';
const CONCURRENCY = 16;
const LIST_KEYS = 10_000;
const EMPTY = Buffer.alloc(0);
/** What RGW may use at most for the memory figure: half of its ~350 MB (issue 12). */
const RSS_GOAL = 0.5;
const SCRIPTS = fileURLToPath(new URL('./peers/', import.meta.url));

interface Side {
  name: string;
  client: S3Client;
  /** Resident memory of everything serving this side, MiB. */
  rss(): number;
  /** CPU time used so far by everything serving this side, ms. */
  cpu(): number;
}

/** One measurement: its figure and how many operations it made (for CPU per operation). */
interface Round {
  value: number;
  ops: number;
}


interface Rgw {
  endpoint: string;
  keyId: string;
  secret: string;
  dir: string;
  pids(): number[];
  stop(): void;
}

/** Starts the throwaway RGW (about 20 s) in its own /tmp directory on free ports. */
async function startRgw(): Promise<Rgw> {
  const dir = `/tmp/grenier-bench-rgw-${process.pid}`;
  const port = await freePort();
  const monPort = await freePort();
  const env = { ...process.env, RGW_DIR: dir, RGW_PORT: String(port), RGW_MON_PORT: String(monPort) };
  const stop = () => {
    try {
      execFileSync('bash', [`${SCRIPTS}rgw-down.sh`], { env, stdio: 'ignore', timeout: 60_000 });
    } catch {
      /* best effort: the directory is under /tmp */
    }
  };
  try {
    execFileSync('bash', [`${SCRIPTS}rgw-up.sh`], { env, stdio: ['ignore', 'ignore', 'pipe'], timeout: 180_000 });
  } catch (e) {
    stop();
    throw new Error(`rgw-up.sh failed: ${String((e as { stderr?: Buffer }).stderr ?? e).slice(-800)}`);
  }
  const sh = readFileSync(`${dir}/env.sh`, 'utf8');
  const v = (k: string) => new RegExp(`export ${k}=(.*)`).exec(sh)?.[1]?.trim() ?? '';
  return {
    endpoint: v('S3_ENDPOINT'),
    keyId: v('AWS_ACCESS_KEY_ID'),
    secret: v('AWS_SECRET_ACCESS_KEY'),
    dir,
    pids: () =>
      ['mon.a', 'osd.0', 'rgw.peer']
        .map((n) => `${dir}/run/${n}.pid.sh`)
        .filter((f) => existsSync(f))
        .map((f) => Number(readFileSync(f, 'utf8').trim())),
    stop,
  };
}

/** Runs measure(side) alternately (grenier, rgw, grenier, rgw) and averages each side; also
 *  each side's server CPU per operation over all its rounds. */
async function alternate(rounds: number, sides: [Side, Side], measure: (s: Side, round: number) => Promise<Round>): Promise<{ value: [number, number]; cpuPerOp: [number, number] }> {
  const sums = [0, 0];
  const cpu = [0, 0];
  const ops = [0, 0];
  for (let r = 0; r < rounds; r++)
    for (let i = 0; i < 2; i++) {
      const c0 = sides[i]!.cpu();
      const m = await measure(sides[i]!, r);
      cpu[i]! += sides[i]!.cpu() - c0;
      sums[i]! += m.value;
      ops[i]! += m.ops;
    }
  return { value: [sums[0]! / rounds, sums[1]! / rounds], cpuPerOp: [cpu[0]! / ops[0]!, cpu[1]! / ops[1]!] };
}

export async function peersSection(opts: SectionOptions): Promise<Result[]> {
  heading('peers: Grenier vs Ceph RGW, single host');
  const results: Result[] = [];
  const missing = ['radosgw', 'ceph-mon', 'ceph-osd', 'ceph'].filter((b) => !which(b));
  if (missing.length) {
    info(`skipped: ${missing.join(', ')} not installed (apt-get install -y --no-install-recommends ceph-mon ceph-osd radosgw ceph-common)`);
    return results;
  }
  let node: TestNode | undefined;
  let rgw: Rgw | undefined;
  try {
    info('starting a throwaway Ceph (1 mon, 1 bluestore OSD on a sparse file, no mgr) and radosgw (bench/peers/rgw-up.sh, ~20 s)');
    rgw = await startRgw();
    node = await startNode();
    const n = node;
    const r = rgw;
    const g: Side = { name: 'grenier', client: benchClient(n.s3Url, n.keyId, n.secret, n.region), rss: () => rssMiB(n.pid), cpu: () => cpuMs(n.pid) };
    const c: Side = {
      name: 'rgw',
      client: benchClient(r.endpoint, r.keyId, r.secret, 'us-east-1'),
      rss: () => r.pids().reduce((s, p) => s + rssMiB(p), 0),
      cpu: () => r.pids().reduce((s, p) => s + cpuMs(p), 0),
    };
    info(`grenier: one node, defaults (data_fsync=false, metadata_fsync=true); rgw: ceph 16 defaults, 1 replica (size 1 pools)`);
    info('the same @aws-sdk/client-s3 code drives both (checksums WHEN_REQUIRED, keep-alive, payload signed), alternating rounds');
    for (const s of [g, c]) await s.client.send(new CreateBucketCommand({ Bucket: BUCKET }));
    const rounds = 2;
    const sides: [Side, Side] = [g, c];
    const push = (name: string, unit: string, gv: number, rv: number, note: string, lowerIsBetter = false, goal = lowerIsBetter ? undefined : 1) => {
      results.push(result({ section: 'peers', name, unit, grenier: gv, reference: rv, referenceName: 'RGW', goal, lowerIsBetter, loadStart: l0, note }));
      printResult(results.at(-1)!);
    };
    /** The figure, then each side's server CPU per operation (informational: lower is better). */
    const pushBoth = (name: string, unit: string, m: { value: [number, number]; cpuPerOp: [number, number] }, opName: string, note: string) => {
      push(name, unit, m.value[0], m.value[1], note);
      push(`${name}: server CPU per ${opName}`, 'ms', m.cpuPerOp[0], m.cpuPerOp[1], 'utime + stime from /proc: the grenier process vs ceph-mon + ceph-osd + radosgw', true, undefined);
    };

    // --- 4 KiB objects, CONCURRENCY in flight, for a fixed time ---
    const small = new FastPrng(9).bytes(4096);
    const seconds = Math.max(1, 4 * opts.scale);
    for (const s of sides) await opsFor(CONCURRENCY, 0.5, (i) => s.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: `warm/${i}`, Body: small })).then(() => {}));
    const written = new Map<string, number>();
    let l0 = load1();
    let m = await alternate(rounds, sides, async (s, round) => {
      const { ops, perSec } = await opsFor(CONCURRENCY, seconds, async (i) => {
        await s.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: `small/${round}/${i}`, Body: small, ContentLength: small.length }));
      });
      if (round === 0) written.set(s.name, ops);
      return { value: perSec, ops };
    });
    pushBoth(`PUT 4KiB c=${CONCURRENCY}`, 'ops/s', m, 'PUT', `${seconds} s × ${rounds} rounds each`);
    l0 = load1();
    m = await alternate(rounds, sides, async (s) => {
      const count = written.get(s.name)!;
      const { ops, perSec } = await opsFor(CONCURRENCY, seconds, async (i) => {
        const got = await drain((await s.client.send(new GetObjectCommand({ Bucket: BUCKET, Key: `small/0/${(i * 7919) % count}` }))).Body);
        if (got !== 4096) throw new Error(`${s.name}: GET 4KiB read ${got} bytes`);
      });
      return { value: perSec, ops };
    });
    pushBoth(`GET 4KiB c=${CONCURRENCY}`, 'ops/s', m, 'GET', `${seconds} s × ${rounds} rounds each, over the objects written by round 0`);

    // --- 64 MiB objects, one at a time ---
    const big = new FastPrng(7).bytes(64 * MiB);
    const bigCount = Math.max(1, Math.round(2 * opts.scale));
    l0 = load1();
    m = await alternate(rounds, sides, async (s, round) => {
      const t0 = performance.now();
      for (let i = 0; i < bigCount; i++) await s.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: `big-${round}-${i}`, Body: big, ContentLength: big.length }));
      return { value: (bigCount * 64) / ((performance.now() - t0) / 1000), ops: bigCount };
    });
    pushBoth('PUT 64MiB', 'MiB/s', m, 'PUT', `${bigCount} sequential single PUTs × ${rounds} rounds each`);
    l0 = load1();
    m = await alternate(rounds, sides, async (s) => {
      const t0 = performance.now();
      let bytes = 0;
      for (let i = 0; i < bigCount; i++) bytes += await drain((await s.client.send(new GetObjectCommand({ Bucket: BUCKET, Key: `big-0-${i}` }))).Body);
      if (bytes !== bigCount * 64 * MiB) throw new Error(`${s.name}: GET 64MiB read ${bytes} bytes`);
      return { value: bytes / MiB / ((performance.now() - t0) / 1000), ops: bigCount };
    });
    pushBoth('GET 64MiB', 'MiB/s', m, 'GET', `${bigCount} sequential GETs × ${rounds} rounds each`);

    // --- ListObjectsV2 over LIST_KEYS keys (1000 per page) ---
    const fillSecs: number[] = [];
    for (const s of sides)
      fillSecs.push(await parallel(32, LIST_KEYS, (i) => s.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: `list/${String(i).padStart(6, '0')}`, Body: EMPTY, ContentLength: 0 })).then(() => {})));
    info(`filled ${LIST_KEYS} empty keys under list/ at c=32: grenier ${fillSecs[0]!.toFixed(1)} s, rgw ${fillSecs[1]!.toFixed(1)} s`);
    // A whole listing takes about a second: a few per round, or one slow scheduling decides it.
    const listings = Math.max(2, Math.round(5 * opts.scale));
    l0 = load1();
    m = await alternate(rounds, sides, async (s) => {
      const t0 = performance.now();
      let keys = 0;
      let pages = 0;
      for (let l = 0; l < listings; l++) {
        let token: string | undefined;
        let listed = 0;
        do {
          const page = await s.client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'list/', ContinuationToken: token }));
          listed += page.KeyCount ?? 0;
          pages++;
          token = page.IsTruncated ? page.NextContinuationToken : undefined;
        } while (token);
        if (listed !== LIST_KEYS) throw new Error(`${s.name}: listed ${listed} keys, wanted ${LIST_KEYS}`);
        keys += listed;
      }
      return { value: keys / ((performance.now() - t0) / 1000), ops: pages };
    });
    pushBoth(`ListObjectsV2 ${LIST_KEYS} keys`, 'keys/s', m, '1000-key page', `all pages (1000 keys each), ${listings} listings × ${rounds} rounds each`);

    // --- memory after all of the above ---
    l0 = load1();
    push('RSS after the runs', 'MiB', g.rss(), c.rss(), `VmRSS: the grenier process vs ceph-mon + ceph-osd + radosgw (goal: at most half of RGW's)`, true, RSS_GOAL);
    for (const s of sides) s.client.destroy();
  } finally {
    await node?.stop();
    rgw?.stop();
  }
  return results;
}
