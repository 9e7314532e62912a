// Background workers for operators: their state (ListWorkers) and repairs on demand
// (LaunchRepairOperation), which wake the worker that does that repair instead of waiting
// for its next period.
import type { Handler } from './context.ts';
import { badRequest } from './http.ts';
import { clusterOf } from './cluster.ts';

/** Garage's repair types → the workers of this node that perform them. */
export const REPAIRS: Record<string, string[]> = {
  tables: ['table-sync'],
  blocks: ['block-resync'],
  scrub: ['block-scrub'],
  rebalance: ['block-resync'],
  gc: ['block-gc', 'tombstone-gc'],
};

const listWorkers: Handler = async ({ deps }) => {
  return clusterOf(deps)
    .workers.all()
    .map((w) => {
      const s = w.status();
      return {
        name: s.name,
        state: s.state,
        queue: s.queue,
        progress: s.progress || null,
        runs: s.runs,
        errors: s.errors,
        lastError: s.lastError ?? null,
        lastRunAt: s.lastRunAt !== undefined ? new Date(s.lastRunAt).toISOString() : null,
        lastDurationMs: s.lastDurationMs ?? null,
      };
    });
};

const launchRepairOperation: Handler = async ({ deps, body }) => {
  const c = clusterOf(deps);
  let type = body.repairType;
  // Garage v2 spells a scrub start as {"scrub": "start"}.
  if (typeof type === 'object' && type !== null && (type as Record<string, unknown>).scrub === 'start') type = 'scrub';
  if (typeof type !== 'string' || !REPAIRS[type])
    throw badRequest(`field "repairType" must be one of ${Object.keys(REPAIRS).join(', ')} (got ${JSON.stringify(type)})`);
  const launched: string[] = [];
  const alreadyRunning: string[] = [];
  for (const name of REPAIRS[type]!) {
    const w = c.workers.get(name);
    if (!w) throw badRequest(`this node has no ${name} worker`);
    // A busy worker has no sleep to cut short; its current pass already does the repair.
    if (w.status().state === 'busy') alreadyRunning.push(name);
    else {
      w.trigger();
      launched.push(name);
    }
  }
  return { repairType: type, launched, alreadyRunning };
};

export const WORKER_OPS: Record<string, Handler> = {
  ListWorkers: listWorkers,
  LaunchRepairOperation: launchRepairOperation,
};
