// Metadata snapshots (Garage's `meta snapshot`): a consistent, compacted copy of the LMDB
// environment taken while the node serves, plus the node's key files, written to
// <metadata_snapshots_dir>/<UTC time>/ and kept N deep; on demand and every
// metadata_auto_snapshot_interval. Restoring one is copying it back while the node is stopped.
import { copyFileSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, statfsSync, writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import type { Db } from './db.ts';
import { privateDir } from './private-files.ts';
import { parseDurationSecs, type Config } from '../config/config.ts';
import { log } from '../util/log.ts';
import { gaugeFrom } from '../util/metrics.ts';

/** LMDB's own files: copied by the backup, never as files (a file copy of a live data.mdb is torn). */
const LMDB_FILES = new Set(['data.mdb', 'lock.mdb', 'data.mdb-lock']);
/** Other files of metadata_dir (node_key.pem, acme_account_key.pem) are small; a larger one is not ours. */
const EXTRA_FILE_BYTES_MAX = 1024 * 1024;
/** Free space kept on the snapshots' disk beyond the copy itself. */
const FREE_BYTES_MARGIN = 64 * 1024 * 1024;
/** The longest a timer is set for (setTimeout overflows past 2^31-1 ms); longer waits are chained. */
const TIMER_MS_MAX = 86_400_000;
/** A snapshot directory's name: the UTC second it was taken (-N for more in one second), sortable
 *  as text. No dot: lmdb-js opens a path with an extension as a single file, not a directory. */
const NAME_RE = /^\d{4}-\d\d-\d\dT\d\d-\d\d-\d\dZ(-\d+)?$/;
export const MANIFEST = 'snapshot.json';

export interface SnapshotOptions {
  metadataDir: string;
  snapshotsDir: string;
  keep: number;
  /** Seconds between automatic snapshots (undefined: none). */
  intervalSecs?: number;
}

export interface SnapshotResult {
  name: string;
  path: string;
  bytes: number;
  durationMs: number;
  /** Older snapshots deleted to keep `keep`. */
  removed: string[];
}

export class SnapshotError extends Error {
  readonly code: 'SnapshotInProgress' | 'SnapshotFailed';
  constructor(code: SnapshotError['code'], message: string) {
    super(message);
    this.name = 'SnapshotError';
    this.code = code;
  }
}

/** Complete snapshots, oldest first (a copy still being written has a dot name and is not listed). */
export function listSnapshots(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && NAME_RE.test(e.name) && existsSync(join(dir, e.name, MANIFEST)))
    .map((e) => e.name)
    .sort();
}

function timeOfName(name: string): number {
  const iso = name.replace(/Z-\d+$/, 'Z').replace(/T(\d\d)-(\d\d)-(\d\d)/, 'T$1:$2:$3');
  return Date.parse(iso);
}

function dirBytes(dir: string): number {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isFile()) n += statSync(join(dir, e.name)).size;
  return n;
}

export class MetaSnapshots {
  readonly opts: SnapshotOptions;
  private readonly db: Db;
  private running: Promise<SnapshotResult> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private lastAt: number | undefined;

  constructor(db: Db, opts: SnapshotOptions) {
    this.db = db;
    this.opts = opts;
    const newest = listSnapshots(opts.snapshotsDir).at(-1);
    this.lastAt = newest ? timeOfName(newest) : undefined;
  }

  /** Takes one snapshot now; refuses (SnapshotInProgress) while another is being taken. */
  snapshot(): Promise<SnapshotResult> {
    if (this.running) return Promise.reject(new SnapshotError('SnapshotInProgress', 'a metadata snapshot is already being taken on this node; try again when it is done'));
    const p = this.take().finally(() => {
      this.running = undefined;
    });
    this.running = p;
    return p;
  }

  private async take(): Promise<SnapshotResult> {
    const started = Date.now();
    const { metadataDir, snapshotsDir, keep } = this.opts;
    privateDir(snapshotsDir, 'metadata_snapshots_dir');
    const liveBytes = statSync(join(metadataDir, 'data.mdb')).size;
    const fs = statfsSync(snapshotsDir);
    const free = fs.bavail * fs.bsize;
    // The compacted copy is at most the live file: refuse rather than fill the disk.
    if (free < liveBytes + FREE_BYTES_MARGIN)
      throw new SnapshotError('SnapshotFailed', `not enough free space in ${snapshotsDir}: ${free} bytes free, the metadata is ${liveBytes} bytes (+${FREE_BYTES_MARGIN} kept free)`);
    // Newer than every snapshot kept, so that pruning by name order never deletes the new one
    // (two in one second; a clock set back).
    const newest = listSnapshots(snapshotsDir).at(-1);
    let stamp = new Date(started).toISOString().replace(/\.\d+Z$/, 'Z').replaceAll(':', '-');
    if (newest && newest.replace(/-\d+$/, '') > stamp) stamp = newest.replace(/-\d+$/, '');
    let name = stamp;
    for (let i = 1; existsSync(join(snapshotsDir, name)) || (newest !== undefined && name <= newest); i++) name = `${stamp}-${String(i).padStart(3, '0')}`;
    const tmp = join(snapshotsDir, `.${name}.partial`);
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp, { mode: 0o700 });
    try {
      await this.db.backup(tmp);
      const files = ['data.mdb'];
      for (const e of readdirSync(metadataDir, { withFileTypes: true })) {
        if (!e.isFile() || LMDB_FILES.has(e.name)) continue;
        const src = join(metadataDir, e.name);
        if (statSync(src).size > EXTRA_FILE_BYTES_MAX) continue;
        copyFileSync(src, join(tmp, e.name));
        files.push(e.name);
      }
      const manifest = { takenAt: new Date(started).toISOString(), files, restore: 'stop the node, replace metadata_dir by a copy of this directory (without snapshot.json), start it' };
      writeFileSync(join(tmp, MANIFEST), JSON.stringify(manifest, null, 2) + '\n', { mode: 0o600 });
      for (const f of readdirSync(tmp)) chmodSync(join(tmp, f), 0o600);
      // Complete or absent: a crash mid-copy leaves only a .partial directory, never a torn snapshot.
      renameSync(tmp, join(snapshotsDir, name));
    } catch (e) {
      rmSync(tmp, { recursive: true, force: true });
      if (e instanceof SnapshotError) throw e;
      throw new SnapshotError('SnapshotFailed', `metadata snapshot failed: ${(e as Error).message}`);
    }
    const all = listSnapshots(snapshotsDir);
    const removed = all.slice(0, Math.max(0, all.length - keep));
    for (const old of removed) rmSync(join(snapshotsDir, old), { recursive: true, force: true });
    // Leftovers of interrupted snapshots.
    for (const e of readdirSync(snapshotsDir)) if (e.startsWith('.') && e.endsWith('.partial') && e !== `.${name}.partial`) rmSync(join(snapshotsDir, e), { recursive: true, force: true });
    const path = join(snapshotsDir, name);
    const r: SnapshotResult = { name, path, bytes: dirBytes(path), durationMs: Date.now() - started, removed };
    this.lastAt = started;
    log.info({ snapshot: path, bytes: r.bytes, ms: r.durationMs, removed: removed.length }, 'metadata snapshot taken');
    return r;
  }

  /** Every intervalSecs (± a little, so a cluster's nodes do not all copy at once), counted from
   *  the newest snapshot on disk, so restarts do not postpone it. */
  startAuto(): void {
    const secs = this.opts.intervalSecs;
    if (!secs || this.stopped) return;
    gaugeFrom('metadata_snapshot_last_timestamp_seconds', 'When the newest metadata snapshot of this node was taken (Unix time; 0: none)', [], () => [
      { value: this.lastAt === undefined ? 0 : Math.floor(this.lastAt / 1000) },
    ]);
    const jitter = () => Math.floor(Math.random() * Math.min(60_000, secs * 100));
    const schedule = () => {
      if (this.stopped) return;
      const due = (this.lastAt ?? Date.now()) + secs * 1000 + jitter();
      const wait = Math.max(0, due - Date.now());
      this.timer = setTimeout(wait > TIMER_MS_MAX ? schedule : run, Math.min(wait, TIMER_MS_MAX));
      this.timer.unref();
    };
    const run = () => {
      if (this.stopped) return;
      this.snapshot().then(
        () => schedule(),
        (e: Error) => {
          // Counted from now, not retried at once: a full disk must not make it spin.
          this.lastAt = Date.now();
          log.error({ err: e.message }, 'automatic metadata snapshot failed; next attempt after metadata_auto_snapshot_interval');
          schedule();
        },
      );
    };
    schedule();
  }

  /** Stops the timer and waits for a snapshot in progress (the database must outlive its copy). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running?.catch(() => undefined);
  }
}

const byDb = new WeakMap<Db, MetaSnapshots>();

/** The one MetaSnapshots of a node's database (the admin API, the RPC endpoint and the timer share its lock). */
export function metaSnapshots(db: Db, config: Pick<Config, 'metadata_dir' | 'metadata_snapshots_dir' | 'metadata_snapshots_keep' | 'metadata_auto_snapshot_interval'>): MetaSnapshots {
  let s = byDb.get(db);
  if (!s) {
    s = new MetaSnapshots(db, {
      metadataDir: config.metadata_dir,
      snapshotsDir: config.metadata_snapshots_dir,
      keep: config.metadata_snapshots_keep,
      intervalSecs: config.metadata_auto_snapshot_interval === undefined ? undefined : parseDurationSecs(config.metadata_auto_snapshot_interval),
    });
    byDb.set(db, s);
  }
  return s;
}
