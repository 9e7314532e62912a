// Garage admin API v2 operations on a real single-node server: multi-node worker operations and
// variables (kept across a restart), block errors, info, retry and purge, node and cluster statistics.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { s3Client, startNode, type TestNode } from './lib/node.ts';

let n: TestNode;
let id: string;

before(async () => {
  n = await startNode();
  id = Object.keys((await n.admin('GetNodeInfo', undefined, 'node=self')).success)[0]!;
});
after(async () => {
  await n?.stop();
});

async function call(op: string, body?: unknown, query = '', method = body === undefined ? 'GET' : 'POST'): Promise<{ status: number; body: any }> {
  const r = await fetch(`${n.adminUrl}/v2/${op}${query ? '?' + query : ''}`, {
    method,
    headers: { authorization: `Bearer ${n.adminToken}` },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : undefined };
}

async function waitFor<T>(what: string, f: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('ListWorkers: POST answers per node (self, *, an id), GET keeps the local list', async () => {
  for (const q of ['node=self', 'node=*', `node=${id.slice(0, 10)}`]) {
    const r = await call('ListWorkers', {}, q);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual(Object.keys(r.body.success), [id]);
    assert.deepEqual(r.body.error, {});
    const ws = r.body.success[id];
    const resync = ws.find((w: any) => w.name === 'block-resync-queue');
    assert.ok(resync, JSON.stringify(ws.map((w: any) => w.name)));
    assert.equal(typeof resync.id, 'number');
    assert.ok(['busy', 'idle', 'done'].includes(resync.state));
    assert.equal(resync.tranquility, 0);
    assert.ok(Array.isArray(resync.freeform));
  }
  const busy = await call('ListWorkers', { busyOnly: true }, 'node=self');
  assert.ok(busy.body.success[id].every((w: any) => w.state === 'busy'));
  const unknown = await call('ListWorkers', {}, 'node=ffff0000');
  assert.deepEqual(unknown.body.success, {});
  assert.match(unknown.body.error['ffff0000'], /no node matches/);
  assert.equal((await call('ListWorkers', { busyOnly: 'yes' }, 'node=self')).status, 400);
  const legacy = await call('ListWorkers');
  assert.equal(legacy.status, 200);
  assert.ok(Array.isArray(legacy.body) && legacy.body.some((w: any) => w.name === 'table-sync'));
});

test('GetWorkerInfo by the id ListWorkers gives', async () => {
  const ws = (await call('ListWorkers', {}, 'node=self')).body.success[id];
  const w = ws[0];
  const r = await call('GetWorkerInfo', { id: w.id }, 'node=self');
  assert.equal(r.status, 200);
  assert.equal(r.body.success[id].name, w.name);
  const none = await call('GetWorkerInfo', { id: 999 }, 'node=self');
  assert.match(none.body.error[id], /no worker with id 999/);
  assert.equal((await call('GetWorkerInfo', { id: 'x' }, 'node=self')).status, 400);
});

test('worker variables: resync tranquility and worker count, checked, kept across a restart', async () => {
  const all = (await call('GetWorkerVariable', {}, 'node=self')).body.success[id];
  assert.deepEqual(all, { 'resync-tranquility': '0', 'resync-worker-count': '4' });
  const set = await call('SetWorkerVariable', { variable: 'resync-tranquility', value: '3' }, 'node=*');
  assert.deepEqual(set.body, { success: { [id]: { variable: 'resync-tranquility', value: '3' } }, error: {} });
  assert.equal((await call('SetWorkerVariable', { variable: 'resync-worker-count', value: 2 }, 'node=self')).body.success[id].value, '2');
  for (const [body, msg] of [
    [{ variable: 'resync-worker-count', value: '0' }, /from 1 to 16/],
    [{ variable: 'resync-tranquility', value: 'lots' }, /from 0 to 100/],
    [{ variable: 'nope', value: '1' }, /unknown worker variable/],
    [{ value: '1' }, /missing field "variable"/],
  ] as const) {
    const r = await call('SetWorkerVariable', body, 'node=self');
    // Checked where the request enters (400), or by the node running it (its error entry).
    const message = r.status === 400 ? r.body.message : r.body.error?.[id];
    assert.match(String(message), msg, JSON.stringify(r.body));
  }
  const one = await call('GetWorkerVariable', { variable: 'resync-tranquility' }, 'node=self');
  assert.deepEqual(one.body.success[id], { 'resync-tranquility': '3' });
  const w = (await call('ListWorkers', {}, 'node=self')).body.success[id].find((x: any) => x.name === 'block-resync-queue');
  assert.equal(w.tranquility, 3);
  await n.restart();
  const after = (await call('GetWorkerVariable', {}, 'node=self')).body.success[id];
  assert.deepEqual(after, { 'resync-tranquility': '3', 'resync-worker-count': '2' });
  await call('SetWorkerVariable', { variable: 'resync-tranquility', value: '0' }, 'node=self');
  await call('SetWorkerVariable', { variable: 'resync-worker-count', value: '4' }, 'node=self');
});

function files(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) out.push(...files(p));
    else out.push(p);
  }
  return out;
}

test('block errors: a lost block is listed, inspected, retried, then purged with its object', async () => {
  const s3 = s3Client(n);
  await s3.send(new CreateBucketCommand({ Bucket: 'blocks' }));
  const body = randomBytes(100_000);
  await s3.send(new PutObjectCommand({ Bucket: 'blocks', Key: 'lost', Body: body }));
  await s3.send(new PutObjectCommand({ Bucket: 'blocks', Key: 'kept', Body: randomBytes(100_000) }));
  const hash = createHash('sha256').update(body).digest('hex');
  const file = files(join(n.dir, 'data')).find((f) => f.includes(hash));
  assert.ok(file, 'the block file is on disk');
  rmSync(file);
  const launched = await call('LaunchRepairOperation', { repairType: 'blocks' });
  assert.equal(launched.status, 200);
  const errs = await waitFor('the lost block in ListBlockErrors', async () => {
    const r = await call('ListBlockErrors', undefined, 'node=self');
    const list = r.body.success[id];
    return list.some((e: any) => e.blockHash === hash) ? list : undefined;
  });
  const e = errs.find((x: any) => x.blockHash === hash);
  assert.equal(e.refcount, 1);
  assert.ok(e.errorCount >= 1);
  assert.equal(typeof e.nextTryInSecs, 'number');

  const info = (await call('GetBlockInfo', { blockHash: hash }, 'node=self')).body.success[id];
  assert.equal(info.refcount, 1);
  assert.equal(info.storedHere, false);
  assert.equal(info.versions.length, 1);
  assert.equal(info.versions[0].refDeleted, false);
  assert.ok(info.resyncError.errorCount >= 1);
  assert.equal((await call('GetBlockInfo', { blockHash: 'zz' }, 'node=self')).status, 400);

  const retry = await call('RetryBlockResync', { blockHashes: [hash] }, 'node=self');
  assert.deepEqual(retry.body.success[id], { count: 1 });
  assert.equal((await call('RetryBlockResync', {}, 'node=self')).status, 400);
  assert.equal((await call('RetryBlockResync', { blockHashes: Array(1001).fill(hash) }, 'node=self')).status, 400);

  const purged = await call('PurgeBlocks', [hash], 'node=self');
  assert.equal(purged.status, 200, JSON.stringify(purged.body));
  const p = purged.body.success[id];
  assert.equal(p.blocksPurged, 1);
  assert.equal(p.objectsDeleted, 1);
  assert.equal(p.blockRefsPurged, 1);
  await assert.rejects(s3.send(new GetObjectCommand({ Bucket: 'blocks', Key: 'lost' })), /NoSuchKey|does not exist/);
  const kept = await s3.send(new GetObjectCommand({ Bucket: 'blocks', Key: 'kept' }));
  assert.equal((await kept.Body!.transformToByteArray()).length, 100_000);
  // Nothing references the block any more: its next try finds nothing to do and clears the error.
  await call('RetryBlockResync', { all: true }, 'node=self');
  await waitFor('the error to clear', async () => {
    const list = (await call('ListBlockErrors', undefined, 'node=self')).body.success[id];
    return list.some((x: any) => x.blockHash === hash) ? undefined : true;
  });
});

test('InspectObject: every version of a key with its blocks', async () => {
  const s3 = s3Client(n);
  await s3.send(new CreateBucketCommand({ Bucket: 'inspect' }));
  await s3.send(new PutObjectCommand({ Bucket: 'inspect', Key: 'a/b.txt', Body: 'tiny', ContentType: 'text/plain' }));
  const big = randomBytes(70_000);
  await s3.send(new PutObjectCommand({ Bucket: 'inspect', Key: 'big', Body: big }));
  const bid = (await call('GetBucketInfo', undefined, 'globalAlias=inspect')).body.id;
  const small = await call('InspectObject', undefined, `bucketId=${bid}&key=${encodeURIComponent('a/b.txt')}`);
  assert.equal(small.status, 200, JSON.stringify(small.body));
  assert.equal(small.body.key, 'a/b.txt');
  const v = small.body.versions.at(-1);
  assert.equal(v.inline, true);
  assert.equal(v.size, 4);
  assert.ok(v.headers.some(([k, x]: [string, string]) => k === 'content-type' && x === 'text/plain'));
  const b = (await call('InspectObject', undefined, `bucketId=${bid}&key=big`)).body.versions.at(-1);
  assert.equal(b.inline, false);
  assert.equal(b.blocks.length, 1);
  assert.deepEqual({ ...b.blocks[0], partNumber: undefined }, { partNumber: undefined, offset: 0, hash: createHash('sha256').update(big).digest('hex'), size: 70_000 });
  assert.equal((await call('InspectObject', undefined, `bucketId=${bid}&key=nope`)).status, 404);
  assert.equal((await call('InspectObject', undefined, `key=big`)).status, 400);
  assert.equal((await call('InspectObject', undefined, `bucketId=${'0'.repeat(64)}&key=big`)).status, 404);
});

test('GetNodeStatistics and GetClusterStatistics', async () => {
  const ns = await call('GetNodeStatistics', undefined, 'node=*');
  assert.equal(ns.status, 200);
  const s = ns.body.success[id];
  assert.match(s.freeform, /Table stats:/);
  assert.match(s.freeform, /resync queue length: \d+/);
  assert.ok(s.tables.some((t: any) => t.name === 'object' && t.entries >= 1));
  const cs = await call('GetClusterStatistics');
  assert.equal(cs.status, 200);
  assert.match(cs.body.freeform, /Buckets: \d+/);
  assert.ok(cs.body.buckets >= 1);
  assert.ok(cs.body.keys >= 1);
});

test('S3 refuses an expired key with 403 and resolves a key\'s local alias before global names', async () => {
  const k = await n.admin('CreateKey', { name: 'short-lived', allow: { createBucket: true } });
  const keyId = k.accessKeyId;
  const secret = (await n.admin('GetKeyInfo', undefined, `id=${keyId}&showSecretKey=true`)).secretAccessKey;
  const s3k = s3Client({ ...n, keyId, secret });
  await s3k.send(new CreateBucketCommand({ Bucket: 'short-lived-data' }));
  const bid = (await call('GetBucketInfo', undefined, 'globalAlias=short-lived-data')).body.id;
  assert.equal((await call('AddBucketAlias', { bucketId: bid, localAlias: 'mine', accessKeyId: keyId })).status, 200);
  await s3k.send(new PutObjectCommand({ Bucket: 'mine', Key: 'via-local', Body: 'hello' }));
  const got = await s3k.send(new GetObjectCommand({ Bucket: 'short-lived-data', Key: 'via-local' }));
  assert.equal(await got.Body!.transformToString(), 'hello');
  // Another key does not see this key's local name.
  await assert.rejects(s3Client(n).send(new GetObjectCommand({ Bucket: 'mine', Key: 'via-local' })), (e: any) => e.name === 'NoSuchBucket');

  assert.equal((await call('UpdateKey', { expiration: new Date(Date.now() - 1000).toISOString() }, `id=${keyId}`)).status, 200);
  await assert.rejects(s3k.send(new GetObjectCommand({ Bucket: 'short-lived-data', Key: 'via-local' })), (e: any) => {
    assert.equal(e.$metadata?.httpStatusCode, 403);
    assert.equal(e.name, 'AccessDenied');
    assert.match(e.message, /expired/);
    return true;
  });
  assert.equal((await call('UpdateKey', { neverExpires: true }, `id=${keyId}`)).status, 200);
  assert.equal(await (await s3k.send(new GetObjectCommand({ Bucket: 'mine', Key: 'via-local' }))).Body!.transformToString(), 'hello');
});

test('layout parameters: zone redundancy checked, a replication-factor change staged, previewed, refused until configs agree', async () => {
  assert.equal((await call('UpdateClusterLayout', { roles: [{ id, zone: 'dc1', capacity: 1e9 }] })).status, 200);
  assert.equal((await call('ApplyClusterLayout', { version: 1 })).status, 200);
  const tooMany = await call('UpdateClusterLayout', { parameters: { zoneRedundancy: { atLeast: 2 } } });
  assert.equal(tooMany.status, 400);
  assert.match(tooMany.body.message, /at least 2 zones cannot be met/);
  assert.equal((await call('UpdateClusterLayout', { parameters: { zoneRedundancy: { atLeast: 1 } } })).status, 200);
  assert.equal((await call('UpdateClusterLayout', { parameters: { replicationFactor: 0 } })).status, 400);
  assert.equal((await call('UpdateClusterLayout', { parameters: { colour: 'red' } })).status, 400);

  const staged = await call('UpdateClusterLayout', { parameters: { replicationFactor: 2 } });
  assert.equal(staged.status, 200, JSON.stringify(staged.body));
  assert.deepEqual(staged.body.stagedParameters, { zoneRedundancy: { atLeast: 1 }, replicationFactor: 2 });
  assert.equal(staged.body.parameters.replicationFactor, 1);
  const preview = await call('PreviewClusterLayoutChanges', {});
  assert.ok(preview.body.message.some((m: string) => /replication factor 1 → 2: apply needs every node to run with replication_factor = 2/.test(m)), preview.body.message.join('\n'));
  assert.equal(preview.body.newLayout.parameters.replicationFactor, 2);
  const refused = await call('ApplyClusterLayout', { version: 2 });
  assert.equal(refused.status, 409);
  assert.equal(refused.body.code, 'UnsafeReplicationFactor');
  assert.match(refused.body.message, /\(this node\) has replication_factor = 1/);
  const l = (await call('GetClusterLayout')).body;
  assert.equal(l.version, 1, 'nothing applied');
  assert.equal((await call('RevertClusterLayout', {})).body.stagedParameters, null);
});

test('ClusterLayoutSkipDeadNodes: a node that never comes back stops holding up the layout change', async () => {
  const one = await call('ClusterLayoutSkipDeadNodes', { version: 1, allowMissingData: false });
  assert.equal(one.status, 400);
  assert.match(one.body.message, /only one active layout version/);
  // A node that was given a role and then died for good (it never acknowledges version 2).
  const dead = 'de'.repeat(32);
  assert.equal((await call('UpdateClusterLayout', { roles: [{ id: dead, zone: 'dc2', capacity: 1e9 }] })).status, 200);
  assert.equal((await call('ApplyClusterLayout', { version: 2 })).status, 200);
  const h = (await call('GetClusterLayoutHistory')).body;
  assert.equal(h.versions.length, 2);
  assert.equal((await call('ClusterLayoutSkipDeadNodes', { version: 3, allowMissingData: false })).status, 400);
  assert.equal((await call('ClusterLayoutSkipDeadNodes', { version: 2 })).status, 400, 'allowMissingData is required');
  const ack = await call('ClusterLayoutSkipDeadNodes', { version: 2, allowMissingData: false });
  assert.equal(ack.status, 200, JSON.stringify(ack.body));
  assert.deepEqual(ack.body, { ackUpdated: [dead], syncUpdated: [] });
  const sync = await call('ClusterLayoutSkipDeadNodes', { version: 2, allowMissingData: true });
  assert.ok(sync.body.syncUpdated.includes(dead));
  const after = await waitFor('the old version to be dropped', async () => {
    const x = (await call('GetClusterLayoutHistory')).body;
    return x.versions.length === 1 ? x : undefined;
  });
  assert.equal(after.versions[0].version, 2);
});
