// One fault run end to end: 5 real nodes in 3 zones (in network namespaces when partitions are
// possible, under libfaketime when clock skew is), the workload and the seeded nemesis schedule
// together for the run's duration, then heal everything, measure the time until every node says
// it owes nothing, read every key from every node, check the history and print the figures. The
// same wait runs after every healing step while the workload goes on (min/median/max printed).
import { cpSync, mkdirSync, mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, HeadBucketCommand, PutBucketVersioningCommand, type S3Client } from '@aws-sdk/client-s3';
import { startCluster, pool, sleep, waitFor, type Cluster } from '../../lib/cluster.ts';
import { s3Client } from '../../lib/node.ts';
import { createNetLab, netnsProblem, type NetLab } from '../../lib/netns.ts';
import { History, secs, type Op } from './history.ts';
import { check, describeAnomalies, type CheckResult } from './checker.ts';
import { EXTRA_ZONE, LAYOUT, NEMESES, Nemesis, describeStep, faketimeEnv, faketimeProblem, schedule, type NemesisKind, type Step } from './nemesis.ts';
import { mountSmallDisk, tmpfsProblem, type SmallDisk } from './disk.ts';
import { straceProblem } from './fsync-eio.ts';
import { REG_BUCKET, REG_KEYS, REGV_BUCKET, SET_BUCKET, Workload } from './workload.ts';

const FAKETIME_LIB = '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1';
/** 5 nodes in 3 zones: two zones of two, one of one (RF 3 puts one copy in each zone). */
export const ZONES = ['paris', 'lyon', 'nantes', 'paris', 'lyon'];

export interface RunOptions {
  seed: number;
  /** How long the workload and the nemeses run, in ms. */
  durationMs: number;
  /** Nemeses to draw from (default: all that work here). */
  kinds?: NemesisKind[];
  workers?: number;
  opTimeoutMs?: number;
  /** Longest wait for the cluster to owe nothing after healing, in ms. */
  convergeTimeoutMs?: number;
  maxSkewSecs?: number;
  faultMs?: [number, number];
  quietMs?: [number, number];
  mixChance?: number;
  /** One-way delay in front of every node's RPC address, in ms (the delaying proxy; loopback only:
   *  the nemeses that need the network lab are skipped with it). */
  delayMs?: number;
  /** block_gc_delay_secs of the nodes (default: the production 600 s, longer than a short run). */
  gcDelaySecs?: number;
  /** Save the history even when the run found nothing (GRENIER_TEST_KEEP=1 keeps the nodes' directories). */
  keep?: boolean;
  /** Size of each node's tmpfs data disk for disk-full, in bytes (default 1 GiB: only what is
   *  stored uses RAM). */
  diskBytes?: number;
  /** Where history and node logs are written when the run finds an anomaly (default: a temp dir). */
  outDir?: string;
  log?: (line: string) => void;
}

export interface RunReport {
  seed: number;
  durationMs: number;
  kinds: NemesisKind[];
  skipped: string[];
  steps: Step[];
  applied: Record<string, number>;
  blocksDamaged: number;
  ops: number;
  acknowledged: number;
  indeterminate: number;
  failed: number;
  reads: number;
  lost: number;
  wrong: number;
  stale: number;
  /** Acknowledged set elements that no final read could fetch from any node (not counted as lost:
   *  unknown, but never silently passed). */
  unverified: number;
  /** ms from the end of healing until every node reports no replication debt (undefined: never). */
  convergeMs?: number;
  convergeProblem?: string;
  /** After each healing step (workload running): ms until no node owed anything, or undefined
   *  when that did not happen before the next step. */
  stepConvergeMs: (number | undefined)[];
  exitedOnEio: number;
  /** Faults that met a node already gone (treated as a crash and restarted). */
  crashes: number;
  /** Node processes that exited with no nemesis on them (restarted; their output tail is logged). */
  vanished: number;
  restartFailures: number;
  /** Each successful node restart's time until /health/live answered, in ms. */
  restartMs: number[];
  /** Faults that could not be applied or healed (the run went on). */
  nemesisErrors: string[];
  stepsApplied: number;
  /** Scheduled steps not reached within the duration (the schedule fell behind). */
  stepsSkipped: number;
  layoutSyncMs: number[];
  layoutErrors: string[];
  delayMs?: number;
  errors: Record<string, number>;
  result: CheckResult;
  outDir?: string;
}

/** Nemeses that cannot run here, with why (partitions need root and nft; clock needs faketime). */
export function unavailable(dir: string, delayMs?: number): Map<NemesisKind, string> {
  const out = new Map<NemesisKind, string>();
  const net = delayMs !== undefined ? 'the delaying proxy runs on loopback, outside the network lab' : netnsProblem();
  if (net) for (const k of ['partition-one', 'partition-halves', 'partition-bridge', 'loss'] as const) out.set(k, net);
  const disk = tmpfsProblem();
  if (disk) out.set('disk-full', disk);
  const strace = straceProblem();
  if (strace) out.set('fsync-eio', strace);
  const ft = faketimeProblem(FAKETIME_LIB, dir);
  if (ft) out.set('clock', ft);
  return out;
}

async function waitBuckets(cluster: Cluster, buckets: string[], timeoutMs: number): Promise<void> {
  for (const n of cluster.nodes) {
    const c = s3Client(n);
    try {
      for (const b of buckets)
        await waitFor(`bucket ${b} on node ${n.index}`, async () => (await c.send(new HeadBucketCommand({ Bucket: b }), { abortSignal: AbortSignal.timeout(5000) }), true), timeoutMs, 200);
    } finally {
      c.destroy();
    }
  }
}

/** What a node still owes or lacks, or '' when it is caught up and sees every partition all ok. */
async function debtOf(cluster: Cluster, i: number): Promise<string> {
  const h = await cluster.node(i).admin('GetClusterHealth');
  const d = h.replicationDebt ?? {};
  const bad: string[] = [];
  if (h.status !== 'healthy') bad.push(h.status);
  if (h.partitionsAllOk !== h.partitions) bad.push(`${h.partitionsAllOk}/${h.partitions} partitions all ok`);
  if (d.entriesQueued) bad.push(`${d.entriesQueued} entries queued`);
  if (d.blocksQueued) bad.push(`${d.blocksQueued} blocks queued`);
  if (d.blockErrors) bad.push(`${d.blockErrors} blocks in error`);
  return bad.length ? `node ${i}: ${bad.join(', ')}` : '';
}

export async function runFaults(o: RunOptions): Promise<RunReport> {
  const log = o.log ?? ((l: string) => console.log(l));
  const scratch = mkdtempSync(join(tmpdir(), 'grenier-faults-'));
  const missing = unavailable(scratch, o.delayMs);
  const wanted = o.kinds ?? [...NEMESES];
  const skipped = wanted.filter((k) => missing.has(k)).map((k) => `${k}: skipped (${missing.get(k)})`);
  for (const s of skipped) log(s);
  const kinds = wanted.filter((k) => !missing.has(k));
  const needLab = kinds.some((k) => k.startsWith('partition-') || k === 'loss');
  const needClock = kinds.includes('clock');
  const needExtra = kinds.includes('layout-add-zone');
  const maxSkewSecs = o.maxSkewSecs ?? 20;
  const steps = schedule({
    seed: o.seed,
    kinds,
    nodes: ZONES.length,
    totalMs: o.durationMs,
    maxSkewSecs,
    faultMs: o.faultMs ?? [3000, 8000],
    quietMs: o.quietMs ?? [2000, 5000],
    mixChance: o.mixChance ?? 0.4,
    // Removing the only node of a zone would leave 2 zones for 3 copies.
    removable: ZONES.flatMap((z, i) => (ZONES.filter((y) => y === z).length > 1 ? [i] : [])),
  });
  log(`fault run: seed ${o.seed}, ${secs(o.durationMs)}, nemeses ${kinds.join(', ')}${o.delayMs !== undefined ? `, RPC delay ${o.delayMs} ms one way` : ''}; ${steps.length} steps:`);
  for (const s of steps) log(`  ${describeStep(s)}`);

  let lab: NetLab | undefined;
  let cluster: Cluster | undefined;
  const clients: S3Client[] = [];
  const history = new History();
  const disks: SmallDisk[] = [];
  try {
    // A subnet of its own, so that another lab (test/cluster-faults.test.ts) may run meanwhile.
    if (needLab) lab = createNetLab(ZONES.length + (needExtra ? 1 : 0), `10.213.${100 + (process.pid % 100)}`);
    const clockFiles = needClock ? ZONES.map((_, i) => join(scratch, `clock-${i}`)) : undefined;
    for (const f of clockFiles ?? []) writeFileSync(f, '+0s\n');
    cluster = await startCluster({
      zones: ZONES,
      netLab: lab,
      envFor: clockFiles ? (i) => faketimeEnv(FAKETIME_LIB, clockFiles[i]!) : undefined,
      // Production timers for anti-entropy and resync: convergence must come from the changes
      // themselves (peer up, queued entries, block refs), not from a short timer. 64 KiB blocks so
      // that small objects span several.
      // data_fsync so that fsync-eio hits block writes too, not only the metadata DB.
      extraConfig: `anti_entropy_interval_secs = 600\nresync_interval_secs = 60\nblock_size = 65536${kinds.includes('fsync-eio') ? '\ndata_fsync = true' : ''}${o.gcDelaySecs !== undefined ? `\nblock_gc_delay_secs = ${o.gcDelaySecs}` : ''}`,
      readyTimeoutMs: 90_000,
      proxyDelayMs: o.delayMs,
    });
    const c = cluster;
    // Before any object exists: each data_dir onto a tmpfs of its own (what it holds copied in).
    if (kinds.includes('disk-full')) for (const n of c.nodes) disks.push(mountSmallDisk(join(n.dir, 'data'), o.diskBytes ?? 1024 ** 3));
    // layout-add-zone's node: up from the start, a gateway without a role until the fault.
    const extra = needExtra ? await c.addNode(EXTRA_ZONE) : undefined;
    if (extra) await c.waitKey([extra], 30_000);
    for (const n of c.nodes) clients.push(s3Client(n));
    await clients[0]!.send(new CreateBucketCommand({ Bucket: REG_BUCKET }));
    await clients[0]!.send(new CreateBucketCommand({ Bucket: REGV_BUCKET }));
    await clients[0]!.send(new CreateBucketCommand({ Bucket: SET_BUCKET }));
    await clients[0]!.send(new PutBucketVersioningCommand({ Bucket: REGV_BUCKET, VersioningConfiguration: { Status: 'Enabled' } }));
    await waitBuckets(c, [REG_BUCKET, REGV_BUCKET, SET_BUCKET], 30_000);
    await sleep(1000); // the versioning flag travels with the bucket entry

    const opTimeoutMs = o.opTimeoutMs ?? 5000;
    const workload = new Workload({ seed: o.seed, workers: o.workers ?? 6, clients: () => clients, history, opTimeoutMs, maxOpsPerWorker: 1_000_000 });
    // 30 s per layout change: longer would stall the schedule (a change is often not synced for minutes).
    const nemesis = new Nemesis({ cluster: c, lab, clockFiles, seed: o.seed, log, disks, extra, zones: ZONES, layoutSyncTimeoutMs: 30_000 });
    const stepConvergeMs: (number | undefined)[] = [];
    let stepsApplied = 0;
    let stepsSkipped = 0;
    const t0 = history.now();
    const running = workload.run();
    try {
      for (const [i, s] of steps.entries()) {
        const wait = t0 + s.atMs - history.now();
        if (wait > 0) await sleep(wait);
        // The run lasts its duration: heals and layout waits on a loaded machine put the schedule
        // behind, and the steps it did not reach are skipped (counted), not run past the end.
        if (history.now() - t0 + s.durationMs > o.durationMs) {
          stepsSkipped = steps.length - i;
          log(`  ${secs(history.now() - t0)} the run's ${secs(o.durationMs)} are up: ${stepsSkipped} of ${steps.length} steps not reached (schedule ${secs(history.now() - t0 - s.atMs)} behind)`);
          break;
        }
        await nemesis.reviveVanished();
        log(`  ${secs(history.now() - t0)} apply ${describeStep(s)}`);
        stepsApplied++;
        for (const f of s.faults) await nemesis.tryApply(f);
        await sleep(s.durationMs);
        for (const f of Nemesis.healOrder(s.faults)) await nemesis.tryHeal(f);
        await nemesis.reviveVanished();
        const healed = history.now();
        // Until the next step starts (or the run ends): the time until nobody owes anything.
        // At least the shortest quiet period, also when the schedule is behind.
        const { ms, last } = await timeToNoDebt(c, Math.max((o.quietMs ?? [2000])[0]!, t0 + (steps[i + 1]?.atMs ?? o.durationMs) - healed));
        stepConvergeMs.push(ms);
        log(`  ${secs(healed - t0)} healed; ${ms === undefined ? `still owing at the next step (${last.slice(0, 300)})` : `no debt after ${secs(ms)}`}`);
      }
      const rest = t0 + o.durationMs - history.now();
      if (rest > 0) await sleep(rest);
    } finally {
      workload.stop();
      await nemesis.healAll();
    }
    await running;
    const healedAt = history.now();
    log(`workload stopped at ${secs(healedAt - t0)}: ${history.ops.length} operations; every fault healed`);

    // Convergence: every node connected and owing nothing, with no repair command.
    let convergeMs: number | undefined;
    let convergeProblem: string | undefined;
    // One budget for both waits (60 s more than the debt wait alone): reconnecting is part of
    // converging, and a peer's redial back-off (up to 75 s) could outlast a separate 60 s wait,
    // which then skipped the debt check altogether (seed 16180, 2026-12-02).
    const budgetMs = 60_000 + (o.convergeTimeoutMs ?? 60_000);
    try {
      await c.waitConnected(c.nodes, budgetMs);
      log(`every node sees every other up ${secs(history.now() - healedAt)} after healing`);
      await waitFor(
        'no replication debt on any node',
        async () => {
          const bad = (await Promise.all(c.nodes.map((_, i) => debtOf(c, i)))).filter(Boolean);
          if (bad.length) throw new Error(bad.join('; '));
          return true;
        },
        Math.max(1000, budgetMs - (history.now() - healedAt)),
        200,
      );
      convergeMs = history.now() - healedAt;
      log(`converged ${secs(convergeMs)} after healing`);
    } catch (e) {
      convergeProblem = (e as Error).message.slice(0, 2000);
      log(`NOT converged: ${convergeProblem}`);
    }

    // Final reads: every register from every node, the set listed from every node, each added
    // element read back once (bytes checked).
    for (const cl of clients.splice(0)) cl.destroy();
    for (const n of c.nodes) clients.push(s3Client(n));
    const jobs: (() => Promise<unknown>)[] = [];
    for (let n = 0; n < c.nodes.length; n++) {
      for (const b of [REG_BUCKET, REGV_BUCKET]) for (let k = 0; k < REG_KEYS; k++) jobs.push(() => workload.get(-1, n, b, `r${k}`, 'final'));
      jobs.push(() => workload.list(-1, n, 'final'));
    }
    const elements = history.ops.filter((x) => x.kind === 'add' && x.status !== 'fail');
    elements.forEach((a, i) => jobs.push(() => workload.get(-1, i % c.nodes.length, SET_BUCKET, a.key, 'final')));
    await pool(jobs, 6, (j) => j());
    // An element whose final read failed is read again from the other nodes (bounded): a read
    // that never succeeds leaves an acknowledged write unverified, which the report says.
    const readOk = () => new Set(history.ops.filter((x) => x.phase === 'final' && x.kind === 'get' && x.bucket === SET_BUCKET && x.status === 'ok').map((x) => x.key));
    for (let round = 1; round < c.nodes.length; round++) {
      const ok = readOk();
      const again = elements.map((a, i) => ({ a, i })).filter(({ a }) => !ok.has(a.key));
      if (!again.length) break;
      await pool(again.map(({ a, i }) => () => workload.get(-1, (i + round) % c.nodes.length, SET_BUCKET, a.key, 'final')), 6, (j) => j());
    }
    const verified = readOk();
    const unverified = elements.filter((a) => a.status === 'ok' && !verified.has(a.key)).length;
    const unread = history.ops.filter((x) => x.phase === 'final' && x.status !== 'ok');
    if (unread.length) convergeProblem = `${convergeProblem ? `${convergeProblem}; ` : ''}${unread.length} final reads failed (first: ${unread[0]!.error})`;

    const result = check(history.ops, { slackMs: needClock ? 2 * maxSkewSecs * 1000 : 0 });
    const errors: Record<string, number> = {};
    for (const x of history.ops) if (x.phase === 'run' && x.error) errors[`${x.kind}: ${x.error}`] = (errors[`${x.kind}: ${x.error}`] ?? 0) + 1;
    const report: RunReport = {
      seed: o.seed,
      durationMs: o.durationMs,
      kinds,
      skipped,
      steps,
      applied: nemesis.counts.applied,
      blocksDamaged: nemesis.counts.blocksDamaged,
      ops: result.ops,
      acknowledged: result.acknowledged,
      indeterminate: result.indeterminate,
      failed: history.ops.filter((x) => x.phase === 'run' && x.status === 'fail').length,
      reads: result.reads,
      lost: result.lost.length,
      wrong: result.wrong.length,
      stale: result.stale.length,
      unverified,
      convergeMs,
      convergeProblem,
      stepConvergeMs,
      exitedOnEio: nemesis.counts.exitedOnEio,
      crashes: nemesis.counts.crashes,
      vanished: nemesis.counts.vanished,
      restartFailures: nemesis.counts.restartFailures,
      restartMs: nemesis.counts.restartMs,
      nemesisErrors: nemesis.counts.errors,
      stepsApplied,
      stepsSkipped,
      layoutSyncMs: nemesis.counts.layoutSyncMs,
      layoutErrors: nemesis.counts.layoutErrors,
      delayMs: o.delayMs,
      errors,
      result,
    };
    if (o.keep || report.lost || report.wrong || report.stale || report.unverified || convergeProblem) report.outDir = saveEvidence(o, report, history.ops, c);
    log(formatReport(report));
    return report;
  } finally {
    for (const cl of clients) cl.destroy();
    // Lazily, while nodes still run: stop() then removes the directories below.
    // --keep: what each tmpfs data disk holds is copied beside it first (the unmount loses it).
    // Best effort: the nodes still run, so a file may vanish mid-copy; the unmounts must happen anyway.
    for (const d of disks) {
      try {
        if (o.keep) cpSync(d.dir, `${d.dir}.kept`, { recursive: true });
      } catch (e) {
        log(`--keep: copying ${d.dir} failed part-way: ${(e as Error).message}`);
      }
    }
    for (const d of disks) d.unmount();
    await cluster?.stop();
    lab?.destroy();
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** ms until no node reports any debt, polled every 250 ms for at most `withinMs` (undefined: not
 *  within it). A node that does not answer counts as owing. */
export async function timeToNoDebt(c: Cluster, withinMs: number): Promise<{ ms?: number; last: string }> {
  const t0 = performance.now();
  let last = '';
  for (let i = 0; i < 100_000; i++) {
    const bad = (await Promise.all(c.nodes.map((_, n) => debtOf(c, n).catch((e: Error) => `node ${n}: ${e.message.slice(0, 100)}`)))).filter(Boolean);
    const ms = performance.now() - t0;
    if (!bad.length) return { ms, last };
    last = bad.join('; ');
    if (ms + 250 > withinMs) return { last };
    await sleep(250);
  }
  return { last };
}

/** "min / median / max (k of n)" of the measured values, in seconds. */
export function spread(xs: (number | undefined)[]): string {
  const v = xs.filter((x): x is number => x !== undefined && x >= 0).sort((a, b) => a - b);
  if (!v.length) return `none of ${xs.length}`;
  const med = v.length % 2 ? v[v.length >> 1]! : (v[v.length / 2 - 1]! + v[v.length / 2]!) / 2;
  return `min ${secs(v[0]!)} / median ${secs(med)} / max ${secs(v.at(-1)!)} (${v.length} of ${xs.length} within the quiet period)`;
}

/** History (JSON lines), the schedule and each node's output tail, to replay and diagnose. */
function saveEvidence(o: RunOptions, r: RunReport, ops: Op[], c: Cluster): string {
  const dir = o.outDir ?? join(tmpdir(), `grenier-faults-seed${o.seed}-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'history.jsonl'), ops.map((x) => JSON.stringify(x)).join('\n') + '\n');
  writeFileSync(join(dir, 'report.txt'), formatReport(r) + '\n\n' + r.steps.map(describeStep).join('\n') + '\n');
  for (const n of c.nodes) writeFileSync(join(dir, `node-${n.index}-${n.zone}.log`), n.output());
  return dir;
}

export function formatReport(r: RunReport): string {
  const lines = [
    `seed ${r.seed} (replay: npm run faults -- --seed ${r.seed} --minutes ${(r.durationMs / 60000).toFixed(2)})`,
    `steps applied ${r.stepsApplied} of ${r.stepsApplied + r.stepsSkipped} scheduled; nemeses applied: ${Object.entries(r.applied).map(([k, v]) => `${k} ×${v}`).join(', ') || 'none'}; block files damaged: ${r.blocksDamaged}`,
    `operations ${r.ops}, acknowledged ${r.acknowledged}, indeterminate ${r.indeterminate}, failed ${r.failed}, reads ${r.reads}`,
    `lost ${r.lost}, wrong bytes ${r.wrong}, stale reads ${r.stale}${r.unverified ? `; acknowledged set elements unreadable from every node after healing (unverified): ${r.unverified}` : ''}`,
    `converged after healing: ${r.convergeMs === undefined ? `NO (${r.convergeProblem})` : secs(r.convergeMs)}`,
    `no debt after each healing step (workload running): ${spread(r.stepConvergeMs)}`,
  ];
  if (r.layoutSyncMs.length || r.layoutErrors.length) lines.push(`layout changes synced: ${spread(r.layoutSyncMs).replace('within the quiet period', 'within the bound')}${r.layoutErrors.length ? `; not applied ${r.layoutErrors.length} (first: ${r.layoutErrors[0]})` : ''}`);
  if (r.exitedOnEio) lines.push(`node processes that exited under fsync EIO (restarted): ${r.exitedOnEio}`);
  if (r.crashes || r.vanished || r.restartFailures) lines.push(`node processes found gone: ${r.crashes} by a fault (a crash, restarted), ${r.vanished} with no nemesis on them (restarted; output tails in the log); failed restarts (retried): ${r.restartFailures}`);
  if (r.restartMs.length) lines.push(`node restarts until live: ${spread(r.restartMs).replace(' within the quiet period', '')}`);
  if (r.nemesisErrors.length) lines.push(`nemesis errors (logged, the run went on): ${r.nemesisErrors.length} (first: ${r.nemesisErrors[0]})`);
  if (r.delayMs !== undefined) lines.push(`RPC delay: ${r.delayMs} ms one way`);
  const top = Object.entries(r.errors).sort((a, b) => b[1] - a[1]).slice(0, 8);
  if (top.length) lines.push(`errors: ${top.map(([k, v]) => `${k} ×${v}`).join('; ')}`);
  const anomalies = describeAnomalies(r.result);
  if (anomalies) lines.push(anomalies.trimEnd());
  if (r.outDir) lines.push(`history and node logs: ${r.outDir}`);
  return lines.join('\n');
}
