// Scale section (issue 14 item 5): fills a node with N blocks, then measures what holding them
// costs when nothing changes (idle CPU, RSS), start-up, a full resync sweep, an anti-entropy pass
// and listing every key, each with its target and per-block cost for 1 M. The first objects go
// through S3 PUT (the real path, and its rate); the rest, by default, straight into the stopped
// nodes' stores as copies of an S3-written version (a million S3 PUTs take hours on 2 cores).
import { Agent } from 'node:http';
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { S3Client, CreateBucketCommand, PutObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { s3Client } from '../test/lib/node.ts';
import { startCluster, type Cluster, type ClusterNode } from '../test/lib/cluster.ts';
import { FastPrng } from '../test/lib/files.ts';
import { loadConfig } from '../src/config/config.ts';
import { Store } from '../src/model/store.ts';
import { sha256 } from '../src/util/hash.ts';
import type { ObjectEntry } from '../src/model/object.ts';
import type { BlockRefEntry } from '../src/model/block-ref.ts';
import { heading, info, load1, parallel, printResult, result, rssDetail, type Result, type SectionOptions } from './lib.ts';

const BUCKET = 'scale';
const BODY_BYTES = 4096; // above inline_threshold (3072): every object is one block
const FILL_CONCURRENCY = 32;
/** Objects written through S3 PUT before the rest goes straight into the stores. */
const S3_FILL = 2000;
const MILLION = 1_000_000;

// Production intervals (the test cluster's defaults are short so that tests converge quickly):
// the idle figure must be what a deployed node pays.
const PRODUCTION = [
  'anti_entropy_interval_secs = 600',
  'resync_interval_secs = 60',
  'rpc_ping_interval_secs = 10',
  'rpc_timeout_secs = 30',
].join('\n');

let ticksPerSec = 100;
try {
  ticksPerSec = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
} catch {
  /* keep the Linux default */
}

/** CPU seconds (user + system) a process has used so far, from /proc/<pid>/stat. */
function cpuSecs(pid: number): number {
  const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces) start at field 3 (state).
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / ticksPerSec; // utime, stime (fields 14, 15)
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface WorkerRow {
  name: string;
  state: string;
  runs: number;
  progress: string | null;
  lastDurationMs: number | null;
}

async function workers(n: ClusterNode): Promise<Map<string, WorkerRow>> {
  const rows = (await n.admin('ListWorkers')) as WorkerRow[];
  return new Map(rows.map((r) => [r.name, r]));
}

/** Triggers a repair and waits (bounded) for the worker's next pass to end; returns its row and the
 *  CPU seconds the node (and its peer) used meanwhile. */
async function timedRepair(n: ClusterNode, peer: ClusterNode, type: string, worker: string, timeoutMs: number): Promise<{ row: WorkerRow; ms: number; cpu: number; peerCpu: number }> {
  const before = (await workers(n)).get(worker)!;
  if (before.state === 'busy') throw new Error(`${worker} is busy before the measurement`);
  const c0 = cpuSecs(n.pid);
  const p0 = cpuSecs(peer.pid);
  const t0 = performance.now();
  const r = await n.admin('LaunchRepairOperation', { repairType: type });
  if (!r.launched?.includes(worker)) throw new Error(`LaunchRepairOperation ${type}: ${JSON.stringify(r)}`);
  for (;;) {
    const row = (await workers(n)).get(worker)!;
    if (row.runs > before.runs && row.state !== 'busy') return { row, ms: performance.now() - t0, cpu: cpuSecs(n.pid) - c0, peerCpu: cpuSecs(peer.pid) - p0 };
    if (performance.now() - t0 > timeoutMs) throw new Error(`${worker} did not finish within ${timeoutMs} ms: ${JSON.stringify(row)}`);
    await sleep(20);
  }
}

/** Restarts the node `times` times; the quickest (least disturbed by the machine's other load)
 *  times, from the spawn, of the first answer of /health/live and of /health. */
async function timedStarts(n: ClusterNode, times = 3): Promise<{ live: number; ready: number }> {
  let best = { live: Infinity, ready: Infinity };
  for (let i = 0; i < times; i++) {
    const t = await timedStart(n);
    if (t.ready < best.ready) best = t;
    await settled(n);
  }
  return best;
}

async function timedStart(n: ClusterNode): Promise<{ live: number; ready: number }> {
  await n.kill('SIGTERM');
  const t0 = performance.now();
  let live = NaN;
  let ready = NaN;
  const probe = async (path: string): Promise<number> => {
    for (;;) {
      try {
        const r = await fetch(`${n.adminUrl}${path}`, { signal: AbortSignal.timeout(1000) });
        await r.arrayBuffer();
        if (r.ok) return (performance.now() - t0) / 1000;
      } catch {
        /* not listening yet */
      }
      if (performance.now() - t0 > 120_000) throw new Error(`no ${path} within 120 s`);
      await sleep(10);
    }
  };
  const restarted = n.restart('live');
  live = await probe('/health/live');
  ready = await probe('/health');
  await restarted;
  return { live, ready };
}

/** Waits until the node's first anti-entropy pass after a start has run (it waits for peers). */
async function settled(n: ClusterNode, timeoutMs = 60_000): Promise<void> {
  const t0 = performance.now();
  for (;;) {
    const ws = await workers(n);
    const sync = ws.get('table-sync');
    if (sync && sync.runs >= 1 && [...ws.values()].every((w) => w.state !== 'busy')) return;
    if (performance.now() - t0 > timeoutMs) throw new Error(`node not settled within ${timeoutMs} ms`);
    await sleep(100);
  }
}

const BASE = new FastPrng(14).bytes(BODY_BYTES);

/** Object i's body: BODY_BYTES bytes distinct from every other object's (so each is its own block). */
function bodyOf(i: number): Buffer {
  const body = Buffer.from(BASE);
  body.writeUInt32BE(i, 0);
  return body;
}

/** Objects [0, n) of BODY_BYTES distinct bytes (each its own block), FILL_CONCURRENCY at a time. */
async function fill(c: S3Client, n: number): Promise<number> {
  let lastReport = performance.now();
  let done = 0;
  return parallel(FILL_CONCURRENCY, n, async (i) => {
    const body = bodyOf(i);
    await c.send(new PutObjectCommand({ Bucket: BUCKET, Key: key(i), Body: body, ContentLength: body.length }), { abortSignal: AbortSignal.timeout(60_000) });
    if (++done % 10_000 === 0 && performance.now() - lastReport > 5000) {
      lastReport = performance.now();
      info(`filled ${done} / ${n}`);
    }
  });
}

const key = (i: number) => `obj/${String(i).padStart(7, '0')}`;

function openStore(n: ClusterNode): Store {
  const c = loadConfig(n.configPath);
  return new Store({
    metadataDir: c.metadata_dir,
    dataDir: c.data_dir,
    blockSize: c.block_size,
    compression: c.compression_level,
    dataFsync: false,
    metadataFsync: false, // a bench fill; the node itself runs with its configured fsync
    inlineThreshold: c.inline_threshold,
  });
}

/** With both nodes stopped, writes objects [from, to) into every node's store (RF 2 on 2 nodes:
 *  each holds everything) as the S3 PUT of object `from - 1` left it: block file, block
 *  reference (→ refcount) and object entry with its embedded block list; then restarts them. */
async function fillStores(nodes: ClusterNode[], from: number, to: number): Promise<number> {
  const t0 = performance.now();
  for (const n of nodes) await n.kill('SIGTERM');
  const stores = nodes.map(openStore);
  try {
    const bucket = (await stores[0]!.bucketByName(BUCKET))!.id;
    const template = stores[0]!.objects.local.get(bucket, key(from - 1));
    const tv = template?.versions.at(-1);
    if (!tv?.blocks || tv.blocks.length !== 1 || !tv.meta) throw new Error(`scale: ${key(from - 1)} is not a one-block object: ${JSON.stringify(template)}`);
    let lastReport = performance.now();
    for (let start = from; start < to; start += 2000) {
      const objects: ObjectEntry[] = [];
      const refs: BlockRefEntry[] = [];
      const blocks: [Buffer, Buffer][] = [];
      for (let i = start; i < Math.min(to, start + 2000); i++) {
        const body = bodyOf(i);
        const hash = sha256(body);
        const uuid = stores[0]!.newUuid();
        blocks.push([hash, body]);
        refs.push({ block: hash.toString('hex'), version: uuid, deleted: false });
        const meta = { ...tv.meta, size: body.length, etag: createHash('md5').update(body).digest('hex'), headers: tv.meta.headers.filter(([h]) => !h.startsWith('x-amz-checksum')) };
        objects.push({ bucket, key: key(i), versions: [{ ...tv, uuid, ts: stores[0]!.ts(), meta, blocks: [{ part: 0, offset: 0, hash, size: body.length }] }] });
      }
      for (const st of stores) {
        for (let j = 0; j < blocks.length; j += 64) await Promise.all(blocks.slice(j, j + 64).map(([h, b]) => st.blocks.putLocal(h, b)));
        st.blockRefs.local.insertMany(refs);
        st.objects.local.insertMany(objects);
      }
      if (performance.now() - lastReport > 10_000) {
        lastReport = performance.now();
        info(`stored ${Math.min(to, start + 2000)} / ${to}`);
      }
    }
  } finally {
    for (const st of stores) await st.close();
  }
  const secs = (performance.now() - t0) / 1000;
  await Promise.all(nodes.map((n) => n.restart('live')));
  return secs;
}

export async function scaleSection(opts: SectionOptions): Promise<Result[]> {
  heading('scale');
  const results: Result[] = [];
  const n = Number(process.env.BENCH_SCALE_BLOCKS ?? Math.round(50_000 * opts.scale));
  if (!(n >= 1000)) throw new Error(`scale: at least 1000 blocks (BENCH_SCALE_BLOCKS / BENCH_SCALE gave ${n})`);
  const idleSecs = Math.max(10, Math.round(60 * opts.scale));
  let cluster: Cluster | undefined;
  try {
    cluster = await startCluster({ zones: ['a', 'b'], rf: 2, mode: 'consistent', extraConfig: PRODUCTION });
    const node = cluster.node(0);
    const peer = cluster.node(1);
    info(`2 nodes (zones a, b), RF 2, production intervals (anti-entropy 600 s, resync 60 s, ping 10 s); measured on node 0 (pid ${node.pid}), which holds every block`);
    const c = s3Client(node, {
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      requestHandler: { httpAgent: new Agent({ keepAlive: true, maxSockets: FILL_CONCURRENCY }) },
    });
    await c.send(new CreateBucketCommand({ Bucket: BUCKET }));

    // Empty-store start-up: the fixed part (process, module loading, LMDB open, peers).
    await settled(node);
    const empty = await timedStarts(node);
    await sleep(2000);
    const rss0 = rssDetail(node.pid);

    // BENCH_SCALE_FILL=s3 writes all N through S3; by default the first S3_FILL do, the rest go
    // straight into the stores.
    const viaS3 = process.env.BENCH_SCALE_FILL === 's3' ? n : Math.min(n, S3_FILL);
    let l0 = load1();
    const fillSecs = await fill(c, viaS3);
    info(`${viaS3} objects of ${BODY_BYTES} B through S3 PUT (c=${FILL_CONCURRENCY}) in ${fillSecs.toFixed(1)} s: ${(viaS3 / fillSecs).toFixed(0)} PUT/s (${((fillSecs / viaS3) * MILLION / 3600).toFixed(2)} h per million) [${load1().toFixed(1)} load]`);
    if (viaS3 < n) {
      const storeSecs = await fillStores(cluster.nodes, viaS3, n);
      info(`${n - viaS3} more written straight into both stopped nodes' stores (block file, reference, object entry) in ${storeSecs.toFixed(1)} s; set BENCH_SCALE_FILL=s3 to write all through S3`);
      await settled(node);
    }

    // --- start-up with N blocks ---
    const full = await timedStarts(node);
    const perBlockStart = Math.max(0, full.ready - empty.ready) / n;
    const predStart = empty.ready + perBlockStart * MILLION;
    results.push(
      result({
        section: 'scale',
        name: `start-up to /health, ${n} blocks`,
        unit: 's',
        grenier: full.ready,
        reference: 2,
        referenceName: 'target',
        goal: 1,
        lowerIsBetter: true,
        loadStart: l0,
        note: `best of 3: /health/live ${full.live.toFixed(2)} s, /health ${full.ready.toFixed(2)} s (empty store: ${empty.live.toFixed(2)} s / ${empty.ready.toFixed(2)} s); ${(perBlockStart * 1e6).toFixed(2)} µs per block → predicted at 1 M: ${predStart.toFixed(2)} s (target < 2 s)`,
      }),
    );
    printResult(results.at(-1)!);

    // --- idle: nothing changes; the node and its peer should do (almost) nothing ---
    await settled(node);
    await sleep(2000);
    const w0 = await workers(node);
    const c0 = cpuSecs(node.pid);
    const p0 = cpuSecs(peer.pid);
    l0 = load1();
    const t0 = performance.now();
    await sleep(idleSecs * 1000);
    const wall = (performance.now() - t0) / 1000;
    const idleCpu = cpuSecs(node.pid) - c0;
    const peerIdleCpu = cpuSecs(peer.pid) - p0;
    const w1 = await workers(node);
    const ran = [...w1.values()]
      .map((w) => `${w.name} ×${w.runs - (w0.get(w.name)?.runs ?? 0)}`)
      .filter((s) => !s.endsWith('×0'))
      .join(', ');
    const pct = (100 * idleCpu) / wall;
    results.push(
      result({
        section: 'scale',
        name: `idle CPU, ${n} blocks`,
        unit: '% of a core',
        grenier: pct,
        reference: 1,
        referenceName: 'target',
        goal: 1,
        lowerIsBetter: true,
        loadStart: l0,
        note: `${((idleCpu / wall) * 60).toFixed(3)} CPU-s per minute over ${wall.toFixed(0)} s (peer: ${((peerIdleCpu / wall) * 60).toFixed(3)} CPU-s/min); worker passes in the window: ${ran || 'none'}`,
      }),
    );
    printResult(results.at(-1)!);
    const rss = rssDetail(node.pid);
    results.push(
      result({
        section: 'scale',
        name: `RSS, ${n} blocks`,
        unit: 'MiB',
        grenier: rss.rss,
        reference: rss0.rss,
        referenceName: 'empty store',
        lowerIsBetter: true,
        note: `anonymous ${rss.anon.toFixed(0)} MiB (empty: ${rss0.anon.toFixed(0)}), file-backed ${rss.file.toFixed(0)} MiB (empty: ${rss0.file.toFixed(0)}; the LMDB map, page cache): ${(((rss.anon - rss0.anon) * 1024 * 1024) / n).toFixed(0)} B anon per block → at 1 M: ${(rss0.anon + ((rss.anon - rss0.anon) / n) * MILLION).toFixed(0)} MiB anon`,
      }),
    );
    printResult(results.at(-1)!);

    // --- a full resync sweep (grenier repair blocks): scans the refcounts and the data directory ---
    l0 = load1();
    const sweep = await timedRepair(node, peer, 'blocks', 'block-resync', 30 * 60_000);
    const scanned = Number(/swept (\d+)/.exec(sweep.row.progress ?? '')?.[1] ?? NaN);
    const sweepMs = sweep.row.lastDurationMs ?? sweep.ms;
    results.push(
      result({
        section: 'scale',
        name: `resync sweep per block, ${n} blocks`,
        unit: 'µs',
        grenier: (sweepMs * 1000) / n,
        reference: (sweep.cpu * 1e6) / n,
        referenceName: 'CPU µs',
        lowerIsBetter: true,
        loadStart: l0,
        note: `one sweep ${sweepMs.toFixed(0)} ms wall, ${sweep.cpu.toFixed(2)} CPU-s (${sweep.row.progress}; ${scanned} entries scanned) → at 1 M: ${((sweepMs / n) * MILLION / 1000).toFixed(1)} s once a day (resync_sweep_interval_secs)`,
      }),
    );
    printResult(results.at(-1)!);

    // --- an anti-entropy pass with everything in sync (grenier repair tables) ---
    l0 = load1();
    const sync = await timedRepair(node, peer, 'tables', 'table-sync', 10 * 60_000);
    const tables = Number(/synced (\d+) tables/.exec(sync.row.progress ?? '')?.[1] ?? NaN);
    const partitions = tables * 256;
    results.push(
      result({
        section: 'scale',
        name: `anti-entropy CPU per partition, ${n} blocks`,
        unit: 'µs',
        grenier: (sync.cpu * 1e6) / partitions,
        reference: (sync.peerCpu * 1e6) / partitions,
        referenceName: 'peer µs',
        lowerIsBetter: true,
        loadStart: l0,
        note: `one pass in sync: ${sync.ms.toFixed(0)} ms wall, ${sync.cpu.toFixed(3)} CPU-s here + ${sync.peerCpu.toFixed(3)} on the peer over ${tables} tables × 256 partitions (${sync.row.progress})`,
      }),
    );
    printResult(results.at(-1)!);

    // --- ListObjectsV2 of every key ---
    l0 = load1();
    const tl = performance.now();
    let listed = 0;
    let token: string | undefined;
    do {
      const r = await c.send(new ListObjectsV2Command({ Bucket: BUCKET, MaxKeys: 1000, ContinuationToken: token }), { abortSignal: AbortSignal.timeout(60_000) });
      listed += r.KeyCount ?? 0;
      token = r.IsTruncated ? r.NextContinuationToken : undefined;
    } while (token);
    const listSecs = (performance.now() - tl) / 1000;
    if (listed !== n) throw new Error(`ListObjectsV2 listed ${listed} keys, wrote ${n}`);
    results.push(
      result({
        section: 'scale',
        name: `ListObjectsV2 all keys, ${n}`,
        unit: 'keys/s',
        grenier: listed / listSecs,
        reference: listSecs,
        referenceName: 'seconds',
        loadStart: l0,
        note: `${listed} keys in ${Math.ceil(listed / 1000)} pages of 1000 in ${listSecs.toFixed(2)} s → 1 M keys in ${((listSecs / n) * MILLION).toFixed(0)} s`,
      }),
    );
    printResult(results.at(-1)!);
    c.destroy();
  } finally {
    await cluster?.stop();
  }
  return results;
}
