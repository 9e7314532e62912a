// `grenier status` before any layout is applied: no node stores anything yet, so it must not
// count "storage nodes up"; it says there is no layout and what to run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderStatus } from './status.ts';
import type { ClusterHealth, ClusterStatus } from './cluster-types.ts';

const A = 'a'.repeat(64);
const status: ClusterStatus = {
  layoutVersion: 0,
  nodes: [{ id: A, addr: '127.0.0.1:3901', hostname: 'h1', isUp: true, lastSeenSecsAgo: null, role: null, draining: false, dataPartition: null, metadataPartition: null }],
};
// What a fresh node's GetClusterHealth answers at layout version 0.
const health: ClusterHealth = { status: 'healthy', knownNodes: 1, connectedNodes: 1, storageNodes: 1, storageNodesUp: 1, partitions: 256, partitionsQuorum: 256, partitionsAllOk: 256 };

test('status at layout version 0 says there is no layout yet and how to make one, not "1/1 storage nodes up"', () => {
  const out = renderStatus(status, health);
  const first = out.split('\n')[0];
  assert.doesNotMatch(out, /storage nodes up/);
  assert.doesNotMatch(first, /healthy/);
  assert.match(first, /no layout yet/i);
  assert.match(out, /grenier layout assign <node id> -z <zone> -c <capacity>/);
  assert.match(out, /grenier layout apply --version 1/);
  assert.match(out, /1\/1 nodes connected/);
});
