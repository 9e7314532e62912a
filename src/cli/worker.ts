// `grenier worker list` (the background workers of a node and what they are doing), `grenier
// worker get|set` (worker variables) and `grenier repair <type>` (run a repair now).
import type { Command } from 'commander';
import { clientFor, CliError } from './client.ts';
import { printJson, printTable } from './output.ts';
import type { WorkerInfo } from './cluster-types.ts';

const REPAIR_TYPES = ['tables', 'blocks', 'scrub', 'rebalance', 'gc'];

interface MultiNode<T> {
  success: Record<string, T>;
  error: Record<string, string>;
}

function printVariables(r: MultiNode<Record<string, string>>): void {
  const rows: string[][] = [];
  for (const [id, vars] of Object.entries(r.success).sort()) for (const [k, v] of Object.entries(vars)) rows.push([id.slice(0, 16), k, v]);
  printTable(['node', 'variable', 'value'], rows, '(no variables)');
  for (const [id, e] of Object.entries(r.error)) process.stderr.write(`node ${id.slice(0, 16)}: ${e}\n`);
  if (rows.length === 0 && Object.keys(r.error).length) throw new CliError(Object.values(r.error)[0]!);
}

function ago(iso: string | null): string {
  if (!iso) return 'never';
  const s = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
  return s < 120 ? `${s}s ago` : s < 7200 ? `${Math.round(s / 60)}m ago` : `${Math.round(s / 3600)}h ago`;
}

export function registerWorker(program: Command): void {
  const worker = program.command('worker').description('background workers (sync, resync, scrub, GC)');
  worker
    .command('list')
    .description('list the workers of the node with their state, queue and progress')
    .option('--json', 'print the API response as JSON')
    .action(async (o: { json?: boolean }, cmd: Command) => {
      const ws = await clientFor(cmd).get<WorkerInfo[]>('ListWorkers');
      if (o.json) return printJson(ws);
      printTable(
        ['name', 'state', 'queue', 'runs', 'last run', 'errors', 'progress'],
        ws.map((w) => [
          w.name,
          w.state,
          String(w.queue),
          String(w.runs),
          ago(w.lastRunAt),
          w.errors ? `${w.errors}${w.lastError ? ` (last: ${w.lastError})` : ''}` : '0',
          w.progress ?? '',
        ]),
        '(no workers)',
      );
    });

  worker
    .command('get')
    .description('worker variables (resync-tranquility, resync-worker-count)')
    .argument('[variable]', 'one variable (default: all)')
    .option('-n, --node <id>', 'node id (or prefix), self, or * for every node', 'self')
    .option('--json', 'print the API response as JSON')
    .action(async (variable: string | undefined, o: { node: string; json?: boolean }, cmd: Command) => {
      const r = await clientFor(cmd).post<MultiNode<Record<string, string>>>('GetWorkerVariable', { variable }, { node: o.node });
      if (o.json) return printJson(r);
      printVariables(r);
    });

  worker
    .command('set')
    .description('set a worker variable (kept across restarts)')
    .argument('<variable>', 'resync-tranquility (0-100: pause N times the work after each block) or resync-worker-count (1-16)')
    .argument('<value>', 'new value')
    .option('-n, --node <id>', 'node id (or prefix), self, or * for every node', 'self')
    .option('--json', 'print the API response as JSON')
    .action(async (variable: string, value: string, o: { node: string; json?: boolean }, cmd: Command) => {
      const r = await clientFor(cmd).post<MultiNode<{ variable: string; value: string }>>('SetWorkerVariable', { variable, value }, { node: o.node });
      if (o.json) return printJson(r);
      printVariables({ success: Object.fromEntries(Object.entries(r.success).map(([id, x]) => [id, { [x.variable]: x.value }])), error: r.error });
    });

  program
    .command('repair')
    .description('start a repair now: tables (anti-entropy), blocks (resync), scrub, rebalance, gc')
    .argument('<type>', REPAIR_TYPES.join('|'))
    .option('--json', 'print the API response as JSON')
    .action(async (type: string, o: { json?: boolean }, cmd: Command) => {
      if (!REPAIR_TYPES.includes(type)) throw new CliError(`unknown repair "${type}": use one of ${REPAIR_TYPES.join(', ')}`, 2);
      const r = await clientFor(cmd).post<{ launched: string[]; alreadyRunning: string[] }>('LaunchRepairOperation', { repairType: type });
      if (o.json) return printJson(r);
      if (r.launched.length) process.stdout.write(`Started ${r.launched.join(', ')}.\n`);
      if (r.alreadyRunning.length) process.stdout.write(`Already running: ${r.alreadyRunning.join(', ')}.\n`);
      process.stdout.write('Follow it with `grenier worker list`.\n');
    });
}
