// `grenier worker list` (the background workers of a node and what they are doing) and
// `grenier repair <type>` (run the worker that does a repair now, not at its next period).
import type { Command } from 'commander';
import { clientFor, CliError } from './client.ts';
import { printJson, printTable } from './output.ts';
import type { WorkerInfo } from './cluster-types.ts';

const REPAIR_TYPES = ['tables', 'blocks', 'scrub', 'rebalance', 'gc'];

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
