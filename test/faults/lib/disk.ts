// The full-disk nemesis's ground: each node's data_dir moved onto a tmpfs of its own (root only),
// "filled" by shrinking the tmpfs to what it holds (no filler bytes, so no RAM spent) and freed by
// growing it back; unmounted (lazily) when the run ends, even on failure.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, rmSync, statfsSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';

function run(cmd: string, args: string[]): void {
  try {
    execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], timeout: 10_000 });
  } catch (e) {
    const err = e as Error & { stderr?: Buffer };
    throw new Error(`${cmd} ${args.join(' ')}: ${err.stderr?.toString().trim() || err.message}`);
  }
}

/** Why a tmpfs cannot be mounted here, or undefined when it can. */
export function tmpfsProblem(): string | undefined {
  if (process.getuid?.() !== 0) return 'not root (mounting a tmpfs needs CAP_SYS_ADMIN)';
  const dir = mkdtempSync(join(tmpdir(), 'grenier-tmpfs-probe-'));
  try {
    run('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'grenier-probe', dir]);
    run('umount', [dir]);
    return undefined;
  } catch (e) {
    return `mount -t tmpfs fails: ${(e as Error).message}`;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Bytes a filesystem uses and its size. */
export function usage(dir: string): { used: number; size: number } {
  const s = statfsSync(dir);
  return { used: (s.blocks - s.bfree) * s.bsize, size: s.blocks * s.bsize };
}

export interface SmallDisk {
  dir: string;
  sizeBytes: number;
  /** Shrinks the tmpfs to what it holds plus `slackBytes` (less than a block: every new block
   *  write gets ENOSPC). Returns the size set. */
  fill(slackBytes?: number): number;
  /** Back to the full size. */
  free(): void;
  full(): boolean;
  /** Unmounts (lazily: a node still writing keeps its open files), leaving the directory below as it
   *  was before the mount; idempotent. For the end of a run, when the data is no longer needed. */
  unmount(): void;
}

/** Mounts a tmpfs of `sizeBytes` over `dir`, keeping what `dir` held (copied in). The caller makes
 *  sure nothing writes to `dir` meanwhile (done before the workload starts). */
export function mountSmallDisk(dir: string, sizeBytes: number): SmallDisk {
  const stage = mkdtempSync(join(tmpdir(), 'grenier-tmpfs-stage-'));
  cpSync(dir, stage, { recursive: true });
  run('mount', ['-t', 'tmpfs', '-o', `size=${sizeBytes},mode=0755`, 'grenier-data', dir]);
  let mounted = true;
  const onExit = () => {
    if (mounted) {
      mounted = false;
      try {
        run('umount', ['-l', dir]);
      } catch {
        /* gone already */
      }
    }
  };
  process.once('exit', onExit);
  try {
    for (const e of readdirSync(stage)) cpSync(join(stage, e), join(dir, e), { recursive: true });
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
  let full = false;
  return {
    dir,
    sizeBytes,
    fill(slackBytes = 16 * 1024) {
      // Writes may land between the statfs and the remount (which refuses a size under what is
      // used): retry a bounded number of times with more room.
      let last: Error | undefined;
      for (let i = 0; i < 20; i++) {
        const size = Math.min(sizeBytes, usage(dir).used + slackBytes * (i + 1));
        try {
          run('mount', ['-o', `remount,size=${size}`, dir]);
          full = true;
          return size;
        } catch (e) {
          last = e as Error;
        }
      }
      throw new Error(`could not shrink the tmpfs on ${dir}: ${last?.message}`);
    },
    free() {
      run('mount', ['-o', `remount,size=${sizeBytes}`, dir]);
      full = false;
    },
    full: () => full,
    unmount() {
      process.removeListener('exit', onExit);
      onExit();
    },
  };
}
