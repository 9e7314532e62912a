// Cluster admin API on a real single-node server: node info, layout stage/preview/apply/revert/
// history with its error cases, status and health after a layout, workers and repairs.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { s3Client, startNode, type TestNode } from './lib/node.ts';

let n: TestNode;
let id: string;

before(async () => {
  n = await startNode();
  const info = await n.admin('GetNodeInfo', undefined, 'node=self');
  id = Object.keys(info.success)[0]!;
});
after(async () => {
  await n?.stop();
});

/** Calls an admin operation and returns status + parsed body, without throwing on errors. */
async function call(op: string, body?: unknown, query = ''): Promise<{ status: number; body: any }> {
  const r = await fetch(`${n.adminUrl}/v2/${op}${query ? '?' + query : ''}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { authorization: `Bearer ${n.adminToken}` },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : undefined };
}

async function waitFor<T>(what: string, f: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('GetNodeInfo gives the id and the <id>@<addr> to connect to', async () => {
  const info = (await n.admin('GetNodeInfo', undefined, 'node=self')).success[id];
  assert.match(id, /^[0-9a-f]{64}$/);
  assert.equal(info.nodeId, id);
  assert.equal(info.rpcAddr, `127.0.0.1:${n.rpcPort}`);
  assert.equal(info.nodeAddr, `${id}@127.0.0.1:${n.rpcPort}`);
  const byPrefix = await n.admin('GetNodeInfo', undefined, `node=${id.slice(0, 8)}`);
  assert.ok(byPrefix.success[id]);
  const none = await n.admin('GetNodeInfo', undefined, `node=${id[0] === 'f' ? 'e' : 'f'}fff`);
  assert.deepEqual(none.success, {});
  assert.match(Object.values(none.error)[0] as string, /no node matches/);
});

test('layout: bad role changes are refused and stage nothing', async () => {
  const other = id[0] === 'f' ? 'eeee' : 'ffff';
  const cases: [unknown, number, RegExp][] = [
    [{ roles: [{ id, zone: '', capacity: 1e9 }] }, 400, /zone must be a non-empty string/],
    [{ roles: [{ id, zone: 'dc1', capacity: 0 }] }, 400, /capacity must be a positive integer/],
    [{ roles: [{ id, zone: 'dc1', capacity: 1.5 }] }, 400, /capacity must be a positive integer/],
    [{ roles: [{ id, zone: 'dc1', capacity: '1G' }] }, 400, /capacity must be a positive integer/],
    [{ roles: [{ id, zone: 'dc1', capacity: 1e9, tags: [3] }] }, 400, /tags must be an array of strings/],
    [{ roles: [{ id: other, zone: 'dc1', capacity: 1e9 }] }, 404, new RegExp(`no node matches ${other}`)],
    [{ roles: [{ id: 'xyz', zone: 'dc1', capacity: 1e9 }] }, 400, /not a node id/],
    // The first entry is fine, the second is not: neither may be staged.
    [{ roles: [{ id, zone: 'dc1', capacity: 1e9 }, { id, zone: 'dc1', capacity: -1 }] }, 400, /roles\[1\]\.capacity/],
    [{ nope: 1 }, 400, /"roles"/],
  ];
  for (const [body, status, msg] of cases) {
    const r = await call('UpdateClusterLayout', body);
    assert.equal(r.status, status, JSON.stringify(body) + ' → ' + JSON.stringify(r.body));
    assert.match(r.body.message, msg);
  }
  const l = await n.admin('GetClusterLayout');
  assert.equal(l.version, 0);
  assert.deepEqual(l.roles, []);
  assert.deepEqual(l.stagedRoleChanges, []);
});

test('layout: assign by prefix, preview, apply with the version guard, revert, history', async () => {
  const staged = await n.admin('UpdateClusterLayout', { roles: [{ id: id.slice(0, 6), zone: 'dc1', capacity: 2e12, tags: ['rack1'] }] });
  assert.deepEqual(staged.stagedRoleChanges, [{ id, zone: 'dc1', capacity: 2e12, tags: ['rack1'] }]);
  assert.equal(staged.version, 0);

  const p = await n.admin('PreviewClusterLayoutChanges', {});
  assert.equal(p.error, undefined);
  assert.equal(p.newLayout.version, 1);
  assert.equal(p.newLayout.roles[0].storedPartitions, 256);
  const text = p.message.join('\n');
  assert.match(text, /layout version 0 → 1/);
  assert.match(text, new RegExp(`node ${id.slice(0, 16)} \\(zone dc1, capacity 2 TB\\): 0 → 256 partitions \\(\\+256\\)`));
  assert.match(text, /partition replicas moved: 256 of 256/);
  assert.match(text, /data to move: /);
  assert.match(text, /usable capacity: 2 TB \(currently 0 B\)/);

  const wrong = await call('ApplyClusterLayout', { version: 2 });
  assert.equal(wrong.status, 400);
  assert.equal(wrong.body.code, 'LayoutVersionMismatch');
  assert.match(wrong.body.message, /layout version mismatch: expected --version 1/);
  assert.equal((await call('ApplyClusterLayout', { version: 'one' })).status, 400);
  assert.equal((await n.admin('GetClusterLayout')).version, 0, 'a refused apply changes nothing');

  const applied = await n.admin('ApplyClusterLayout', { version: 1 });
  assert.equal(applied.layout.version, 1);
  assert.deepEqual(applied.layout.stagedRoleChanges, []);
  assert.deepEqual(
    applied.layout.roles.map((r: any) => [r.id, r.zone, r.capacity, r.tags, r.storedPartitions]),
    [[id, 'dc1', 2e12, ['rack1'], 256]],
  );
  const again = await call('ApplyClusterLayout', { version: 2 });
  assert.equal(again.status, 400);
  assert.equal(again.body.code, 'NoLayoutChanges');

  // Removing the only storage node cannot be applied.
  await n.admin('UpdateClusterLayout', { roles: [{ id, remove: true }] });
  assert.deepEqual((await n.admin('GetClusterLayout')).stagedRoleChanges, [{ id, remove: true }]);
  const empty = await call('ApplyClusterLayout', { version: 2 });
  assert.equal(empty.status, 400);
  assert.match(empty.body.message, /no storage node/);
  const reverted = await n.admin('RevertClusterLayout', {});
  assert.equal(reverted.version, 1);
  assert.deepEqual(reverted.stagedRoleChanges, []);

  const h = await n.admin('GetClusterLayoutHistory');
  assert.equal(h.currentVersion, 1);
  assert.deepEqual(h.versions.map((v: any) => [v.version, v.status, v.storageNodes]), [[1, 'Current', 1]]);
  assert.equal(h.updateTrackers[id].ack, 1);
});

test('preview estimates data from the blocks the nodes hold', async () => {
  const s3 = s3Client(n);
  await s3.send(new CreateBucketCommand({ Bucket: 'estimate' }));
  // Three distinct 1 MiB blocks (the default block size).
  await s3.send(new PutObjectCommand({ Bucket: 'estimate', Key: 'k', Body: Buffer.concat([0, 1, 2].map((i) => Buffer.alloc(1 << 20, i))) }));
  await n.admin('UpdateClusterLayout', { roles: [{ id, zone: 'dc1', capacity: 3e12, tags: ['rack1'] }] });
  const p = await n.admin('PreviewClusterLayoutChanges', {});
  const text = p.message.join('\n');
  assert.match(text, /data to move: ≈ 0 B \(3 blocks stored, up to ≈ 3\.15 MB in all\)/);
  assert.match(text, /usable capacity: 3 TB \(currently 2 TB\)/);
  await n.admin('RevertClusterLayout', {});
});

test('status and health follow the layout', async () => {
  const s = await n.admin('GetClusterStatus');
  assert.equal(s.layoutVersion, 1);
  assert.equal(s.nodes.length, 1);
  const me = s.nodes[0];
  assert.equal(me.id, id);
  assert.equal(me.isUp, true);
  assert.equal(me.addr, `127.0.0.1:${n.rpcPort}`);
  assert.deepEqual(me.role, { zone: 'dc1', capacity: 2e12, tags: ['rack1'] });
  assert.equal(me.partitions, 256);
  assert.equal(me.draining, false);
  assert.ok(me.dataPartition.total > 0 && me.metadataPartition.total > 0);
  assert.equal(typeof me.hostname, 'string');
  const h = await n.admin('GetClusterHealth');
  // Garage's fields; Grenier's own additions (node readiness, replication debt) are checked apart.
  const GARAGE = ['status', 'knownNodes', 'connectedNodes', 'storageNodes', 'storageNodesUp', 'partitions', 'partitionsQuorum', 'partitionsAllOk'];
  assert.deepEqual(h.node, { status: 'ready', reason: 'ok' });
  assert.deepEqual(Object.fromEntries(Object.entries(h).filter(([k]) => GARAGE.includes(k))), {
    status: 'healthy',
    knownNodes: 1,
    connectedNodes: 1,
    storageNodes: 1,
    storageNodesUp: 1,
    partitions: 256,
    partitionsQuorum: 256,
    partitionsAllOk: 256,
  });
});

test('ListWorkers and LaunchRepairOperation', async () => {
  const ws = await n.admin('ListWorkers');
  const names = ws.map((w: any) => w.name);
  for (const w of ['table-queue', 'table-sync', 'block-resync', 'block-scrub', 'block-gc', 'tombstone-gc']) assert.ok(names.includes(w), `${w} in ${names}`);
  for (const w of ws) {
    assert.ok(['idle', 'busy', 'stopped'].includes(w.state));
    assert.equal(typeof w.queue, 'number');
    assert.equal(typeof w.errors, 'number');
  }
  const runsOf = async (name: string) => ((await n.admin('ListWorkers')) as any[]).find((w) => w.name === name).runs as number;
  // tombstone-gc first runs 10 minutes after start, then hourly: a run within the test can only
  // come from the repair.
  const before = await runsOf('tombstone-gc');
  assert.equal(before, 0, 'tombstone-gc ran at start');
  const r = await n.admin('LaunchRepairOperation', { repairType: 'gc' });
  assert.deepEqual([...r.launched, ...r.alreadyRunning].sort(), ['block-gc', 'tombstone-gc']);
  await waitFor('tombstone-gc to run again', async () => ((await runsOf('tombstone-gc')) > before ? true : undefined));
  const t = await n.admin('LaunchRepairOperation', { repairType: 'tables' });
  assert.deepEqual([...t.launched, ...t.alreadyRunning], ['table-sync']);
  const bad = await call('LaunchRepairOperation', { repairType: 'everything' });
  assert.equal(bad.status, 400);
  assert.match(bad.body.message, /repairType.*tables, blocks, scrub, rebalance, gc/);
  // POST is Garage's multi-node form (test/admin-v2.test.ts); PUT is no method of it.
  assert.equal((await call('ListWorkers', {})).status, 200);
  const put = await fetch(`${n.adminUrl}/v2/ListWorkers`, { method: 'PUT', headers: { authorization: `Bearer ${n.adminToken}` } });
  assert.equal(put.status, 405);
});

test('ConnectClusterNodes reports each failure and checks its body', async () => {
  const r = await n.admin('ConnectClusterNodes', [`${'ab'.repeat(32)}@127.0.0.1:1`, 'garbage']);
  assert.equal(r.length, 2);
  for (const x of r) {
    assert.equal(x.success, false);
    assert.equal(typeof x.error, 'string');
  }
  const notArray = await call('ConnectClusterNodes', { nodes: [] });
  assert.equal(notArray.status, 400);
  const badJson = await call('ConnectClusterNodes', '[1,');
  assert.equal(badJson.status, 400);
});
