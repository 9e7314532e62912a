// Zone redundancy through the admin API (Garage's UpdateClusterLayout parameters): staged,
// shown in GetClusterLayout in Garage's shape, applied with the version, and refused at apply
// when the layout has fewer zones than asked. The other nodes are roles only (never started).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { REPO_ROOT, cleanEnv, describeRun, run, startNode, type TestNode } from './lib/node.ts';

let n: TestNode;
let self: string;

before(async () => {
  n = await startNode({ replicationFactor: 3 });
  self = Object.keys((await n.admin('GetNodeInfo', undefined, 'node=self')).success)[0]!;
});
after(async () => {
  await n?.stop();
});

async function call(op: string, body?: unknown): Promise<{ status: number; body: any }> {
  const r = await fetch(`${n.adminUrl}/v2/${op}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { authorization: `Bearer ${n.adminToken}` },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : undefined };
}

test('zoneRedundancy {atLeast: 2}: staged, shown, applied, and more zones than exist refused at apply', async () => {
  const [b, c, d] = ['b1', 'c1', 'd1'].map((x) => x.repeat(32));
  const roles = [
    { id: self, zone: 'A', capacity: 1e12 },
    { id: b, zone: 'A', capacity: 1e12 },
    { id: c, zone: 'B', capacity: 1e11 },
    { id: d, zone: 'C', capacity: 1e11 },
  ];
  const staged = await call('UpdateClusterLayout', { roles, parameters: { zoneRedundancy: { atLeast: 2 } } });
  assert.equal(staged.status, 200, JSON.stringify(staged.body));
  assert.deepEqual(staged.body.parameters, { zoneRedundancy: 'maximum', replicationFactor: 3 });
  assert.deepEqual(staged.body.stagedParameters, { zoneRedundancy: { atLeast: 2 }, replicationFactor: 3 });
  const pv = await call('PreviewClusterLayoutChanges', {});
  assert.deepEqual(pv.body.newLayout.parameters.zoneRedundancy, { atLeast: 2 });

  const applied = await call('ApplyClusterLayout', { version: 1 });
  assert.equal(applied.status, 200, JSON.stringify(applied.body));
  const l = (await call('GetClusterLayout')).body;
  assert.deepEqual(l.parameters, { zoneRedundancy: { atLeast: 2 }, replicationFactor: 3 });
  assert.equal(l.stagedParameters, null);
  // Zone A (two big nodes) holds two replicas of some partitions: B and C hold 128 each, not 256.
  const parts = Object.fromEntries(l.roles.map((r: any) => [r.id, r.storedPartitions]));
  assert.equal(parts[c], 128);
  assert.equal(parts[d], 128);
  assert.equal(l.partitionSize, Math.floor(1e11 / 128));

  // More than the replication factor: refused when staged.
  const four = await call('UpdateClusterLayout', { parameters: { zoneRedundancy: { atLeast: 4 } } });
  assert.equal(four.status, 400);
  assert.match(four.body.message, /at least 4 zones cannot be met with replication factor 3/);
  // Three zones asked, zone C removed: staged, then the preview and the apply say why not.
  assert.equal((await call('UpdateClusterLayout', { roles: [{ id: d, remove: true }], parameters: { zoneRedundancy: { atLeast: 3 } } })).status, 200);
  const pv2 = await call('PreviewClusterLayoutChanges', {});
  assert.match(pv2.body.error, /zone redundancy is at least 3 zones but the storage nodes are in 2 zone\(s\) \(A, B\)/);
  const refused = await call('ApplyClusterLayout', { version: 2 });
  assert.equal(refused.status, 400);
  assert.equal(refused.body.code, 'InvalidLayout');
  assert.match(refused.body.message, /storage nodes are in 2 zone/);
  assert.equal((await call('GetClusterLayout')).body.version, 1, 'nothing applied');
  // "maximum" is accepted and shown as such.
  assert.equal((await call('UpdateClusterLayout', { parameters: { zoneRedundancy: 'maximum' } })).status, 200);
  assert.equal((await call('GetClusterLayout')).body.stagedParameters.zoneRedundancy, 'maximum');
});

test('CLI: grenier layout config -r stages the zone redundancy and layout show prints it', async () => {
  const cli = (args: string[]) =>
    run(process.execPath, [join(REPO_ROOT, 'src/cli/main.ts'), ...args], {
      env: cleanEnv({ GRENIER_ADMIN_URL: n.adminUrl, GRENIER_ADMIN_TOKEN: n.adminToken, GRENIER_CONFIG: undefined }),
      timeoutMs: 30_000,
    });
  const bad = await cli(['layout', 'config', '-r', 'two']);
  assert.equal(bad.code, 2, describeRun('config -r two', bad));
  assert.match(bad.stderr, /invalid zone redundancy "two"/);
  const r = await cli(['layout', 'config', '-r', '2']);
  assert.equal(r.code, 0, describeRun('config -r 2', r));
  assert.match(r.stdout, /Staged: zone redundancy at least 2 zones/);
  assert.deepEqual((await call('GetClusterLayout')).body.stagedParameters.zoneRedundancy, { atLeast: 2 });
  const show = await cli(['layout', 'show']);
  assert.match(show.stdout, /zone redundancy at least 2 zones/);
  assert.equal((await cli(['layout', 'config', '-r', 'maximum'])).code, 0);
  assert.equal((await call('GetClusterLayout')).body.stagedParameters.zoneRedundancy, 'maximum');
});
