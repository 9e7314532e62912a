// CreateMetadataSnapshot (Garage admin API v2): a metadata snapshot on this node, on one node or
// on every node (?node=self|<id>|*), as any multi-node operation.
import type { Handler } from './context.ts';
import { metaSnapshots, type SnapshotResult } from '../../db/snapshot.ts';
import { multiNode } from './multi-node.ts';

/** A peer copying a large metadata store on a slow disk (a Pi's SD card) may take minutes. */
const SNAPSHOT_RPC_TIMEOUT_MS = 10 * 60_000;

interface SnapshotAnswer {
  name: string;
  path: string;
  bytes: number;
  durationMs: number;
  removed: string[];
}

const answer = (r: SnapshotResult): SnapshotAnswer => ({ name: r.name, path: r.path, bytes: r.bytes, durationMs: r.durationMs, removed: r.removed });

export const META_OPS: Record<string, Handler> = {
  CreateMetadataSnapshot: multiNode('CreateMetadataSnapshot', {
    parse: () => undefined,
    run: (deps) => metaSnapshots(deps.store.db, deps.config).snapshot().then(answer),
    timeoutMs: SNAPSHOT_RPC_TIMEOUT_MS,
  }),
};
