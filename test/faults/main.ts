// `npm run faults -- --seed N --minutes M [--nemeses kill,pause,…] [--workers W] [--delay-ms D] [--gc-delay-secs S] [--keep]`: one long fault
// run with the framework of test/faults/lib; exits 1 if anything was lost, stale, wrong or never
// converged. The seed replays the nemesis schedule and the workload's choices.
import { parseArgs } from 'node:util';
import { NEMESES, type NemesisKind } from './lib/nemesis.ts';
import { runFaults } from './lib/run.ts';

const { values } = parseArgs({
  options: {
    seed: { type: 'string' },
    minutes: { type: 'string', default: '10' },
    nemeses: { type: 'string' },
    workers: { type: 'string', default: '6' },
    out: { type: 'string' },
    'delay-ms': { type: 'string' },
    // Shorter block GC delay (s): lets a short run reach what the production 600 s shows only in long ones.
    'gc-delay-secs': { type: 'string' },
    // Keep the history and the nodes' directories (data and metadata) to inspect after the run.
    keep: { type: 'boolean' },
  },
});
const seed = values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(values.seed);
const minutes = Number(values.minutes);
const kinds = values.nemeses?.split(',').map((s) => s.trim()) as NemesisKind[] | undefined;
const bad = kinds?.filter((k) => !(NEMESES as readonly string[]).includes(k));
const delayMs = values['delay-ms'] === undefined ? undefined : Number(values['delay-ms']);
const gcDelaySecs = values['gc-delay-secs'] === undefined ? undefined : Number(values['gc-delay-secs']);
if (values.keep) process.env.GRENIER_TEST_KEEP = '1';
if (!Number.isSafeInteger(seed) || !(minutes > 0 && minutes <= 24 * 60) || bad?.length || (delayMs !== undefined && !(delayMs >= 0 && delayMs <= 10_000)) || (gcDelaySecs !== undefined && !(Number.isSafeInteger(gcDelaySecs) && gcDelaySecs >= 1))) {
  console.error(`usage: npm run faults -- --seed N --minutes M [--nemeses ${NEMESES.join(',')}] [--workers W] [--out DIR] [--delay-ms D (one-way RPC delay, 0–10000; partitions and loss are skipped with it)] [--gc-delay-secs S] [--keep]${bad?.length ? `\nunknown nemeses: ${bad.join(', ')}` : ''}`);
  process.exit(2);
}
// Ctrl-C or a kill: exit through process.exit so the exit hooks kill the nodes and delete the namespaces.
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => process.exit(130));
const r = await runFaults({ seed, durationMs: minutes * 60_000, kinds, workers: Number(values.workers), outDir: values.out, convergeTimeoutMs: 120_000, delayMs, gcDelaySecs, keep: values.keep });
process.exit(r.lost || r.wrong || r.stale || r.unverified || r.convergeMs === undefined ? 1 : 0);
