// `grenier status`: the cluster's health and whether the node asked is ready to serve, then its
// replication debt per node, then its nodes grouped by zone (up/down, disk, partitions, RTT), then
// connected nodes without a role.
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
  // Before the first layout no node stores anything: counting "storage nodes up" would mislead.
  if (layoutVersion === 0) {
    return (
      `Cluster has no layout yet (layout version 0): ${h.connectedNodes}/${h.knownNodes} nodes connected, no node stores data.\n` +
      'Give nodes a role with `grenier layout assign <node id> -z <zone> -c <capacity>`, then `grenier layout apply --version 1`.'
    );
  }
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

const DEBT_HEADERS = ['id', 'zone', 'entries queued for it', 'blocks to fetch', 'block errors', 'note'];

/** The replication debt, summed over what every node reported: entries queued FOR a node (by any
 *  node), blocks queued ON a node. "Fully replicated" only when all of it is 0 and every node told. */
export function renderDebt(status: ClusterStatus, health: ClusterHealth): string {
  // A server older than replicationDebtByNode reports only its own debt (blocks: its own, unnamed).
  const by = health.replicationDebtByNode ?? (health.replicationDebt ? { '': health.replicationDebt } : undefined);
  if (!by) return '';
  const unknown = health.replicationDebtUnknown ?? [];
  const owed = new Map<string, number>();
  for (const d of Object.values(by)) for (const [id, n] of Object.entries(d.entriesQueuedByNode)) owed.set(id, (owed.get(id) ?? 0) + n);
  const entries = [...owed.values()].reduce((a, b) => a + b, 0);
  const blocks = Object.values(by).reduce((a, d) => a + d.blocksQueued, 0);
  const errors = Object.values(by).reduce((a, d) => a + d.blockErrors, 0);
  const zone = new Map(status.nodes.map((n) => [n.id, n.role?.zone ?? '']));
  const ids = [...new Set([...owed.keys(), ...Object.keys(by), ...unknown])].sort();
  const rows: string[][] = [];
  for (const id of ids) {
    const e = owed.get(id) ?? 0;
    const d = by[id];
    if (unknown.includes(id) && !d) {
      rows.push([id.slice(0, 16), zone.get(id) ?? '', e ? String(e) : '?', '?', '?', 'unknown (no answer)']);
      continue;
    }
    if (e === 0 && (d?.blocksQueued ?? 0) === 0 && (d?.blockErrors ?? 0) === 0) continue;
    rows.push([id ? id.slice(0, 16) : '(this node)', zone.get(id) ?? '', String(e), String(d?.blocksQueued ?? 0), String(d?.blockErrors ?? 0), '']);
  }
  const nodesOwed = [...owed.values()].filter((n) => n > 0).length;
  let line: string;
  if (entries === 0 && blocks === 0 && errors === 0 && unknown.length === 0) line = 'Replication: fully replicated (no entries queued for any node, no blocks to fetch)';
  else if (entries === 0 && blocks === 0 && errors === 0) line = `Replication: NOT known to be fully replicated: debt of ${unknown.length} node(s) unknown`;
  else {
    line = `Replication: NOT fully replicated: ${entries} entries queued for ${nodesOwed} node(s), ${blocks} blocks to fetch${errors ? ` (${errors} failing)` : ''}`;
    if (unknown.length) line += `, debt of ${unknown.length} node(s) unknown`;
  }
  return line + '\n' + (rows.length ? table(DEBT_HEADERS, rows) : '');
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
  out += renderDebt(status, health);
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
