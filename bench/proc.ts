// CPU time of a running process from /proc (utime + stime of all its threads), for CPU-per-op
// figures: on a busy shared machine wall time mostly measures the scheduler, CPU time does not.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

let tickMs: number | undefined;

/** CPU time (user + system) the process has used so far, ms; 0 once it is gone. */
export function cpuMs(pid: number): number {
  tickMs ??= 1000 / Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
  let s: string;
  try {
    s = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return 0;
  }
  // Fields after the command name (which may hold spaces) start after the last ')'.
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) * tickMs;
}
