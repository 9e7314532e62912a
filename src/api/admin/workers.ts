// Background workers for operators: their state (ListWorkers, GetWorkerInfo), their variables
// (Get/SetWorkerVariable: resync tranquility and worker count) and repairs on demand
// (LaunchRepairOperation), which wake the worker that does that repair instead of waiting.
import type { AdminDeps, Handler } from './context.ts';
import { AdminError, badRequest } from './http.ts';
import { clusterOf } from './cluster.ts';
import { multiNode } from './multi-node.ts';
import type { Worker } from '../../util/worker.ts';

/** Garage's repair types → the workers of this node that perform them. */
export const REPAIRS: Record<string, string[]> = {
  tables: ['table-sync'],
  blocks: ['block-resync'],
  scrub: ['block-scrub'],
  rebalance: ['block-resync'],
  gc: ['block-gc', 'tombstone-gc'],
};

/** This node's workers in Grenier's own shape (GET ListWorkers, which `grenier worker list` reads). */
const listWorkersLocal: Handler = async ({ deps }) => {
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

/** Garage's WorkerInfoResp for a worker; ids are 1-based positions (stable for a node's run). */
function workerInfo(deps: AdminDeps, w: Worker, id: number): Record<string, unknown> {
  const s = w.status();
  const knobs = deps.cluster?.variables?.();
  const tranquility = s.name === 'block-resync-queue' && knobs ? Number(knobs['resync-tranquility']) : null;
  const freeform = [`runs: ${s.runs}`];
  if (s.lastRunAt !== undefined) freeform.push(`last run: ${new Date(s.lastRunAt).toISOString()} (${s.lastDurationMs ?? 0} ms)`);
  return {
    id,
    name: s.name,
    // Garage has no "stopped": a stopped worker has finished its work.
    state: s.state === 'stopped' ? 'done' : s.state,
    errors: s.errors,
    consecutiveErrors: s.consecutiveErrors,
    lastError: s.lastError ? { message: s.lastError, secsAgo: Math.max(0, Math.round((Date.now() - (s.lastErrorAt ?? Date.now())) / 1000)) } : null,
    tranquility,
    progress: s.progress || null,
    queueLength: s.queue,
    persistentErrors: s.name === 'block-resync-queue' ? deps.store.blocks.resync.errorCount() : null,
    freeform,
  };
}

function flag(body: Record<string, unknown>, f: string): boolean {
  const v = body[f];
  if (v === undefined || v === null) return false;
  if (typeof v !== 'boolean') throw badRequest(`field "${f}" must be true or false`);
  return v;
}

const listWorkers = multiNode('ListWorkers', {
  parse: (body) => ({ busyOnly: flag(body, 'busyOnly'), errorOnly: flag(body, 'errorOnly') }),
  run: async (deps, p) =>
    clusterOf(deps)
      .workers.all()
      .map((w, i) => workerInfo(deps, w, i + 1))
      .filter((w) => (!p.busyOnly || w.state === 'busy') && (!p.errorOnly || (w.consecutiveErrors as number) > 0)),
});

const getWorkerInfo = multiNode('GetWorkerInfo', {
  parse: (body) => {
    const id = body.id;
    if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 1) throw badRequest('field "id" must be a worker id (a positive integer, as ListWorkers gives)');
    return id;
  },
  run: async (deps, id) => {
    const w = clusterOf(deps).workers.all()[id - 1];
    if (!w) throw new AdminError(404, 'NoSuchWorker', `no worker with id ${id} on this node`);
    return workerInfo(deps, w, id);
  },
});

function variableName(body: Record<string, unknown>, required: boolean): string | undefined {
  const v = body.variable;
  if (v === undefined || v === null) {
    if (required) throw badRequest('missing field "variable"');
    return undefined;
  }
  if (typeof v !== 'string' || v === '') throw badRequest('field "variable" must be a variable name');
  return v;
}

function variablesOf(deps: AdminDeps): Record<string, string> {
  const c = clusterOf(deps);
  if (!c.variables) throw new AdminError(503, 'ClusterUnavailable', 'this node has no worker variables');
  return c.variables();
}

const getWorkerVariable = multiNode('GetWorkerVariable', {
  parse: (body) => variableName(body, false),
  run: async (deps, name) => {
    const all = variablesOf(deps);
    if (name === undefined) return all;
    if (!Object.hasOwn(all, name)) throw badRequest(`unknown worker variable "${name.slice(0, 64)}" (known: ${Object.keys(all).join(', ')})`);
    return { [name]: all[name]! };
  },
});

const setWorkerVariable = multiNode('SetWorkerVariable', {
  parse: (body) => {
    const variable = variableName(body, true)!;
    const value = body.value;
    if (typeof value !== 'string' && typeof value !== 'number') throw badRequest('field "value" must be a string (or a number)');
    return { variable, value: String(value) };
  },
  run: async (deps, p) => {
    variablesOf(deps);
    try {
      return { variable: p.variable, value: clusterOf(deps).setVariable!(p.variable, p.value) };
    } catch (e) {
      throw badRequest((e as Error).message);
    }
  },
});

/** ListWorkers: GET is this node's list in Grenier's shape (the CLI's), POST is Garage's
 *  multi-node form (?node=, {busyOnly, errorOnly}). */
const listWorkersEither: Handler = (ctx) => (ctx.req.method === 'GET' ? listWorkersLocal(ctx) : listWorkers(ctx));

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
  ListWorkers: listWorkersEither,
  GetWorkerInfo: getWorkerInfo,
  GetWorkerVariable: getWorkerVariable,
  SetWorkerVariable: setWorkerVariable,
  LaunchRepairOperation: launchRepairOperation,
};
