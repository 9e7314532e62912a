// `grenier status` prints the replication debt per node and says "fully replicated" only when it is 0.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderStatus } from './status.ts';
import type { ClusterHealth, ClusterStatus } from './cluster-types.ts';

const A = 'a'.repeat(64);
const B = 'b'.repeat(64);
const C = 'c'.repeat(64);
const role = (zone: string) => ({ zone, capacity: 1e9, tags: [] });
const node = (id: string, zone: string, isUp = true) => ({ id, addr: null, hostname: null, isUp, lastSeenSecsAgo: null, role: role(zone), draining: false, dataPartition: null, metadataPartition: null });
const status: ClusterStatus = { layoutVersion: 1, nodes: [node(A, 'paris'), node(B, 'lyon'), node(C, 'nantes')] };
const none = { entriesQueued: 0, entriesQueuedByNode: {}, blocksQueued: 0, blockErrors: 0, nodesBehind: [] };
const base: ClusterHealth = { status: 'healthy', knownNodes: 3, connectedNodes: 3, storageNodes: 3, storageNodesUp: 3, partitions: 256, partitionsQuorum: 256, partitionsAllOk: 256 };

test('status: debt of 0 on every node says fully replicated', () => {
  const out = renderStatus(status, { ...base, replicationDebt: none, replicationDebtByNode: { [A]: none, [B]: none, [C]: none }, replicationDebtUnknown: [] });
  assert.match(out, /^Replication: fully replicated \(no entries queued for any node, no blocks to fetch\)$/m);
});

test('status: entries owed to a node (by any node) and blocks queued on one are printed per node, never "fully replicated"', () => {
  const owesC = { ...none, entriesQueued: 120, entriesQueuedByNode: { [C]: 120 }, nodesBehind: [C] };
  const fetching = { ...none, blocksQueued: 35, blockErrors: 2, nodesBehind: [C] };
  const h: ClusterHealth = { ...base, status: 'degraded', partitionsAllOk: 64, replicationDebt: none, replicationDebtByNode: { [A]: none, [B]: owesC, [C]: fetching }, replicationDebtUnknown: [] };
  const out = renderStatus(status, h);
  assert.doesNotMatch(out, /Replication: fully replicated/);
  assert.match(out, /^Replication: NOT fully replicated: 120 entries queued for 1 node\(s\), 35 blocks to fetch \(2 failing\)$/m);
  const line = out.split('\n').find((l) => l.startsWith(C.slice(0, 16)) && /nantes/.test(l) && /120/.test(l));
  assert.ok(line, `a debt row for node c:\n${out}`);
  assert.match(line!, /nantes\s+120\s+35\s+2$/);
  assert.ok(!out.split('\n').some((l) => l.startsWith(A.slice(0, 16)) && /\b0\s+0\s+0$/.test(l)), 'nodes without debt are not listed');
});

test('status: a node whose debt is unknown (down) is not called fully replicated', () => {
  const h: ClusterHealth = { ...base, status: 'degraded', replicationDebt: none, replicationDebtByNode: { [A]: none, [B]: none }, replicationDebtUnknown: [C] };
  const out = renderStatus({ ...status, nodes: [node(A, 'paris'), node(B, 'lyon'), node(C, 'nantes', false)] }, h);
  assert.match(out, /^Replication: NOT known to be fully replicated: debt of 1 node\(s\) unknown$/m);
  assert.match(out, new RegExp(`^${C.slice(0, 16)}\\s+nantes\\s+\\?\\s+\\?\\s+\\?\\s+unknown \\(no answer\\)$`, 'm'));
});

test('status: an older server that reports only its own debt', () => {
  const own = { ...none, entriesQueued: 5, entriesQueuedByNode: { [B]: 5 }, nodesBehind: [B] };
  const out = renderStatus(status, { ...base, replicationDebt: own });
  assert.match(out, /^Replication: NOT fully replicated: 5 entries queued for 1 node\(s\), 0 blocks to fetch/m);
});
