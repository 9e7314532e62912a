// This process's CPU (percent of one core over the last sampling interval, from process.cpuUsage
// deltas) and resident memory, which each node reports about itself in node/info for the cluster
// map; and the check a peer's figures pass on receipt before they are shown.

export interface ProcessUsage {
  /** Percent of one core (a process busy on two cores shows 200). */
  cpuPercent: number;
  rssBytes: number;
}

/** A sample closer than this to the previous one keeps the previous figure (a busy status page
 *  polled by several admins must not turn the share into noise over a few milliseconds). */
export const PROCESS_SAMPLE_MS_MIN = 1000;
/** Bounds a peer's figures must be within: 1024 cores busy, 16 TiB resident. */
export const PROCESS_CPU_PERCENT_MAX = 102_400;
export const PROCESS_RSS_BYTES_MAX = 2 ** 44;

// The first interval runs from the process's start.
let last = { at: performance.now() - process.uptime() * 1000, cpu: { user: 0, system: 0 } };
let share = 0;

export function processUsage(): ProcessUsage {
  const now = performance.now();
  if (now - last.at >= PROCESS_SAMPLE_MS_MIN) {
    const cpu = process.cpuUsage();
    const usedMicros = cpu.user - last.cpu.user + (cpu.system - last.cpu.system);
    share = Math.max(0, (usedMicros / 1000 / (now - last.at)) * 100);
    last = { at: now, cpu };
  }
  return { cpuPercent: Math.round(share * 10) / 10, rssBytes: process.memoryUsage.rss() };
}

/** A peer's `process` figures if they are numbers within bounds, else null (shown as unknown). */
export function checkProcessUsage(x: unknown): ProcessUsage | null {
  if (typeof x !== 'object' || x === null) return null;
  const { cpuPercent, rssBytes } = x as Record<string, unknown>;
  if (typeof cpuPercent !== 'number' || !Number.isFinite(cpuPercent) || cpuPercent < 0 || cpuPercent > PROCESS_CPU_PERCENT_MAX) return null;
  if (typeof rssBytes !== 'number' || !Number.isSafeInteger(rssBytes) || rssBytes < 0 || rssBytes > PROCESS_RSS_BYTES_MAX) return null;
  return { cpuPercent, rssBytes };
}
