// Cluster health as Garage computes it: quorum per write set of every partition, over layouts
// in transition and with nodes down.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { computeHealth } from './cluster.ts';
import { apply, emptyHistory, stage, writeSets } from '../../layout/history.ts';
import type { LayoutHistory } from '../../layout/types.ts';

const id = (c: string) => c.repeat(64);
const [A, B, C, D] = [id('a'), id('b'), id('c'), id('d')];

function layout(nodes: string[], rf = 3, base?: LayoutHistory): LayoutHistory {
  let h = base ?? emptyHistory(rf);
  for (const [i, n] of nodes.entries()) h = stage(h, n, { zone: `z${i}`, capacity: 1e12, tags: [] }, i + 1 + (base ? 100 : 0));
  return apply(h, h.versions[h.versions.length - 1]!.version + 1, 0);
}

function health(h: LayoutHistory, up: string[], quorum = 2) {
  return computeHealth(h, (p) => writeSets(h, p), (n) => up.includes(n), [A, B, C, D].filter((n) => up.includes(n) || Object.keys(h.versions.at(-1)!.roles).includes(n)), quorum);
}

test('all up is healthy, one of three down is degraded, two down is unavailable', () => {
  const h = layout([A, B, C]);
  assert.deepEqual(health(h, [A, B, C]), {
    status: 'healthy', knownNodes: 3, connectedNodes: 3, storageNodes: 3, storageNodesUp: 3,
    partitions: 256, partitionsQuorum: 256, partitionsAllOk: 256,
  });
  const one = health(h, [A, B]);
  assert.equal(one.status, 'degraded');
  assert.equal(one.storageNodesUp, 2);
  assert.equal(one.partitionsQuorum, 256);
  assert.equal(one.partitionsAllOk, 0);
  const two = health(h, [A]);
  assert.equal(two.status, 'unavailable');
  assert.equal(two.partitionsQuorum, 0);
  // dangerous mode (W=1) keeps every partition writable with one node.
  assert.equal(health(h, [A], 1).partitionsQuorum, 256);
});

test('during a transition both versions must have quorum', () => {
  const h1 = layout([A, B, C]);
  // D replaces C; until every node acks and syncs, writes go to both versions' sets.
  let h2 = stage(h1, C, null, 200);
  h2 = layout([D], 3, h2);
  assert.equal(h2.versions.length, 2);
  const withoutD = health(h2, [A, B, C]);
  // Partitions whose new set includes D still have A and B up there: quorum 2 of 3 holds.
  assert.equal(withoutD.partitionsQuorum, 256);
  assert.equal(withoutD.status, 'degraded', 'D (a storage node of the current version) is down');
  assert.equal(health(h2, [A, B]).partitionsQuorum, 256, 'A and B are in both sets');
  // The new set alone has quorum (A, D), but writes still need the old one (A, B, C) too.
  const onlyNew = health(h2, [A, D]);
  assert.equal(onlyNew.partitionsQuorum, 0);
  assert.equal(onlyNew.status, 'unavailable');
});

test('before any layout this node alone is the cluster', () => {
  const h = emptyHistory(3);
  const r = computeHealth(h, () => [[A]], (n) => n === A, [A], 2);
  assert.equal(r.status, 'healthy');
  assert.equal(r.storageNodes, 1);
  assert.equal(r.partitionsQuorum, 256);
});
