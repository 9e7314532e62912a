// Capacity parsing and the zone-grouped status rendering of the cluster commands.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCapacity, siBytes } from './layout.ts';
import { renderStatus } from './status.ts';
import type { ClusterHealth, StatusNode } from './cluster-types.ts';

test('capacities: SI and binary suffixes, plain bytes, refusals', () => {
  assert.equal(parseCapacity('2T'), 2e12);
  assert.equal(parseCapacity('2TB'), 2e12);
  assert.equal(parseCapacity('500G'), 5e11);
  assert.equal(parseCapacity('100GB'), 1e11);
  assert.equal(parseCapacity('1TiB'), 2 ** 40);
  assert.equal(parseCapacity('1234'), 1234);
  for (const bad of ['0', '', 'lots', '-1T', '2X']) assert.throws(() => parseCapacity(bad), /invalid capacity/);
  assert.equal(siBytes(2e12), '2 TB');
  assert.equal(siBytes(2 ** 40), '1.1 TB');
  assert.equal(siBytes(999), '999 B');
});

function node(id: string, zone: string | null, isUp = true): StatusNode {
  return {
    id: id.repeat(64), addr: '127.0.0.1:1', hostname: 'h', isUp, lastSeenSecsAgo: isUp ? 0 : 42, rttMs: 3,
    role: zone ? { zone, capacity: 1e12, tags: [] } : null, draining: false,
    dataPartition: { available: 5e11, total: 1e12 }, metadataPartition: null, partitions: zone ? 256 : 0,
  };
}

test('status groups nodes by zone, then the ones without a role', () => {
  const health: ClusterHealth = { status: 'degraded', knownNodes: 4, connectedNodes: 3, storageNodes: 3, storageNodesUp: 2, partitions: 256, partitionsQuorum: 256, partitionsAllOk: 0 };
  const out = renderStatus({ layoutVersion: 4, nodes: [node('c', 'west'), node('a', 'east'), node('b', 'west', false), node('d', null)] }, health);
  const lines = out.split('\n');
  assert.match(lines[0]!, /^Cluster degraded: 3\/4 nodes connected, 2\/3 storage nodes up, 256\/256 partitions with quorum \(0 fully replicated\), layout version 4$/);
  const heads = lines.filter((l) => /^(Zone|Nodes)/.test(l));
  assert.deepEqual(heads, ['Zone east (1/1 up)', 'Zone west (1/2 up)', 'Nodes without a role']);
  const down = lines.find((l) => l.startsWith('b'.repeat(16)))!;
  assert.match(down, /DOWN \(seen 42s ago\)/);
  assert.doesNotMatch(down, /3 ms/, 'no RTT shown for a node that is down');
  assert.match(lines.find((l) => l.startsWith('a'.repeat(16)))!, /1 TB .*500 GB\/1 TB free \(50%\)\s+256\s+3 ms$/);
});
