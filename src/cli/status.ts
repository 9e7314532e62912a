// `grenier status`: cluster health and the nodes with their disks, from the admin API.
import type { Command } from 'commander';
import { clientFor } from './client.ts';
import { bytes, printJson, printTable } from './output.ts';
import type { ClusterHealth, ClusterStatus, FreeSpace } from './types.ts';

function disk(p: FreeSpace | null): string {
  if (!p) return '?';
  const pct = p.total ? Math.round((100 * p.available) / p.total) : 0;
  return `${bytes(p.available)} free of ${bytes(p.total)} (${pct}%)`;
}

export function registerStatus(program: Command): void {
  program
    .command('status')
    .description('show cluster health and nodes')
    .option('--json', 'print the API responses as JSON ({status, health})')
    .action(async (o: { json?: boolean }, cmd: Command) => {
      const c = clientFor(cmd);
      const [status, health] = await Promise.all([c.get<ClusterStatus>('GetClusterStatus'), c.get<ClusterHealth>('GetClusterHealth')]);
      if (o.json) return printJson({ status, health });
      const h = health;
      process.stdout.write(
        `Cluster ${h.status}: ${h.connectedNodes}/${h.knownNodes} nodes connected, ` +
          `${h.partitionsQuorum}/${h.partitions} partitions with quorum, layout version ${status.layoutVersion}\n\n`,
      );
      printTable(
        ['id', 'hostname', 'address', 'up', 'role', 'data disk', 'metadata disk'],
        status.nodes.map((n) => [
          n.id.slice(0, 16),
          n.hostname ?? '',
          n.addr ?? '',
          n.isUp ? 'yes' : 'NO',
          n.role ? `${n.role.zone}${n.role.capacity !== null ? ` ${bytes(n.role.capacity)}` : ' gateway'}` : '(none)',
          disk(n.dataPartition),
          disk(n.metadataPartition),
        ]),
      );
    });
}
