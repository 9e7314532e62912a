// Geo section: PUT/GET latency (median, p99) of 1 KiB (inline), 4 KiB and 1 MiB objects on 3 zones
// behind 50 ms-RTT delaying proxies, in RTT units against the goals (inline PUT ≤ 1.2 RTT, 1 MiB PUT
// ≤ 2.2 RTT, 4 KiB PUT ≤ 2 RTT + 20 ms, GET ≤ 1 RTT + 20 ms); and 64 MiB PUT/GET
// throughput of a 3-node loopback cluster (RF 3) as a ratio of one node measured in the same run.
import { Agent } from 'node:http';
import { randomBytes } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { S3Client, CreateBucketCommand, PutObjectCommand, GetObjectCommand, HeadBucketCommand } from '@aws-sdk/client-s3';
import { s3Client, startNode, type TestNode } from '../test/lib/node.ts';
import { startCluster, waitFor, type Cluster } from '../test/lib/cluster.ts';
import { FastPrng } from '../test/lib/files.ts';
import { MiB, drain, heading, info, load1, printResult, result, type Result, type SectionOptions } from './lib.ts';

const ONE_WAY_MS = 25;
const RTT = 2 * ONE_WAY_MS;
const BUCKET = 'geo-bench';

function client(n: TestNode): S3Client {
  return s3Client(n, {
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    requestHandler: { httpAgent: new Agent({ keepAlive: true, maxSockets: 16 }) },
  });
}

/** With GRENIER_TRACE_PUT=1 (inherited by the nodes): the median time of each phase of the PUTs
 *  whose key starts with `prefix`, from node 0's trace lines (src/util/trace.ts), and of the block
 *  puts of `bytes` the other nodes served (their last `n`), printed under the figure. */
function tracedPhases(cluster: Cluster, prefix: string, bytes: number, n: number): void {
  if (process.env.GRENIER_TRACE_PUT !== '1') return;
  const lines = (node: TestNode, msg: string) =>
    node
      .output()
      .split('\n')
      .filter((l) => l.includes(`"msg":"${msg}"`))
      .map((l) => {
        try {
          return JSON.parse(l) as { key?: string; bytes?: number; total: number; lagMaxMs?: number; gcMs?: number; gcMajor?: number; cpuMs?: number; phases: Record<string, number> };
        } catch {
          return undefined;
        }
      })
      .filter((x) => x !== undefined);
  const summary = (xs: { total: number; lagMaxMs?: number; gcMs?: number; gcMajor?: number; cpuMs?: number; phases: Record<string, number> }[]) => {
    const names = [...new Set(xs.flatMap((x) => Object.keys(x.phases)))];
    const lags = xs.map((x) => x.lagMaxMs).filter((t) => t !== undefined);
    const med = (v: number[]) => (v.length ? quantile(v, 0.5).toFixed(1) : '-');
    const parts = names.map((k) => {
      const v = xs.map((x) => x.phases[k]).filter((t) => t !== undefined);
      return `${k} ${med(v)}${v.length < xs.length ? ` (${v.length}/${xs.length})` : ''}`;
    });
    return `${xs.length} traced, median ms from start: ${parts.join(', ')}, total ${med(xs.map((x) => x.total))}; event-loop delay max ${med(lags)}; GC ${med(xs.map((x) => x.gcMs ?? 0))} ms, ${xs.reduce((a, x) => a + (x.gcMajor ?? 0), 0)} major; CPU ${med(xs.map((x) => x.cpuMs ?? 0))} ms`;
  };
  const puts = lines(cluster.node(0), 'put trace').filter((x) => x.key?.startsWith(prefix));
  // GRENIER_TRACE_RAW=<file>: the traced PUTs of node 0 and the block puts of the others, as logged
  // (wall-clock `at`, version uuid / ref), appended for a closer look.
  const raw = process.env.GRENIER_TRACE_RAW;
  if (raw) {
    const all = [...puts.map((x) => ({ node: 0, ...x })), ...cluster.nodes.slice(1).flatMap((nd) => lines(nd, 'block put trace').filter((x) => x.bytes === bytes).slice(-n).map((x) => ({ node: nd.index, ...x })))];
    appendFileSync(raw, all.map((x) => JSON.stringify(x) + '\n').join(''));
  }
  if (puts.length) info(`trace node 0 PutObject: ${summary(puts)}`);
  for (const node of cluster.nodes.slice(1)) {
    const bp = lines(node, 'block put trace').filter((x) => x.bytes === bytes).slice(-n);
    if (bp.length) info(`trace ${node.zone} block/put handler: ${summary(bp)}`);
  }
}

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.max(0, Math.min(s.length - 1, Math.ceil(q * s.length) - 1))]!;
}

/** Creates the bench bucket through `n` and waits (bounded) until every node of `all` serves it. */
async function bucketEverywhere(n: TestNode, all: TestNode[]): Promise<void> {
  const c = client(n);
  await c.send(new CreateBucketCommand({ Bucket: BUCKET }));
  c.destroy();
  for (const m of all) {
    const cm = client(m);
    await waitFor(`bucket ${BUCKET} on ${m.s3Url}`, async () => (await cm.send(new HeadBucketCommand({ Bucket: BUCKET })), true), 15_000, 100);
    cm.destroy();
  }
}

async function latency(opts: SectionOptions, results: Result[]): Promise<void> {
  const ops = Math.max(20, Math.round(100 * opts.scale));
  const cluster: Cluster = await startCluster({ zones: ['paris', 'lyon', 'nantes'], rf: 3, mode: 'consistent', proxyDelayMs: ONE_WAY_MS });
  try {
    const a = cluster.node(0);
    const st = await cluster.status(a);
    const peerRtts = st.nodes.filter((x) => x.id !== a.id).map((x) => (x as { rttMs?: number | null }).rttMs);
    info(`3 zones (paris, lyon, nantes), RF 3, consistent; every RPC address behind a proxy adding ${ONE_WAY_MS} ms each way (RTT ${RTT} ms; node 0 measures ${peerRtts.map((r) => (r == null ? '?' : `${Number(r).toFixed(1)} ms`)).join(', ')})`);
    info(`client on node 0 (paris), per size ${ops} sequential PUTs then ${ops} GETs of the same keys, after 5 warm-up pairs`);
    await bucketEverywhere(a, cluster.nodes);
    const c = client(a);
    // 1 KiB is stored inline (one object-table write), 4 KiB and 1 MiB as one block (block put, then the entry).
    const sizes = [
      { label: '1KiB inline', bytes: 1024, putGoal: 1.2, getGoal: 1 + 20 / RTT },
      { label: '4KiB', bytes: 4096, putGoal: 2 + 20 / RTT, getGoal: 1 + 20 / RTT },
      { label: '1MiB', bytes: MiB, putGoal: 2.2, getGoal: undefined },
    ];
    for (const { label, bytes, putGoal, getGoal } of sizes) {
      const body = randomBytes(bytes);
      for (let i = 0; i < 5; i++) {
        await c.send(new PutObjectCommand({ Bucket: BUCKET, Key: `warm-${label}-${i}`, Body: body }));
        await drain((await c.send(new GetObjectCommand({ Bucket: BUCKET, Key: `warm-${label}-${i}` }))).Body);
      }
      const l0 = load1();
      const put: number[] = [];
      const get: number[] = [];
      // This process runs the client and the three delaying proxies: its own event-loop delay
      // during the PUTs is part of every figure (a proxy's byte waits for its timer to run).
      const lag = monitorEventLoopDelay({ resolution: 5 });
      lag.enable();
      for (let i = 0; i < ops; i++) {
        const t0 = performance.now();
        await c.send(new PutObjectCommand({ Bucket: BUCKET, Key: `k-${label}-${i}`, Body: body }), { abortSignal: AbortSignal.timeout(10_000) });
        put.push(performance.now() - t0);
      }
      lag.disable();
      const benchLag = `bench process event-loop delay during the PUTs: p50 ${(lag.percentile(50) / 1e6).toFixed(1)} ms, p99 ${(lag.percentile(99) / 1e6).toFixed(1)} ms, max ${(lag.max / 1e6).toFixed(1)} ms`;
      for (let i = 0; i < ops; i++) {
        const t0 = performance.now();
        const n = await drain((await c.send(new GetObjectCommand({ Bucket: BUCKET, Key: `k-${label}-${i}` }), { abortSignal: AbortSignal.timeout(10_000) })).Body);
        get.push(performance.now() - t0);
        if (n !== body.length) throw new Error(`GET k-${label}-${i}: ${n} bytes, wanted ${body.length}`);
      }
      for (const [what, xs, goal] of [
        ['PUT', put, putGoal],
        ['GET', get, getGoal],
      ] as const) {
        const med = quantile(xs, 0.5);
        const p99 = quantile(xs, 0.99);
        results.push(
          result({
            section: 'geo',
            name: `${what} ${label} median @${RTT}ms RTT`,
            unit: 'ms',
            grenier: med,
            reference: RTT,
            referenceName: 'RTT',
            goal: goal === undefined ? undefined : Math.round(goal * 100) / 100,
            lowerIsBetter: true,
            loadStart: l0,
            note: `ratio = RTT units; min ${quantile(xs, 0).toFixed(1)} ms, p90 ${quantile(xs, 0.9).toFixed(1)} ms, p99 ${p99.toFixed(1)} ms, max ${quantile(xs, 1).toFixed(1)} ms of ${xs.length}`,
          }),
        );
        printResult(results.at(-1)!);
        if (what === 'PUT') {
          info(benchLag);
          tracedPhases(cluster, `k-${label}-`, bytes, ops);
        }
      }
    }
    c.destroy();
  } finally {
    await cluster.stop();
  }
}

async function throughput(opts: SectionOptions, results: Result[]): Promise<void> {
  const size = 64 * MiB;
  const rounds = Math.max(1, Math.round(3 * opts.scale));
  const single = await startNode();
  let cluster: Cluster | undefined;
  try {
    cluster = await startCluster({ zones: ['paris', 'lyon', 'nantes'], rf: 3, mode: 'consistent' });
    info(`64 MiB objects: one node (RF 1) vs 3 loopback nodes (RF 3, consistent, no delay), client on node 0, ${rounds} alternating rounds`);
    await bucketEverywhere(single, [single]);
    await bucketEverywhere(cluster.node(0), cluster.nodes);
    const body = new FastPrng(64).bytes(size);
    const targets = [
      { name: 'single', c: client(single) },
      { name: 'cluster', c: client(cluster.node(0)) },
    ];
    const putS = [0, 0];
    const getS = [0, 0];
    const l0 = load1();
    for (let r = 0; r < rounds; r++)
      for (const [i, t] of targets.entries()) {
        const key = `big-${r}`;
        let t0 = performance.now();
        await t.c.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body, ContentLength: size }), { abortSignal: AbortSignal.timeout(300_000) });
        putS[i]! += (performance.now() - t0) / 1000;
        t0 = performance.now();
        const n = await drain((await t.c.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }), { abortSignal: AbortSignal.timeout(300_000) })).Body);
        getS[i]! += (performance.now() - t0) / 1000;
        if (n !== size) throw new Error(`${t.name} GET ${key}: ${n} bytes, wanted ${size}`);
      }
    for (const t of targets) t.c.destroy();
    const mibps = (secs: number) => (rounds * size) / MiB / secs;
    for (const [what, s] of [
      ['PUT', putS],
      ['GET', getS],
    ] as const) {
      results.push(
        result({
          section: 'geo',
          name: `${what} 64MiB 3 nodes RF3`,
          unit: 'MiB/s',
          grenier: mibps(s[1]!),
          reference: mibps(s[0]!),
          referenceName: '1 node',
          loadStart: l0,
          note: `same machine (2 CPUs) runs all 3 nodes: a PUT stores every block 3 times; a GET reads the local replica`,
        }),
      );
      printResult(results.at(-1)!);
    }
  } finally {
    await cluster?.stop();
    await single.stop();
  }
}

export async function geoSection(opts: SectionOptions): Promise<Result[]> {
  heading('geo');
  const results: Result[] = [];
  await latency(opts, results);
  await throughput(opts, results);
  return results;
}
