// Whether this node can serve requests now (GET /health, /health/ready) as opposed to merely
// running (/health/live): it knows the layout and every partition has a write quorum of nodes it
// is connected to. Load balancers, Nomad and systemd route traffic on the first, restart on the second.
import type { AdminDeps } from './context.ts';
import { allNodes } from '../../layout/history.ts';
import { PARTITIONS } from '../../layout/types.ts';
import { quorumsFor } from '../../table/replication.ts';

export type ReadyStatus = 'ready' | 'starting' | 'no-quorum';

export interface Readiness {
  status: ReadyStatus;
  /** One line for an operator ("ok" when ready). */
  reason: string;
  details: {
    layoutVersion: number;
    peersKnown: number;
    peersConnected: number;
    partitions: number;
    /** Partitions where every write set (one per active layout version) has a write quorum up. */
    partitionsWritable: number;
    /** Nodes of some write set that this node is not connected to (short ids). */
    unreachable: string[];
  };
}

/** How many unreachable node ids the answer names: a load balancer reads one line. */
const UNREACHABLE_LISTED_MAX = 8;

export function readiness(deps: AdminDeps): Readiness {
  const c = deps.cluster;
  if (!c) {
    return { status: 'ready', reason: 'ok', details: { layoutVersion: 0, peersKnown: 0, peersConnected: 0, partitions: PARTITIONS, partitionsWritable: PARTITIONS, unreachable: [] } };
  }
  const h = c.layout.history();
  const layoutVersion = h.versions.at(-1)?.version ?? 0;
  const peers = c.net.peers().filter((p) => p.id !== c.net.id);
  const peersConnected = peers.filter((p) => p.connected).length;
  const isUp = (id: string) => c.rpc.isUp(id);
  const write = quorumsFor(deps.config.consistency_mode, deps.config.replication_factor).write;
  const unreachable = new Set<string>();
  let partitionsWritable = 0;
  for (let p = 0; p < PARTITIONS; p++) {
    const sets = c.layout.writeSets(p);
    let ok = sets.length > 0;
    for (const s of sets) {
      const up = s.filter(isUp).length;
      // The same rule as a table write (table.ts): a quorum of each set, capped at its size.
      if (up < Math.min(write, s.length)) {
        ok = false;
        for (const id of s) if (!isUp(id)) unreachable.add(id);
      }
    }
    if (ok) partitionsWritable++;
  }
  const details = {
    layoutVersion,
    peersKnown: peers.length,
    peersConnected,
    partitions: PARTITIONS,
    partitionsWritable,
    unreachable: [...unreachable].sort().slice(0, UNREACHABLE_LISTED_MAX).map((id) => id.slice(0, 16)),
  };
  // No layout yet: a lone node holds everything; one configured to join peers learns it from them
  // first. (Only configured peers count: one merely gossiped about must not keep a lone node unready.)
  const bootstrap = deps.config.bootstrap_peers.length;
  if (allNodes(h).length === 0 && bootstrap > 0 && peersConnected === 0) {
    return { status: 'starting', reason: `layout unknown: not connected to any of the ${bootstrap} bootstrap peers yet`, details };
  }
  if (partitionsWritable < PARTITIONS) {
    const names = details.unreachable.join(', ') + (unreachable.size > UNREACHABLE_LISTED_MAX ? ', …' : '');
    return {
      status: 'no-quorum',
      reason: `no write quorum (${deps.config.consistency_mode}, ${write} of ${deps.config.replication_factor}) for ${PARTITIONS - partitionsWritable}/${PARTITIONS} partitions; not connected to ${names}`,
      details,
    };
  }
  return { status: 'ready', reason: 'ok', details };
}
