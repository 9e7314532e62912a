// GetClusterHealth's replication debt: every node's own debt is gathered (node/debt), checked like
// any peer input, and a node some OTHER node owes entries to is not "fully replicated".
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkDebt, clusterHealth, gatherDebts } from './cluster.ts';
import { defaultLimits } from '../../config/config.ts';
import type { AdminDeps } from './context.ts';
import type { ClusterHandle, ReplicationDebt } from './cluster-handle.ts';
import type { LayoutHistory } from '../../layout/types.ts';

const A = 'a'.repeat(64);
const B = 'b'.repeat(64);
const C = 'c'.repeat(64);
const none: ReplicationDebt = { entriesQueued: 0, entriesQueuedByNode: {}, blocksQueued: 0, blockErrors: 0, nodesBehind: [] };
const role = (zone: string) => ({ zone, capacity: 1e9, tags: [] });
const history: LayoutHistory = {
  versions: [{ version: 1, replicationFactor: 3, roles: { [A]: role('p'), [B]: role('l'), [C]: role('n') }, assignment: Array.from({ length: 256 }, () => [A, B, C]), partitionSize: 1 }],
  staging: {},
  stagingSince: 0,
  syncMap: {},
  ackMap: {},
};

/** Node A's view: B and C connected; `answers` is what each peer's node/debt returns (or throws). */
function deps(answers: Record<string, unknown>): AdminDeps {
  const cluster = {
    net: { id: A, peers: () => [B, C].map((id) => ({ id, connected: true })) },
    rpc: {
      isUp: () => true,
      call: async (id: string, ep: string) => {
        assert.equal(ep, 'node/debt');
        const a = answers[id];
        if (a instanceof Error) throw a;
        return a;
      },
    },
    layout: { history: () => history, writeSets: () => [[A, B, C]] },
    replicationDebt: () => none,
  } as unknown as ClusterHandle;
  return { cluster, config: { consistency_mode: 'consistent', replication_factor: 3, limits: defaultLimits() }, nodeId: A } as unknown as AdminDeps;
}

test('a node that another node owes entries to makes its partitions not fully replicated', async () => {
  const d = deps({ [B]: { ...none, entriesQueued: 7, entriesQueuedByNode: { [C]: 7 }, nodesBehind: [C] }, [C]: none });
  // A alone owes nothing: from its own debt only, everything looked fully replicated.
  assert.equal(clusterHealth(d).partitionsAllOk, 256);
  const { debts, unknown } = await gatherDebts(d.cluster!);
  assert.deepEqual(unknown, []);
  assert.equal(debts.get(B)!.entriesQueuedByNode[C], 7);
  const h = clusterHealth(d, debts);
  assert.equal(h.partitionsAllOk, 0);
  assert.equal(h.status, 'degraded');
});

test('a peer that does not answer, or answers nonsense, is unknown (never trusted, never fatal)', async () => {
  const d = deps({ [B]: new Error('timeout'), [C]: { ...none, entriesQueued: -1 } });
  const { debts, unknown } = await gatherDebts(d.cluster!);
  assert.deepEqual([...debts.keys()], [A]);
  assert.deepEqual(unknown, [B, C]);
});

test('checkDebt accepts the shape node/debt answers and refuses others', () => {
  assert.deepEqual(checkDebt(none), none);
  for (const bad of [null, [], { ...none, blocksQueued: 1.5 }, { ...none, nodesBehind: ['x y'] }, { ...none, entriesQueuedByNode: { [B]: 'many' } }, { ...none, nodesBehind: Array(10_001).fill(B) }])
    assert.throws(() => checkDebt(bad));
});
