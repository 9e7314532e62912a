// `grenier status`: the cluster's health and whether the node asked is ready to serve, then its
// nodes grouped by zone (up/down, disk, partitions, RTT), then connected nodes without a role.
import type { Command } from 'commander';
import { clientFor } from './client.ts';
import { printJson, table } from './output.ts';
import { siBytes } from './layout.ts';
import type { ClusterHealth, ClusterStatus, FreeSpace, StatusNode } from './cluster-types.ts';

function disk(p: FreeSpace | null): string {
  if (!p) return '?';
  const pct = p.total ? Math.round((100 * p.available) / p.total) : 0;
  return `${siBytes(p.available)}/${siBytes(p.total)} free (${pct}%)`;
}

function state(n: StatusNode): string {
  if (n.isUp) return 'up';
  return n.lastSeenSecsAgo !== null ? `DOWN (seen ${n.lastSeenSecsAgo}s ago)` : 'DOWN (never seen)';
}

function row(n: StatusNode): string[] {
  return [
    n.id.slice(0, 16),
    n.hostname ?? '?',
    n.addr ?? '?',
    state(n),
    n.role ? (n.role.capacity === null ? 'gateway' : siBytes(n.role.capacity)) : n.draining ? 'draining' : '',
    disk(n.dataPartition),
    String(n.partitions ?? ''),
    // The last RTT of a node that is down says nothing about it now.
    n.isUp && n.rttMs !== null && n.rttMs !== undefined ? `${n.rttMs} ms` : '',
  ];
}

const HEADERS = ['id', 'hostname', 'address', 'state', 'capacity', 'data disk', 'partitions', 'rtt'];

export function healthLine(h: ClusterHealth, layoutVersion: number): string {
  return (
    `Cluster ${h.status}: ${h.connectedNodes}/${h.knownNodes} nodes connected, ` +
    `${h.storageNodesUp}/${h.storageNodes} storage nodes up, ` +
    `${h.partitionsQuorum}/${h.partitions} partitions with quorum (${h.partitionsAllOk} fully replicated), layout version ${layoutVersion}`
  );
}

/** The readiness of the node asked: a load balancer or Nomad check routes to it only when ready. */
export function readyLine(n: NonNullable<ClusterHealth['node']>): string {
  return n.status === 'ready' ? 'This node is ready (/health answers 200)' : `This node is NOT READY (/health answers 503): ${n.status}: ${n.reason}`;
}

export function renderStatus(status: ClusterStatus, health: ClusterHealth): string {
  const zones = new Map<string, StatusNode[]>();
  const other: StatusNode[] = [];
  for (const n of status.nodes) {
    if (n.role) zones.set(n.role.zone, [...(zones.get(n.role.zone) ?? []), n]);
    else other.push(n);
  }
  let out = healthLine(health, status.layoutVersion) + '\n';
  if (health.node) out += readyLine(health.node) + '\n';
  for (const z of [...zones.keys()].sort()) {
    const ns = zones.get(z)!;
    out += `\nZone ${z} (${ns.filter((n) => n.isUp).length}/${ns.length} up)\n`;
    out += table(HEADERS, ns.map(row));
  }
  if (other.length) {
    out += `\n${zones.size ? 'Nodes without a role' : 'Nodes (no layout yet: see `grenier layout assign`)'}\n`;
    out += table(HEADERS, other.map(row));
  }
  return out;
}

export function registerStatus(program: Command): void {
  program
    .command('status')
    .description('show cluster health and nodes, grouped by zone')
    .option('--json', 'print the API responses as JSON ({status, health})')
    .action(async (o: { json?: boolean }, cmd: Command) => {
      const c = clientFor(cmd);
      const [status, health] = await Promise.all([c.get<ClusterStatus>('GetClusterStatus'), c.get<ClusterHealth>('GetClusterHealth')]);
      if (o.json) return printJson({ status, health });
      process.stdout.write(renderStatus(status, health));
    });
}
