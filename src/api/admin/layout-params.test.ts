// The replication-factor safety rule: quorums of the new factor must still meet in the old replica
// sets, and every node must already run with the new factor.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rfChangeProblem } from './layout-params.ts';
import { emptyHistory } from '../../layout/history.ts';
import type { AdminDeps } from './context.ts';
import type { ClusterHandle } from './cluster-handle.ts';

const self = 'a'.repeat(64);
const peer = 'b'.repeat(64);

function setup(rfSelf: number, rfPeer: number | 'down') {
  const h = { ...emptyHistory(3), staging: { [peer]: { t: 1, v: { zone: 'z2', capacity: 1e9, tags: [] } }, [self]: { t: 1, v: { zone: 'z1', capacity: 1e9, tags: [] } } } };
  const deps = { nodeId: self, config: { consistency_mode: 'consistent', replication_factor: rfSelf } } as unknown as AdminDeps;
  const c = {
    layout: { history: () => h },
    rpc: {
      call: async () => {
        if (rfPeer === 'down') throw new Error('not connected');
        return { replicationFactor: rfPeer };
      },
    },
  } as unknown as ClusterHandle;
  return { deps, c };
}

test('lowering the factor so far that quorums no longer meet in the old sets is refused', async () => {
  const { deps, c } = setup(1, 1);
  assert.match((await rfChangeProblem(deps, c, 3, 1))!, /lowering the replication factor from 3 to 1 is unsafe/);
  assert.match((await rfChangeProblem(deps, c, 5, 3))!, /unsafe/);
  assert.match((await rfChangeProblem(deps, c, 4, 3))!, /unsafe/);
});

test('a change every node already runs with is allowed; a node with another factor or down blocks it', async () => {
  assert.equal(await rfChangeProblem(setup(2, 2).deps, setup(2, 2).c, 3, 2), undefined);
  assert.equal(await rfChangeProblem(setup(5, 5).deps, setup(5, 5).c, 3, 5), undefined);
  const s = setup(5, 3);
  assert.match((await rfChangeProblem(s.deps, s.c, 3, 5))!, /bbbbbbbbbbbbbbbb has replication_factor = 3/);
  const d = setup(5, 'down');
  assert.match((await rfChangeProblem(d.deps, d.c, 3, 5))!, /did not answer/);
  const me = setup(3, 5);
  assert.match((await rfChangeProblem(me.deps, me.c, 3, 5))!, /\(this node\) has replication_factor = 3/);
});
