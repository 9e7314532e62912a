// The web listener's host cache follows changes made on another node: two real nodes, a host served
// (so cached) by node B, then the website switched off, an alias added and one removed through node
// A's admin API; B sees each change once replication brings it, without a restart.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { s3Client, startNode, type TestNode } from './lib/node.ts';

let a: TestNode;
let b: TestNode;

before(async () => {
  const rpcSecret = randomBytes(32).toString('hex');
  [a, b] = await Promise.all([
    startNode({ rpcSecret, replicationFactor: 2, webConfig: 'micro_cache_secs = 0' }),
    startNode({ rpcSecret, replicationFactor: 2, webConfig: 'micro_cache_secs = 0', createKey: false }),
  ]);
  const ids = await Promise.all([a, b].map(async (n) => Object.keys((await n.admin('GetNodeInfo', undefined, 'node=self')).success)[0]!));
  const r = await a.admin('ConnectClusterNodes', [`${ids[1]}@127.0.0.1:${b.rpcPort}`]);
  assert.equal(r[0].success, true, JSON.stringify(r));
  await a.admin('UpdateClusterLayout', { roles: ids.map((id, i) => ({ id, zone: `z${i}`, capacity: 1e9 })) });
  await a.admin('ApplyClusterLayout', { version: 1 });
});
after(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
});

function web(n: TestNode, host: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const u = new URL(n.webUrl);
    const req = request({ host: u.hostname, port: u.port, path: '/', headers: { host }, agent: false, timeout: 5000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, text: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('web request timed out')));
    req.on('error', reject);
    req.end();
  });
}

/** Polls B until the host answers `status` (replication is asynchronous but quick). */
async function until(host: string, status: number, text?: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  let last = { status: 0, text: '' };
  while (Date.now() < deadline) {
    last = await web(b, host);
    if (last.status === status && (text === undefined || last.text === text)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`node B: ${host} answered ${last.status} ${last.text.slice(0, 80)} (want ${status}) after 15 s`);
}

test('node B drops its cached answers for changes made through node A', async () => {
  const bucket = (await a.admin('CreateBucket', { globalAlias: 'blog' })) as { id: string };
  await a.admin('UpdateBucket', { websiteAccess: { enabled: true, indexDocument: 'index.html' } }, `id=${bucket.id}`);
  await a.admin('AllowBucketKey', { bucketId: bucket.id, accessKeyId: a.keyId, permissions: { read: true, write: true, owner: true } });
  const s3 = s3Client(a);
  try {
    await s3.send(new PutObjectCommand({ Bucket: 'blog', Key: 'index.html', Body: 'hello', ContentType: 'text/html' }));
  } finally {
    s3.destroy();
  }
  await until('blog.web.localhost', 200, 'hello');
  // Cached by B now (as a site and as none): each change below must reach its cache.
  assert.equal((await web(b, 'journal.web.localhost')).status, 404);

  await a.admin('UpdateBucket', { websiteAccess: { enabled: false } }, `id=${bucket.id}`);
  await until('blog.web.localhost', 404);
  await a.admin('UpdateBucket', { websiteAccess: { enabled: true, indexDocument: 'index.html' } }, `id=${bucket.id}`);
  await until('blog.web.localhost', 200, 'hello');

  await a.admin('AddBucketAlias', { bucketId: bucket.id, globalAlias: 'journal' });
  await until('journal.web.localhost', 200, 'hello');
  await a.admin('RemoveBucketAlias', { bucketId: bucket.id, globalAlias: 'blog' });
  await until('blog.web.localhost', 404);
  assert.equal((await web(b, 'journal.web.localhost')).text, 'hello');
});
