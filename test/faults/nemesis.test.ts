// The nemesis schedule and the run's figures, without nodes: a seed replays the same schedule;
// the new nemeses keep their exclusions (one layout change per step, a node under strace is not
// also killed or paused, only removable nodes are removed, loss within 5–30 %), layout faults are
// healed last, and the convergence spread is min/median/max of what was measured.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LAYOUT, NEMESES, Nemesis, schedule, type ScheduleOptions } from './lib/nemesis.ts';
import { spread } from './lib/run.ts';

const base: ScheduleOptions = { seed: 1, kinds: [...NEMESES], nodes: 5, totalMs: 3_600_000, maxSkewSecs: 20, faultMs: [3000, 8000], quietMs: [2000, 5000], mixChance: 1, removable: [0, 1, 3, 4] };

test('schedule: same seed, same steps; every new nemesis drawn; exclusions hold', () => {
  assert.deepEqual(schedule(base), schedule({ ...base }));
  assert.notDeepEqual(schedule(base), schedule({ ...base, seed: 2 }));
  for (const seed of [1, 2, 3, 14, 20260]) {
    const steps = schedule({ ...base, seed });
    const seen = new Set(steps.flatMap((s) => s.faults.map((f) => f.kind)));
    for (const k of ['loss', 'disk-full', 'fsync-eio', 'layout-remove', 'layout-add-zone'] as const) assert.ok(seen.has(k), `seed ${seed}: ${k} never drawn`);
    for (const s of steps) {
      assert.ok(s.faults.filter((f) => LAYOUT.has(f.kind)).length <= 1, 'two layout changes in one step');
      const straced = new Set(s.faults.filter((f) => f.kind === 'fsync-eio').flatMap((f) => f.nodes));
      for (const f of s.faults) if (f.kind === 'kill' || f.kind === 'pause') for (const n of f.nodes) assert.ok(!straced.has(n), `n${n} both straced and ${f.kind}`);
      for (const f of s.faults) {
        if (f.kind === 'layout-remove') assert.ok([0, 1, 3, 4].includes(f.nodes[0]!), `removed n${f.nodes[0]}, not removable`);
        if (f.kind === 'loss') assert.ok(f.lossPercent! >= 5 && f.lossPercent! <= 30 && f.nodes.length >= 1);
        if (f.kind === 'fsync-eio') assert.ok([1, 2, 3].includes(f.every!));
      }
    }
  }
});

test('healOrder: layout faults healed after the others, the rest in reverse order', () => {
  const order = Nemesis.healOrder([
    { kind: 'layout-remove', nodes: [3] },
    { kind: 'kill', nodes: [1] },
    { kind: 'loss', nodes: [2], lossPercent: 10 },
  ]).map((f) => f.kind);
  assert.deepEqual(order, ['loss', 'kill', 'layout-remove']);
});

test('spread: min / median / max over the measured steps only', () => {
  assert.equal(spread([3000, undefined, 1000, 2000, 10_000]), 'min 1.0s / median 2.5s / max 10.0s (4 of 5 within the quiet period)');
  assert.equal(spread([undefined]), 'none of 1');
});
