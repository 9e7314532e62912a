// Statistics as Garage's: GetNodeStatistics (multi-node: this node's tables, blocks and queues)
// and GetClusterStatistics (storage nodes with their free space, usable capacity, buckets and keys).
// Both answer Garage's `freeform` text plus the same figures as fields, for scripts.
import { statfs } from 'node:fs/promises';
import type { AdminDeps, Handler } from './context.ts';
import { multiNode } from './multi-node.ts';
import { gatherInfo } from './cluster.ts';
import { current } from '../../layout/history.ts';
import { PARTITIONS } from '../../layout/types.ts';
import { formatSize } from '../../util/size.ts';

async function space(dir: string): Promise<{ available: number; total: number } | null> {
  try {
    const s = await statfs(dir);
    return { available: s.bavail * s.bsize, total: s.blocks * s.bsize };
  } catch {
    return null;
  }
}

/** Entries stored here per table (a count of the local tree: no network). */
function tableStats(deps: AdminDeps): { name: string; entries: number; tombstones: number; queued: number }[] {
  return deps.store.tables().map((t) => ({
    name: t.name,
    entries: deps.store.db.tree(`table:${t.name}`).count(),
    tombstones: t.tombstones.count(),
    queued: t.queueLength(),
  }));
}

function pad(rows: string[][]): string {
  const w = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(w[i]!)).join('  ').trimEnd()).join('\n');
}

const getNodeStatistics = multiNode('GetNodeStatistics', {
  parse: () => null,
  run: async (deps) => {
    const tables = tableStats(deps);
    const b = deps.store.blocks;
    const blocks = { referenced: b.rcCount(), resyncQueue: b.resync.length(), resyncErrors: b.resync.errorCount() };
    const [data, meta] = await Promise.all([space(deps.config.data_dir), space(deps.config.metadata_dir)]);
    const lines = [
      `Grenier version: ${deps.version}`,
      `Node.js version: ${process.version}`,
      `Database engine: lmdb`,
      `Uptime: ${Math.floor((Date.now() - deps.startedAt) / 1000)} s`,
      '',
      'Table stats:',
      pad([['  Table', 'Items', 'Tombstones', 'Queued for peers'], ...tables.map((t) => [`  ${t.name}`, String(t.entries), String(t.tombstones), String(t.queued)])]),
      '',
      'Block manager stats:',
      `  number of RC entries: ${blocks.referenced}`,
      `  resync queue length: ${blocks.resyncQueue}`,
      `  blocks with resync errors: ${blocks.resyncErrors}`,
      '',
      `Data partition: ${data ? `${formatSize(data.available)} free of ${formatSize(data.total)}` : 'unknown'}`,
      `Metadata partition: ${meta ? `${formatSize(meta.available)} free of ${formatSize(meta.total)}` : 'unknown'}`,
    ];
    return { freeform: lines.join('\n') + '\n', tables, blocks, dataPartition: data, metadataPartition: meta };
  },
});

const getClusterStatistics: Handler = async ({ deps }) => {
  const store = deps.store;
  const buckets = (await store.liveBuckets()).length;
  const keys = (await store.keys.range('key')).filter((k) => !k.deleted.v).length;
  const lines: string[] = [];
  const nodes: Record<string, unknown>[] = [];
  let usable: number | null = null;
  let dataAvail: number | null = null;
  let metaAvail: number | null = null;
  const c = deps.cluster;
  if (c) {
    const cur = current(c.layout.history());
    const infos = await gatherInfo(c);
    const counts = new Map<string, number>();
    for (const list of cur.assignment) for (const id of list) counts.set(id, (counts.get(id) ?? 0) + 1);
    const storage = Object.entries(cur.roles).filter(([, r]) => r.capacity !== null);
    // Usable space is bounded by the node that fills first: free space / share of partitions (Garage's estimate).
    let dataEst = Infinity;
    let metaEst = Infinity;
    let known = storage.length > 0;
    const rows = [['  ID', 'Hostname', 'Zone', 'Capacity', 'Part.', 'DataAvail', 'MetaAvail']];
    for (const [id, r] of storage.sort(([a], [z]) => (a < z ? -1 : 1))) {
      const i = infos.get(id);
      const parts = counts.get(id) ?? 0;
      rows.push([
        `  ${id.slice(0, 16)}`,
        i?.hostname ?? '?',
        r.zone,
        formatSize(r.capacity!),
        String(parts),
        i?.dataDisk ? `${formatSize(i.dataDisk.avail)}/${formatSize(i.dataDisk.total)}` : '?',
        i?.metadataDisk ? `${formatSize(i.metadataDisk.avail)}/${formatSize(i.metadataDisk.total)}` : '?',
      ]);
      nodes.push({ id, hostname: i?.hostname ?? null, zone: r.zone, capacity: r.capacity, partitions: parts, dataPartition: i?.dataDisk ?? null, metadataPartition: i?.metadataDisk ?? null });
      if (!i?.dataDisk || !i.metadataDisk) known = false;
      else if (parts > 0) {
        dataEst = Math.min(dataEst, (i.dataDisk.avail * PARTITIONS) / parts);
        metaEst = Math.min(metaEst, (i.metadataDisk.avail * PARTITIONS) / parts);
      }
    }
    usable = storage.length ? cur.partitionSize * PARTITIONS : null;
    if (known && Number.isFinite(dataEst)) dataAvail = Math.floor(dataEst);
    if (known && Number.isFinite(metaEst)) metaAvail = Math.floor(metaEst);
    lines.push('Storage nodes:', storage.length ? pad(rows) : '  (no layout yet: this node holds everything)', '');
    if (usable !== null) lines.push(`Usable capacity (layout): ${formatSize(usable)}`);
    lines.push(
      dataAvail !== null && metaAvail !== null
        ? `Estimated available storage space cluster-wide (might be lower in practice): data: ${formatSize(dataAvail)}, metadata: ${formatSize(metaAvail)}`
        : 'Estimated available storage space cluster-wide: unknown (some storage nodes did not answer)',
    );
  } else {
    const d = await space(deps.config.data_dir);
    dataAvail = d?.available ?? null;
    lines.push(`Single node: data partition ${d ? `${formatSize(d.available)} free of ${formatSize(d.total)}` : 'unknown'}`);
  }
  lines.push('', `Buckets: ${buckets}`, `Access keys: ${keys}`);
  return { freeform: lines.join('\n') + '\n', nodes, usableCapacity: usable, availableData: dataAvail, availableMetadata: metaAvail, buckets, keys };
};

export const STATS_OPS: Record<string, Handler> = {
  GetClusterStatistics: getClusterStatistics,
  GetNodeStatistics: getNodeStatistics,
};
