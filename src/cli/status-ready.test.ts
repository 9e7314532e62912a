// `grenier status` says whether the node it asked can serve requests (what its /health answers).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderStatus } from './status.ts';
import type { ClusterHealth } from './cluster-types.ts';

const base: ClusterHealth = { status: 'unavailable', knownNodes: 3, connectedNodes: 1, storageNodes: 3, storageNodesUp: 1, partitions: 256, partitionsQuorum: 0, partitionsAllOk: 0 };

test('status prints the readiness of the node it asked, second line', () => {
  const down = renderStatus({ layoutVersion: 1, nodes: [] }, { ...base, node: { status: 'no-quorum', reason: 'no write quorum for 256/256 partitions; not connected to aaaa, bbbb' } }).split('\n');
  assert.equal(down[1], 'This node is NOT READY (/health answers 503): no-quorum: no write quorum for 256/256 partitions; not connected to aaaa, bbbb');
  const up = renderStatus({ layoutVersion: 1, nodes: [] }, { ...base, status: 'healthy', node: { status: 'ready', reason: 'ok' } }).split('\n');
  assert.equal(up[1], 'This node is ready (/health answers 200)');
});
