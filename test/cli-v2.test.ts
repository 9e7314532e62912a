// The CLI counterparts of Garage's admin v2 operations, as an operator runs them against two real
// nodes joined in a cluster: stats, json-api, key rename/expiration/delete-expired, bucket
// inspect-object, block list-errors/info/retry-now/purge, worker get/set on one node or all (*).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { REPO_ROOT, cleanEnv, describeRun, run, s3Client, startNode, type RunResult, type TestNode } from './lib/node.ts';

const MAIN = join(REPO_ROOT, 'src/cli/main.ts');
let a: TestNode;
let b: TestNode;
let idA: string;
let idB: string;

before(async () => {
  const rpcSecret = randomBytes(32).toString('hex');
  [a, b] = await Promise.all([startNode({ rpcSecret }), startNode({ rpcSecret, createKey: false })]);
  idA = Object.keys((await a.admin('GetNodeInfo', undefined, 'node=self')).success)[0]!;
  idB = Object.keys((await b.admin('GetNodeInfo', undefined, 'node=self')).success)[0]!;
  const r = await a.admin('ConnectClusterNodes', [`${idB}@127.0.0.1:${b.rpcPort}`]);
  assert.equal(r[0].success, true, JSON.stringify(r));
});
after(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
});

function cli(args: string[], n = a): Promise<RunResult> {
  return run(process.execPath, [MAIN, ...args], {
    env: cleanEnv({ GRENIER_ADMIN_URL: n.adminUrl, GRENIER_ADMIN_TOKEN: n.adminToken, GRENIER_CONFIG: undefined }),
    timeoutMs: 30_000,
  });
}

async function ok(args: string[]): Promise<string> {
  const r = await cli(args);
  assert.equal(r.code, 0, describeRun(`grenier ${args.join(' ')}`, r));
  return r.stdout;
}

test('stats: the cluster, then every node', async () => {
  const out = await ok(['stats']);
  assert.match(out, /Buckets: \d+/);
  assert.match(out, new RegExp(`======== Node ${idA.slice(0, 16)} ========`));
  assert.match(out, new RegExp(`======== Node ${idB.slice(0, 16)} ========`));
  assert.match(out, /Table stats:/);
  const j = JSON.parse(await ok(['stats', '--node', 'self', '--json']));
  assert.deepEqual(Object.keys(j.nodes.success), [idA]);
});

test('json-api calls any operation, with a body and a query', async () => {
  const info = JSON.parse(await ok(['json-api', 'GetNodeInfo?node=*']));
  assert.deepEqual(Object.keys(info.success).sort(), [idA, idB].sort());
  const k = JSON.parse(await ok(['json-api', 'CreateKey', '{"name":"from-json-api"}']));
  assert.equal(k.name, 'from-json-api');
  const ws = JSON.parse(await ok(['json-api', 'ListWorkers?node=*', '{}']));
  assert.deepEqual(Object.keys(ws.success).sort(), [idA, idB].sort());
  const bad = await cli(['json-api', 'NoSuchOperation']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /unknown operation "NoSuchOperation"/);
  assert.equal((await cli(['json-api', 'CreateKey', '{nope'])).code, 2);
});

test('key rename, set-expiration and delete-expired', async () => {
  const k = JSON.parse(await ok(['key', 'create', 'soon-gone', '--expires', '2999-01-01T00:00:00Z', '--json']));
  assert.equal(k.expired, false);
  assert.match(await ok(['key', 'rename', k.accessKeyId, 'renamed-key']), /renamed "soon-gone" → "renamed-key"/);
  assert.match(await ok(['key', 'set-expiration', 'renamed-key', '2001-01-01T00:00:00Z']), /already expired/);
  assert.match(await ok(['key', 'info', 'renamed-key']), /Expires:.*\(expired\)/);
  const keep = JSON.parse(await ok(['key', 'create', 'stays', '--json']));
  const refused = await cli(['key', 'delete-expired']);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, new RegExp(`${k.accessKeyId} \\("renamed-key"\\).*add --yes`));
  assert.match(await ok(['key', 'delete-expired', '--yes']), new RegExp(`Deleted 1 expired key\\(s\\): ${k.accessKeyId}`));
  const ids = JSON.parse(await ok(['key', 'list', '--json'])).map((x: any) => x.id);
  assert.ok(!ids.includes(k.accessKeyId) && ids.includes(keep.accessKeyId));
  assert.match(await ok(['key', 'delete-expired']), /No expired keys/);
  assert.match(await ok(['key', 'set-expiration', 'stays', 'never']), /never expires/);
});

test('bucket inspect-object and block list-errors / info / retry-now / purge', async () => {
  const s3 = s3Client(a);
  await s3.send(new CreateBucketCommand({ Bucket: 'cli-inspect' }));
  await s3.send(new PutObjectCommand({ Bucket: 'cli-inspect', Key: 'doc.bin', Body: randomBytes(50_000) }));
  const out = await ok(['bucket', 'inspect-object', 'cli-inspect', 'doc.bin']);
  assert.match(out, /1 version\(s\)/);
  assert.match(out, /\scomplete\s/);
  const v = JSON.parse(await ok(['bucket', 'inspect-object', 'cli-inspect', 'doc.bin', '--json'])).versions[0];
  const hash = v.blocks[0].hash;
  assert.match(await ok(['block', 'list-errors', '--node', '*']), /\(no block errors\)/);
  const info = await ok(['block', 'info', hash]);
  assert.match(info, /refcount 1/);
  assert.match(await ok(['block', 'retry-now', '--all']), /0 block\(s\) rescheduled/);
  assert.equal((await cli(['block', 'retry-now'])).code, 2);
  const refused = await cli(['block', 'purge', hash]);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /add --yes/);
  assert.match(await ok(['block', 'purge', hash, '--yes']), /1 block\(s\) purged: 1 object\(s\)/);
  // What is left is at most the aborted version (a tombstone until GC), never a complete one.
  const gone = await cli(['bucket', 'inspect-object', 'cli-inspect', 'doc.bin']);
  if (gone.code === 0) assert.doesNotMatch(gone.stdout, /\scomplete\s/);
  else assert.match(gone.stderr, /no object "doc\.bin"/);
});

test('worker get and set, on one node or on every node', async () => {
  const all = await ok(['worker', 'get', '--node', '*']);
  for (const id of [idA, idB]) assert.match(all, new RegExp(`${id.slice(0, 16)}\\s+resync-worker-count\\s+4`));
  const set = await ok(['worker', 'set', 'resync-tranquility', '2', '--node', '*']);
  for (const id of [idA, idB]) assert.match(set, new RegExp(`${id.slice(0, 16)}\\s+resync-tranquility\\s+2`));
  const onB = JSON.parse(await ok(['worker', 'get', 'resync-tranquility', '--node', idB.slice(0, 12), '--json']));
  assert.deepEqual(onB.success, { [idB]: { 'resync-tranquility': '2' } });
  const bad = await cli(['worker', 'set', 'resync-worker-count', '99']);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /from 1 to 16/);
});
