// Readiness rules on a synthetic cluster view: layout unknown while peers exist but none is
// connected, write quorum per partition for each consistency mode, a lone node ready at once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readiness } from './readiness.ts';
import { emptyHistory } from '../../layout/history.ts';
import type { AdminDeps } from './context.ts';
import type { LayoutHistory } from '../../layout/types.ts';

const [A, B, C] = ['a', 'b', 'c'].map((x) => x.repeat(64)) as [string, string, string];

function deps(o: { mode?: 'consistent' | 'degraded' | 'dangerous'; layout: boolean; peers: string[]; up: string[]; bootstrap?: string[] }): AdminDeps {
  const role = { zone: 'z', capacity: 1, tags: [] };
  const h: LayoutHistory = o.layout ? { ...emptyHistory(3), versions: [{ ...emptyHistory(3).versions[0]!, version: 1, roles: { [A]: role, [B]: role, [C]: role } }] } : emptyHistory(3);
  const up = new Set([A, ...o.up]);
  const cluster = {
    net: { id: A, peers: () => o.peers.map((id) => ({ id, addr: 'x:1', connected: up.has(id), rttMs: undefined, lastSeen: undefined })) },
    rpc: { isUp: (id: string) => up.has(id) },
    layout: { history: () => h, writeSets: () => (o.layout ? [[A, B, C]] : [[A]]) },
  };
  return { config: { consistency_mode: o.mode ?? 'consistent', replication_factor: 3, bootstrap_peers: o.bootstrap ?? o.peers.map((id) => `${id}@x:1`) }, cluster } as unknown as AdminDeps;
}

test('a lone node with no layout and no peers is ready', () => {
  assert.equal(readiness(deps({ layout: false, peers: [], up: [] })).status, 'ready');
});

test('no layout yet: starting until a bootstrap peer is connected (it has the layout)', () => {
  const r = readiness(deps({ layout: false, peers: [B], up: [] }));
  assert.equal(r.status, 'starting');
  assert.match(r.reason, /layout unknown/);
  assert.equal(readiness(deps({ layout: false, peers: [B], up: [B] })).status, 'ready');
  // A peer only heard of (gossip, an old connection), not configured, does not hold a lone node back.
  assert.equal(readiness(deps({ layout: false, peers: [B], up: [], bootstrap: [] })).status, 'ready');
});

test('a write quorum of connected nodes in every partition, per consistency mode', () => {
  const alone = readiness(deps({ layout: true, peers: [B, C], up: [] }));
  assert.equal(alone.status, 'no-quorum');
  assert.equal(alone.details.partitionsWritable, 0);
  assert.deepEqual(alone.details.unreachable, [B.slice(0, 16), C.slice(0, 16)]);
  assert.match(alone.reason, /2 of 3\) for 256\/256 partitions; not connected to b{16}, c{16}$/);
  assert.equal(readiness(deps({ layout: true, peers: [B, C], up: [B] })).status, 'ready');
  // degraded reads from one replica but still writes to a majority.
  assert.equal(readiness(deps({ mode: 'degraded', layout: true, peers: [B, C], up: [] })).status, 'no-quorum');
  assert.equal(readiness(deps({ mode: 'dangerous', layout: true, peers: [B, C], up: [] })).status, 'ready');
});
