// The nemesis of a fault run: a schedule of faults drawn from a seed before the run starts (so a
// seed replays it), and the code that applies and heals each on real node processes — kill -9 +
// restart, SIGSTOP/SIGCONT, nftables partitions (one node, 2|3, bridge 2-1-2), clock skew through
// libfaketime's timestamp file, corrupted or deleted block files, packet loss (nftables numgen),
// a full data disk (tmpfs shrunk), EIO on fsync (strace injection) and layout changes under load
// (remove a node, add a zone), each undone when its step ends. A node whose process is gone (crashed,
// exited under EIO or a full disk, killed by someone else) is a crash, never an error of the run:
// logged with its output tail, counted, restarted (a failed restart is retried at the next step).
import { readdirSync, readFileSync, unlinkSync, writeFileSync, existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { prng } from '../../../src/util/random.ts';
import type { Cluster, ClusterNode } from '../../lib/cluster.ts';
import type { SmallDisk } from './disk.ts';
import { injectFsyncEio, type Injection } from './fsync-eio.ts';
import type { NetLab } from '../../lib/netns.ts';
import { int, pick, type Rng } from './workload.ts';

export const NEMESES = [
  'kill',
  'pause',
  'partition-one',
  'partition-halves',
  'partition-bridge',
  'clock',
  'corrupt-blocks',
  'delete-blocks',
  'loss',
  'disk-full',
  'fsync-eio',
  'layout-remove',
  'layout-add-zone',
] as const;
export type NemesisKind = (typeof NEMESES)[number];

export interface Fault {
  kind: NemesisKind;
  /** kill, pause, clock, *-blocks: the nodes hit. */
  nodes: number[];
  /** partitions: pairs of sides cut from each other. */
  cuts?: [number[], number[]][];
  /** clock: the offset of each of `nodes`, in seconds. */
  skewSecs?: number[];
  /** loss: share of packets dropped to and from each of `nodes`, in %. */
  lossPercent?: number;
  /** fsync-eio: every how many fsync calls one fails (1: all). */
  every?: number;
}

export interface Step {
  /** When the faults start, ms after the workload started. */
  atMs: number;
  durationMs: number;
  faults: Fault[];
}

export interface ScheduleOptions {
  seed: number;
  kinds: NemesisKind[];
  nodes: number;
  totalMs: number;
  /** Largest clock offset, in seconds (drawn in ±[1, max]). */
  maxSkewSecs: number;
  /** Fault periods and the quiet ones between them, in ms. */
  faultMs: [number, number];
  quietMs: [number, number];
  /** Chance that a step combines two nemeses (mixed). */
  mixChance: number;
  /** layout-remove: nodes whose removal keeps every zone (default: all). */
  removable?: number[];
}

const PARTITIONS = new Set<NemesisKind>(['partition-one', 'partition-halves', 'partition-bridge']);
export const LAYOUT = new Set<NemesisKind>(['layout-remove', 'layout-add-zone']);
/** The zone that layout-add-zone brings in (the run's extra node, a gateway until then). */
export const EXTRA_ZONE = 'brest';

function shuffle<T>(r: Rng, xs: T[]): T[] {
  const a = [...xs];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

function fault(r: Rng, kind: NemesisKind, nodes: number, busy: Set<number>, maxSkew: number, removable: number[]): Fault | undefined {
  const all = [...Array(nodes).keys()];
  const free = all.filter((i) => !busy.has(i));
  switch (kind) {
    case 'loss': {
      const hit = shuffle(r, all).slice(0, int(r, 1, 2));
      return { kind, nodes: hit, lossPercent: int(r, 5, 30) };
    }
    case 'fsync-eio': {
      // Not with kill or pause of the same node: strace follows one pid, and a stopped one.
      if (!free.length) return undefined;
      const n = pick(r, free);
      busy.add(n);
      return { kind, nodes: [n], every: pick(r, [1, 1, 2, 3]) };
    }
    case 'disk-full':
      return { kind, nodes: [pick(r, all)] };
    case 'layout-remove':
      return removable.length ? { kind, nodes: [pick(r, removable)] } : undefined;
    case 'layout-add-zone':
      return { kind, nodes: [] };
    case 'kill':
    case 'pause':
    case 'corrupt-blocks':
    case 'delete-blocks': {
      if (!free.length) return undefined;
      const n = pick(r, free);
      if (kind === 'kill' || kind === 'pause') busy.add(n);
      return { kind, nodes: [n] };
    }
    case 'clock': {
      const hit = shuffle(r, all).slice(0, int(r, 1, 2));
      return { kind, nodes: hit, skewSecs: hit.map(() => (r() < 0.5 ? -1 : 1) * int(r, 1, maxSkew)) };
    }
    case 'partition-one': {
      const n = pick(r, all);
      return { kind, nodes: [n], cuts: [[[n], all.filter((i) => i !== n)]] };
    }
    case 'partition-halves': {
      const s = shuffle(r, all);
      const k = Math.floor(nodes / 2);
      return { kind, nodes: [], cuts: [[s.slice(0, k), s.slice(k)]] };
    }
    case 'partition-bridge': {
      // Two sides that only the middle node sees both of (Jepsen's "bridge").
      const s = shuffle(r, all);
      const k = Math.floor((nodes - 1) / 2);
      return { kind, nodes: [s[k]!], cuts: [[s.slice(0, k), s.slice(k + 1)]] };
    }
  }
}

/** The whole run's faults, from the seed alone. */
export function schedule(o: ScheduleOptions): Step[] {
  const r = prng((o.seed ^ 0x9e3779b9) >>> 0);
  const steps: Step[] = [];
  let t = int(r, ...o.quietMs);
  for (let guard = 0; guard < 100_000 && o.kinds.length; guard++) {
    const durationMs = int(r, ...o.faultMs);
    if (t + durationMs > o.totalMs) break;
    const count = r() < o.mixChance ? 2 : 1;
    const kinds = shuffle(r, o.kinds);
    const faults: Fault[] = [];
    const busy = new Set<number>();
    let partitioned = false;
    let relayout = false;
    for (const k of kinds) {
      if (faults.length >= count) break;
      // One partition at a time (healing flushes every rule); one layout change at a time (each
      // applies the version after the current one).
      if (PARTITIONS.has(k) && partitioned) continue;
      if (LAYOUT.has(k) && relayout) continue;
      const f = fault(r, k, o.nodes, busy, o.maxSkewSecs, o.removable ?? [...Array(o.nodes).keys()]);
      if (!f) continue;
      partitioned ||= PARTITIONS.has(k);
      relayout ||= LAYOUT.has(k);
      faults.push(f);
    }
    steps.push({ atMs: t, durationMs, faults });
    t += durationMs + int(r, ...o.quietMs);
  }
  return steps;
}

export function describeFault(f: Fault): string {
  if (f.cuts) return `${f.kind} ${f.cuts.map(([a, b]) => `{${a.join(',')}}|{${b.join(',')}}`).join(' ')}`;
  if (f.lossPercent !== undefined) return `loss ${f.lossPercent}% n${f.nodes.join(',n')}`;
  if (f.every !== undefined) return `fsync-eio n${f.nodes.join(',n')}${f.every > 1 ? ` (1 in ${f.every})` : ''}`;
  if (f.kind === 'layout-add-zone') return `layout-add-zone ${EXTRA_ZONE}`;
  if (f.skewSecs) return `clock ${f.nodes.map((n, i) => `n${n}${f.skewSecs![i]! >= 0 ? '+' : ''}${f.skewSecs![i]}s`).join(' ')}`;
  return `${f.kind} n${f.nodes.join(',n')}`;
}

export function describeStep(s: Step): string {
  return `@${(s.atMs / 1000).toFixed(1)}s for ${(s.durationMs / 1000).toFixed(1)}s: ${s.faults.map(describeFault).join(' + ')}`;
}

/** Block files under a node's data dir (data/ab/cd/<hash>[.zst]). */
function blockFiles(dataDir: string): string[] {
  const out: string[] = [];
  const hex2 = /^[0-9a-f]{2}$/;
  if (!existsSync(dataDir)) return out;
  for (const a of readdirSync(dataDir).filter((x) => hex2.test(x)))
    for (const b of readdirSync(join(dataDir, a)).filter((x) => hex2.test(x)))
      for (const f of readdirSync(join(dataDir, a, b))) if (/^[0-9a-f]{64}(\.zst)?$/.test(f)) out.push(join(dataDir, a, b, f));
  return out;
}

export interface NemesisEnv {
  cluster: Cluster;
  lab?: NetLab;
  /** Per node, the libfaketime timestamp file its process reads its clock offset from. */
  clockFiles?: string[];
  seed: number;
  log: (line: string) => void;
  /** Per node, its data_dir's small tmpfs (disk-full). */
  disks?: SmallDisk[];
  /** layout-add-zone: the extra node (no role until the fault gives it one in EXTRA_ZONE). */
  extra?: ClusterNode;
  /** Per node index, its zone (layout-remove puts a removed node back there). */
  zones: string[];
  /** Longest wait for a layout version to be synced by every node, in ms. */
  layoutSyncTimeoutMs?: number;
}

export interface NemesisCounts {
  applied: Record<string, number>;
  blocksDamaged: number;
  /** fsync-eio: node processes that exited during the window (restarted by the heal). */
  exitedOnEio: number;
  /** Time each layout change took to be synced by every node, in ms (-1: not within the bound). */
  layoutSyncMs: number[];
  /** Layout changes that could not be applied (with why), e.g. the node asked was cut off. */
  layoutErrors: string[];
  /** Faults that met a node whose process was already gone (treated as a crash, restarted). */
  crashes: number;
  /** Node processes found gone between steps that no nemesis had killed (restarted). */
  vanished: number;
  /** Restarts that failed (retried before the next step and in healAll). */
  restartFailures: number;
  /** How long each successful restart took until /health/live answered, in ms. */
  restartMs: number[];
  /** Faults that could not be applied or healed (with why): logged, the run goes on. */
  errors: string[];
}

/** Applies and heals faults; `healAll` undoes whatever is in effect (also after an error). */
export class Nemesis {
  readonly counts: NemesisCounts = { applied: {}, blocksDamaged: 0, exitedOnEio: 0, layoutSyncMs: [], layoutErrors: [], crashes: 0, vanished: 0, restartFailures: 0, restartMs: [], errors: [] };
  /** Nodes whose process is gone and still to be restarted (at their fault's heal, or the next
   *  reviveVanished). */
  private readonly down = new Set<number>();
  private lossy = false;
  private readonly filled = new Set<number>();
  private readonly straced = new Map<number, Injection>();
  /** layout-remove: nodes out of the layout; layout-add-zone: whether the extra node has a role. */
  private readonly removed = new Set<number>();
  private extraIn = false;
  private syncing: Promise<void> | undefined;
  private readonly r: Rng;
  private readonly killed = new Set<number>();
  private readonly paused = new Set<number>();
  private partitioned = false;
  private skewed = new Set<number>();
  private readonly env: NemesisEnv;

  constructor(env: NemesisEnv) {
    this.env = env;
    this.r = prng((env.seed ^ 0x85ebca6b) >>> 0);
  }

  async apply(f: Fault): Promise<void> {
    const c = this.env.cluster;
    this.counts.applied[f.kind] = (this.counts.applied[f.kind] ?? 0) + 1;
    switch (f.kind) {
      case 'kill':
        for (const n of f.nodes) {
          this.killed.add(n);
          await c.node(n).kill('SIGKILL');
        }
        return;
      case 'pause':
        for (const n of f.nodes) {
          // Never signal a pid that is no longer the node's (pids are reused).
          if (!nodeUp(c.node(n))) {
            this.crashed(n, 'pause');
            continue;
          }
          this.paused.add(n);
          process.kill(c.node(n).pid, 'SIGSTOP');
        }
        return;
      case 'partition-one':
      case 'partition-halves':
      case 'partition-bridge':
        if (!this.env.lab) throw new Error(`${f.kind} needs the network lab`);
        this.partitioned = true;
        for (const [a, b] of f.cuts!) this.env.lab.partition(a, b);
        return;
      case 'clock':
        f.nodes.forEach((n, i) => {
          const file = this.env.clockFiles?.[n];
          if (!file) throw new Error('clock needs faketime');
          this.skewed.add(n);
          writeFileSync(file, `${f.skewSecs![i]! >= 0 ? '+' : ''}${f.skewSecs![i]}s\n`);
        });
        return;
      case 'corrupt-blocks':
      case 'delete-blocks':
        for (const n of f.nodes) this.damage(n, f.kind === 'delete-blocks');
        return;
      case 'loss':
        if (!this.env.lab) throw new Error('loss needs the network lab');
        this.lossy = true;
        this.env.lab.loss(f.nodes, f.lossPercent!);
        return;
      case 'disk-full':
        for (const n of f.nodes) {
          const d = this.env.disks?.[n];
          if (!d) throw new Error('disk-full needs the tmpfs data disks');
          this.filled.add(n);
          d.fill();
        }
        return;
      case 'fsync-eio':
        for (const n of f.nodes) {
          if (this.straced.has(n)) continue;
          if (!nodeUp(c.node(n))) {
            this.crashed(n, 'fsync-eio');
            continue;
          }
          try {
            this.straced.set(n, await injectFsyncEio(c.node(n).pid, f.every ?? 1));
          } catch (e) {
            // The process went away between the check and the attach: a crash too.
            if (!nodeUp(c.node(n))) this.crashed(n, 'fsync-eio');
            else this.error(`fsync-eio n${n}: ${(e as Error).message}`);
          }
        }
        return;
      case 'layout-remove':
        for (const n of f.nodes) {
          if (this.removed.has(n)) continue;
          if (await this.relayout([{ id: c.node(n).id, zone: null }], `remove n${n}`)) this.removed.add(n);
        }
        return;
      case 'layout-add-zone':
        if (!this.env.extra) throw new Error('layout-add-zone needs the extra node');
        if (!this.extraIn && (await this.relayout([{ id: this.env.extra.id, zone: EXTRA_ZONE }], `add zone ${EXTRA_ZONE}`))) this.extraIn = true;
        return;
    }
  }

  /** A node to send admin calls to: one this nemesis has not killed, paused or straced, and whose
   *  process is up. */
  private via(): ClusterNode | undefined {
    const c = this.env.cluster;
    const n = this.env.zones.findIndex((_, i) => !this.killed.has(i) && !this.paused.has(i) && !this.straced.has(i) && !this.down.has(i) && nodeUp(c.node(i)));
    return n < 0 ? undefined : c.node(n);
  }

  /** Applies one layout change after the previous one is synced (bounded), then follows the new
   *  version's sync in the background; false (and logged) when it could not be applied. */
  private async relayout(roles: { id: string; zone: string | null }[], what: string): Promise<boolean> {
    await this.settled();
    const c = this.env.cluster;
    const via = this.via();
    if (!via) {
      this.counts.layoutErrors.push(`${what}: no node to ask`);
      return false;
    }
    let version: number;
    try {
      version = await c.assignAndApply(roles, via);
    } catch (e) {
      this.counts.layoutErrors.push(`${what}: ${(e as Error).message.slice(0, 200)}`);
      this.env.log(`    layout ${what} not applied: ${(e as Error).message.slice(0, 200)}`);
      return false;
    }
    const t0 = performance.now();
    const bound = this.env.layoutSyncTimeoutMs ?? 90_000;
    this.syncing = c
      .waitLayoutSynced(c.nodes, version, bound)
      .then(() => {
        const ms = performance.now() - t0;
        this.counts.layoutSyncMs.push(ms);
        this.env.log(`    layout v${version} (${what}) synced on every node in ${(ms / 1000).toFixed(1)} s`);
      })
      .catch((e: Error) => {
        this.counts.layoutSyncMs.push(-1);
        this.env.log(`    layout v${version} (${what}) NOT synced within ${bound / 1000} s: ${e.message.slice(0, 300)}`);
      });
    return true;
  }

  /** Resolves when the last layout change is synced or its bounded wait gave up. */
  async settled(): Promise<void> {
    await this.syncing;
  }

  /** Ends strace on node n; marks the node for a restart if it exited meanwhile (a crash on EIO is
   *  allowed, losing acknowledged data is not). */
  private async unstrace(n: number): Promise<void> {
    const inj = this.straced.get(n);
    if (!inj) return;
    this.straced.delete(n);
    await inj.stop();
    const node = this.env.cluster.node(n);
    await new Promise((r) => setTimeout(r, 100));
    if (!nodeUp(node)) {
      this.counts.exitedOnEio++;
      this.env.log(`    n${n} exited under fsync EIO; restarting it${tail(node.output())}`);
      this.down.add(n);
    }
  }

  /** SIGCONT to node n if its process is still the node's; else a crash (restarted by the heal). */
  private cont(n: number): void {
    const node = this.env.cluster.node(n);
    if (!nodeUp(node)) return this.crashed(n, 'pause');
    try {
      process.kill(node.pid, 'SIGCONT');
    } catch {
      this.crashed(n, 'pause');
    }
  }

  /** A fault met node n's process gone: a crash (restarted at the fault's heal). */
  private crashed(n: number, during: string): void {
    this.counts.crashes++;
    this.down.add(n);
    this.env.log(`    n${n} (${during}): its process is gone; treated as a crash, restarted at the heal${tail(this.env.cluster.node(n).output())}`);
  }

  private error(what: string): void {
    this.counts.errors.push(what.slice(0, 300));
    this.env.log(`    nemesis error (the run goes on): ${what.slice(0, 300)}`);
  }

  /** Restarts node n (bounded by the node's start timeout); never throws: a failure is logged and
   *  the node stays in `down` for the next attempt. */
  private async revive(n: number, why: string): Promise<boolean> {
    const t0 = performance.now();
    try {
      await this.env.cluster.node(n).restart('live');
      this.down.delete(n);
      this.counts.restartMs.push(performance.now() - t0);
      return true;
    } catch (e) {
      this.down.add(n);
      this.counts.restartFailures++;
      // startNode's message: the reason on its first line, then the process's output.
      const [first, ...out] = (e as Error).message.split('\n');
      this.env.log(`    n${n} restart (${why}) failed, retried at the next step: ${first!.slice(0, 300)}${tail(out.join('\n'))}`);
      return false;
    }
  }

  /** Between steps: restarts every node that should be running and is not — one that a crash left
   *  down, or one that exited with no nemesis on it (logged with its output tail: a finding). */
  async reviveVanished(): Promise<void> {
    const c = this.env.cluster;
    for (let n = 0; n < c.nodes.length; n++) {
      if (this.killed.has(n) || this.straced.has(n)) continue;
      if (this.down.has(n)) {
        await this.revive(n, 'left down');
        continue;
      }
      const node = c.node(n);
      if (nodeUp(node)) continue;
      this.counts.vanished++;
      this.env.log(`    n${n} VANISHED: its process is gone and no nemesis killed it; restarting it${tail(node.output())}`);
      await this.revive(n, 'vanished');
    }
  }

  /** apply, with any failure logged and counted instead of thrown (the run goes on; healAll undoes
   *  whatever half-applied state is recorded). */
  async tryApply(f: Fault): Promise<void> {
    try {
      await this.apply(f);
    } catch (e) {
      this.error(`apply ${describeFault(f)}: ${(e as Error).message}`);
    }
  }

  async tryHeal(f: Fault): Promise<void> {
    try {
      await this.heal(f);
    } catch (e) {
      this.error(`heal ${describeFault(f)}: ${(e as Error).message}`);
    }
  }

  /** Heals the layout faults last: their sync needs every node back. */
  static healOrder(faults: Fault[]): Fault[] {
    return [...faults].reverse().sort((a, b) => Number(LAYOUT.has(a.kind)) - Number(LAYOUT.has(b.kind)));
  }

  /** Up to 3 block files of node n: one byte flipped in the middle, or unlinked. */
  private damage(n: number, remove: boolean): void {
    const files = blockFiles(join(this.env.cluster.node(n).dir, 'data')).sort();
    for (let i = 0; i < 3 && files.length; i++) {
      const p = files.splice(Math.floor(this.r() * files.length), 1)[0]!;
      try {
        if (remove) unlinkSync(p);
        else {
          const b = readFileSync(p);
          if (!b.length) continue;
          b[b.length >> 1]! ^= 0x5a;
          writeFileSync(p, b);
        }
        this.counts.blocksDamaged++;
      } catch {
        /* gone meanwhile (GC, offload): nothing to damage */
      }
    }
  }

  async heal(f: Fault): Promise<void> {
    await this.healOnly(f);
    // Whatever this fault found or left gone comes back with its heal.
    for (const n of f.nodes) if (this.down.has(n) && !this.killed.has(n)) await this.revive(n, `heal of ${f.kind}`);
  }

  private async healOnly(f: Fault): Promise<void> {
    const c = this.env.cluster;
    switch (f.kind) {
      case 'kill':
        for (const n of f.nodes) if (this.killed.delete(n)) this.down.add(n);
        return;
      case 'pause':
        for (const n of f.nodes) if (this.paused.delete(n)) this.cont(n);
        return;
      case 'partition-one':
      case 'partition-halves':
      case 'partition-bridge':
        if (this.partitioned) this.env.lab!.heal();
        this.partitioned = false;
        return;
      case 'clock':
        for (const n of f.nodes) if (this.skewed.delete(n)) writeFileSync(this.env.clockFiles![n]!, '+0s\n');
        return;
      case 'loss':
        if (this.lossy) this.env.lab!.healLoss();
        this.lossy = false;
        return;
      case 'disk-full':
        for (const n of f.nodes) if (this.filled.delete(n)) this.env.disks![n]!.free();
        return;
      case 'fsync-eio':
        for (const n of f.nodes) await this.unstrace(n);
        return;
      case 'layout-remove':
        for (const n of f.nodes) if (this.removed.has(n) && (await this.relayout([{ id: c.node(n).id, zone: this.env.zones[n]! }], `re-add n${n}`))) this.removed.delete(n);
        return;
      case 'layout-add-zone':
        if (this.extraIn && (await this.relayout([{ id: this.env.extra!.id, zone: null }], `remove zone ${EXTRA_ZONE}`))) this.extraIn = false;
        return;
      default:
        return;
    }
  }

  /** Undoes everything in effect: CONT, detach strace, restart, flush partitions and loss, clocks
   *  back to true time, disks freed, layout back to the starting roles (and synced, bounded). */
  async healAll(): Promise<void> {
    const c = this.env.cluster;
    const step = async (what: string, fn: () => unknown) => {
      try {
        await fn();
      } catch (e) {
        this.error(`healAll ${what}: ${(e as Error).message}`);
      }
    };
    for (const n of [...this.straced.keys()]) await step(`strace n${n}`, () => this.unstrace(n));
    for (const n of [...this.paused]) {
      this.paused.delete(n);
      this.cont(n);
    }
    if (this.partitioned) await step('partitions', () => this.env.lab?.heal());
    this.partitioned = false;
    for (const n of [...this.skewed]) await step(`clock n${n}`, () => writeFileSync(this.env.clockFiles![n]!, '+0s\n'));
    this.skewed.clear();
    if (this.lossy) await step('loss', () => this.env.lab?.healLoss());
    this.lossy = false;
    for (const n of [...this.filled]) await step(`disk n${n}`, () => this.env.disks![n]!.free());
    this.filled.clear();
    for (const n of [...this.killed]) {
      this.killed.delete(n);
      this.down.add(n);
    }
    // Every node that should run (killed, crashed, vanished), a few bounded attempts each (a start
    // can take longer than startNode's 30 s on a loaded machine: each attempt starts afresh).
    for (let i = 0; i < 6; i++) {
      await this.reviveVanished();
      if (!this.down.size) break;
      await new Promise((r) => setTimeout(r, 2000));
    }
    // Layout last, with every node back; each attempt bounded, at most a few.
    for (let i = 0; i < 3 && (this.removed.size || this.extraIn); i++) {
      const roles: { id: string; zone: string | null }[] = [...this.removed].map((n) => ({ id: c.node(n).id, zone: this.env.zones[n]! }));
      if (this.extraIn) roles.push({ id: this.env.extra!.id, zone: null });
      if (await this.relayout(roles, 'restore the starting roles')) {
        this.removed.clear();
        this.extraIn = false;
      } else await new Promise((r) => setTimeout(r, 2000));
    }
    await this.settled();
  }
}

/** Whether a node's server process is up (running or stopped): its pid exists, is no zombie, and
 *  its command line names the node's config — pids are reused (pid_max may be 32768), and a
 *  signal or strace must never reach another process. */
export function nodeUp(node: { pid: number; configPath: string }): boolean {
  if (!(node.pid > 0)) return false;
  const st = processState(node.pid);
  if (st === 'gone' || st === 'Z') return false;
  try {
    return readFileSync(`/proc/${node.pid}/cmdline`, 'utf8').split('\0').includes(node.configPath);
  } catch {
    return false;
  }
}

/** The last lines of a node's output, indented, for the run's log ('' when there is none). */
function tail(out: string): string {
  const t = out.trimEnd().slice(-1500);
  return t ? `; output tail:\n${t.split('\n').map((l) => `      | ${l}`).join('\n')}` : '';
}

/** Whether a node process is stopped (state T in /proc), for diagnostics. */
export function processState(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0] ?? '?';
  } catch {
    return 'gone';
  }
}

/** Why faketime cannot skew a node's clock at run time here, or undefined when it can. */
export function faketimeProblem(lib: string, dir: string): string | undefined {
  if (!existsSync(lib)) return `${lib} is missing (apt-get install faketime)`;
  const file = join(dir, 'faketime-probe');
  writeFileSync(file, '+100s\n');
  try {
    const out = execFileSync(process.execPath, ['-e', 'console.log(Date.now())'], { env: { ...process.env, NODE_OPTIONS: '', ...faketimeEnv(lib, file) }, timeout: 10_000 }).toString();
    const skew = (Number(out.trim()) - Date.now()) / 1000;
    if (Math.abs(skew - 100) > 5) return `faketime did not shift node's clock (measured ${skew.toFixed(1)} s, wanted 100 s)`;
  } catch (e) {
    return `node under faketime failed: ${(e as Error).message.split('\n')[0]}`;
  } finally {
    void statSync(file);
  }
  return undefined;
}

/** Environment that makes a process read its wall-clock offset from `file` (re-read every
 *  second); monotonic clocks stay true so timers and timeouts are not disturbed. */
export function faketimeEnv(lib: string, file: string): Record<string, string> {
  return { LD_PRELOAD: lib, FAKETIME_TIMESTAMP_FILE: file, FAKETIME_CACHE_DURATION: '1', FAKETIME_DONT_FAKE_MONOTONIC: '1' };
}
