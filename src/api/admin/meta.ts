// CreateMetadataSnapshot (Garage admin API v2): a metadata snapshot on this node, on one node or
// on every node (?node=self|<id>|*), through the `meta/snapshot` RPC endpoint declared here too.
import type { Handler } from './context.ts';
import type { Rpc } from '../../rpc/rpc.ts';
import { none } from '../../rpc/schema.ts';
import { metaSnapshots, type MetaSnapshots, type SnapshotResult } from '../../db/snapshot.ts';
import { knownNodeIds, resolveNode } from './cluster.ts';
import { errorMessage } from '../../util/errors.ts';
import { badRequest } from './http.ts';

/** A peer copying a large metadata store on a slow disk (a Pi's SD card) may take minutes. */
const SNAPSHOT_RPC_TIMEOUT_MS = 10 * 60_000;
/** The longest `node` query value: a 64-hex id, "self" or "*". */
const NODE_PARAM_CHARS_MAX = 64;

interface SnapshotAnswer {
  name: string;
  path: string;
  bytes: number;
  durationMs: number;
  removed: string[];
}

const answer = (r: SnapshotResult): SnapshotAnswer => ({ name: r.name, path: r.path, bytes: r.bytes, durationMs: r.durationMs, removed: r.removed });

/** Other nodes ask this one for a snapshot of its own metadata. */
export function registerMetaRpc(rpc: Rpc, snaps: MetaSnapshots): void {
  rpc.endpoint('meta/snapshot', none, async () => answer(await snaps.snapshot()));
}

const createMetadataSnapshot: Handler = async ({ deps, query }) => {
  const node = query.get('node') ?? 'self';
  if (node.length > NODE_PARAM_CHARS_MAX) throw badRequest(`query parameter "node" is longer than ${NODE_PARAM_CHARS_MAX} characters`);
  const local = () => metaSnapshots(deps.store.db, deps.config).snapshot().then(answer);
  const c = deps.cluster;
  let ids: string[];
  if (node === 'self' || node === deps.nodeId) ids = [deps.nodeId];
  else if (!c) return node === '*' ? { success: { [deps.nodeId]: await local() }, error: {} } : { success: {}, error: { [node]: 'unknown node (this admin server has no cluster runtime)' } };
  else if (node === '*') ids = knownNodeIds(c);
  else {
    try {
      ids = [resolveNode(c, node)];
    } catch (e) {
      return { success: {}, error: { [node]: errorMessage(e) } };
    }
  }
  const success: Record<string, SnapshotAnswer> = {};
  const error: Record<string, string> = {};
  await Promise.all(
    ids.map(async (id) => {
      try {
        success[id] = id === deps.nodeId ? await local() : await c!.rpc.call<SnapshotAnswer>(id, 'meta/snapshot', null, { timeoutMs: SNAPSHOT_RPC_TIMEOUT_MS });
      } catch (e) {
        error[id] = errorMessage(e);
      }
    }),
  );
  return { success, error };
};

export const META_OPS: Record<string, Handler> = {
  CreateMetadataSnapshot: createMetadataSnapshot,
};
