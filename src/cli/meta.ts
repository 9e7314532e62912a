// `grenier meta snapshot [--all]` (Garage's command): a consistent copy of this node's metadata
// (or every node's) in its metadata_snapshots_dir, through CreateMetadataSnapshot.
import type { Command } from 'commander';
import { clientFor, CliError } from './client.ts';
import { bytes, printJson, printTable } from './output.ts';

interface SnapshotAnswer {
  name: string;
  path: string;
  bytes: number;
  durationMs: number;
  removed: string[];
}

export function registerMeta(program: Command): void {
  const meta = program.command('meta').description('node metadata: snapshots for backup and recovery');
  meta
    .command('snapshot')
    .description('take a consistent snapshot of the metadata now (kept metadata_snapshots_keep deep)')
    .option('--all', 'on every node of the cluster, not only this one')
    .option('--json', 'print the API response as JSON')
    .action(async (o: { all?: boolean; json?: boolean }, cmd: Command) => {
      const r = await clientFor(cmd).post<{ success: Record<string, SnapshotAnswer>; error: Record<string, string> }>('CreateMetadataSnapshot', {}, { node: o.all ? '*' : 'self' });
      if (o.json) printJson(r);
      else
        printTable(
          ['node', 'snapshot', 'size', 'took'],
          Object.entries(r.success).map(([id, s]) => [id.slice(0, 16), s.path, bytes(s.bytes), `${(s.durationMs / 1000).toFixed(1)} s`]),
          '(no snapshot taken)',
        );
      const failed = Object.entries(r.error);
      if (failed.length) throw new CliError(failed.map(([id, e]) => `node ${id.slice(0, 16)}: ${e}`).join('; '));
    });
}
