// The short fault run of `npm test`: 5 nodes in 3 zones, the register/set/multipart workload and a
// mixed nemesis schedule from a fixed seed for 35 s, then heal: nothing acknowledged may be lost or
// read stale, every byte read must be right, and the cluster must owe nothing again without a
// repair command. Long runs: `npm run faults -- --seed N --minutes M`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runFaults } from './lib/run.ts';
import { describeAnomalies } from './lib/checker.ts';

const SEED = Number(process.env.GRENIER_FAULTS_SEED ?? 14);

test(`short mixed-nemesis fault run (seed ${SEED}): 0 lost, 0 wrong bytes, 0 stale reads, converges after healing`, { timeout: 300_000 }, async (t) => {
  // The nemeses of wave 1 (the same schedule as before): the layout ones wait for a sync that, with
  // production anti-entropy timers, takes up to 10 minutes (see README "Fault runs"); long runs mix all.
  const kinds = ['kill', 'pause', 'partition-one', 'partition-halves', 'partition-bridge', 'clock', 'corrupt-blocks', 'delete-blocks'] as const;
  const r = await runFaults({ seed: SEED, durationMs: 35_000, convergeTimeoutMs: 60_000, kinds: [...kinds], log: (l) => t.diagnostic(l) });
  const why = `seed ${SEED}:\n${describeAnomalies(r.result)}${r.outDir ? `history and node logs: ${r.outDir}` : ''}`;
  assert.ok(r.acknowledged > 50, `only ${r.acknowledged} operations acknowledged: the run tested little (${why})`);
  assert.equal(r.lost, 0, why);
  assert.equal(r.wrong, 0, why);
  assert.equal(r.stale, 0, why);
  assert.equal(r.unverified, 0, `${r.unverified} acknowledged set elements unreadable after healing (${why})`);
  assert.notEqual(r.convergeMs, undefined, `never converged after healing: ${r.convergeProblem} (${why})`);
});
