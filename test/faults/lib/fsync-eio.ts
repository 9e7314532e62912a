// The EIO-on-fsync nemesis: strace attached to a node process (every thread, -f) for a window,
// making fsync and fdatasync fail with EIO (`-e inject=…:error=EIO:when=…`); detaching (SIGTERM
// to strace) ends the fault and lets the process run on untraced.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';

/** Why strace fault injection cannot be used here, or undefined when it can. */
export function straceProblem(): string | undefined {
  const r = spawnSync('strace', ['-V'], { timeout: 5000 });
  if (r.error) return `strace is missing (apt-get install strace): ${r.error.message}`;
  if (process.getuid?.() !== 0 && existsSync('/proc/sys/kernel/yama/ptrace_scope')) return 'not root (attaching to a running process may be refused by ptrace_scope)';
  return undefined;
}

/** strace's `when=` for "every `every`-th call, from the first" (every = 1: every call). */
export function whenSpec(every: number): string {
  if (!(Number.isInteger(every) && every >= 1 && every <= 100)) throw new Error(`fsync-eio: every=${every} is not an integer in [1, 100]`);
  return every === 1 ? '1+' : `1+${every}`;
}

/** strace's arguments to inject EIO into `pid`'s fsync/fdatasync. */
export function straceArgs(pid: number, every: number): string[] {
  return ['-f', '-qq', '-o', '/dev/null', '-p', String(pid), '-e', 'trace=fsync,fdatasync', '-e', `inject=fsync,fdatasync:error=EIO:when=${whenSpec(every)}`];
}

export interface Injection {
  /** Detaches (bounded wait); the process carries on with real fsyncs. Idempotent. */
  stop(): Promise<void>;
}

/** Attaches to `pid` and waits (bounded) until strace has had the time to attach every thread. */
export async function injectFsyncEio(pid: number, every: number): Promise<Injection> {
  const child: ChildProcess = spawn('strace', straceArgs(pid, every), { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (b: Buffer) => (err = (err + b.toString()).slice(-2000)));
  let exited = false;
  const done = new Promise<void>((r) => child.once('exit', () => ((exited = true), r())));
  // strace gives no "attached" signal with -qq; the attach of a few dozen threads is milliseconds.
  await Promise.race([done, new Promise((r) => setTimeout(r, 300))]);
  if (exited && child.exitCode !== 0) throw new Error(`strace -p ${pid} exited ${child.exitCode}: ${err.trim()}`);
  return {
    async stop() {
      if (exited) return;
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      await done;
      clearTimeout(t);
    },
  };
}
