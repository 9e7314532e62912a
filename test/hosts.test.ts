// Who may serve a host, against a real node: a tenant key with create-bucket rights can neither
// take a host an admin gave (a site, a route) nor get a bare domain served or certified; its
// website bucket is reachable only as <bucket>.<s3_web.root_domain>.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { S3Client, CreateBucketCommand, PutBucketWebsiteCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { startNode, s3Client, freePort, type TestNode } from './lib/node.ts';

let node: TestNode;
let s3: S3Client;
const WEB_ROOT = 'web.localhost';

before(async () => {
  node = await startNode({ extraConfig: 'metadata_fsync = false' });
  s3 = s3Client(node);
});
after(async () => {
  s3?.destroy();
  await node?.stop();
});

/** GET / on the web listener with an exact Host header: status and body. */
function web(host: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const u = new URL(node.webUrl);
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

async function check(domain: string): Promise<number> {
  const r = await fetch(`${node.adminUrl}/check?domain=${encodeURIComponent(domain)}`, { signal: AbortSignal.timeout(5000) });
  await r.arrayBuffer();
  return r.status;
}

/** IssueCertificate through the admin API (this node runs no front: an eligible host is queued). */
async function issue(host: string): Promise<{ status: number; body: any }> {
  const r = await fetch(`${node.adminUrl}/v2/IssueCertificate`, {
    method: 'POST',
    headers: { authorization: `Bearer ${node.adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ host }),
    signal: AbortSignal.timeout(5000),
  });
  return { status: r.status, body: await r.json() };
}

async function s3Error(p: Promise<unknown>): Promise<{ status?: number; code?: string }> {
  try {
    await p;
  } catch (e: any) {
    return { status: e.$metadata?.httpStatusCode, code: e.Code ?? e.name };
  }
  return {};
}

async function tenantSite(bucket: string, page: string): Promise<void> {
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  await s3.send(new PutBucketWebsiteCommand({ Bucket: bucket, WebsiteConfiguration: { IndexDocument: { Suffix: 'index.html' } } }));
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'index.html', Body: page, ContentType: 'text/html' }));
}

test('a tenant cannot create a bucket named under a root domain (the victim.example.org.<root_domain> takeover)', async () => {
  // The victim: a site an admin created, with a page.
  await node.admin('CreateSite', { domain: 'victim.example.org', owner: node.keyId });
  await s3.send(new PutObjectCommand({ Bucket: 'victim.example.org', Key: 'index.html', Body: 'victim page', ContentType: 'text/html' }));
  for (const name of [`victim.example.org.${WEB_ROOT}`, WEB_ROOT, 'x.s3.localhost', 's3.localhost']) {
    const e = await s3Error(s3.send(new CreateBucketCommand({ Bucket: name })));
    assert.deepEqual(e, { status: 400, code: 'InvalidBucketName' }, name);
  }
  // The victim's site is still what its hosts serve.
  for (const host of ['victim.example.org', `victim.example.org.${WEB_ROOT}`]) {
    const r = await web(host);
    assert.equal(r.status, 200, host);
    assert.equal(r.text, 'victim page', host);
  }
  assert.equal(await check('victim.example.org'), 200);
  assert.equal(await check(`victim.example.org.${WEB_ROOT}`), 200);
});

test('a tenant website bucket named www.google.com is not served, checked or certified as www.google.com', async () => {
  await tenantSite('www.google.com', 'not google');
  const bare = await web('www.google.com');
  assert.equal(bare.status, 404, 'the bare host is not the tenant’s');
  assert.ok(!bare.text.includes('not google'));
  assert.equal(await check('www.google.com'), 400);
  const i = await issue('www.google.com');
  assert.equal(i.status, 400, JSON.stringify(i.body));
  assert.equal(i.body.code, 'NotEligible');
  // It is still a website, as <bucket>.<root_domain>.
  const sub = await web(`www.google.com.${WEB_ROOT}`);
  assert.equal(sub.status, 200);
  assert.equal(sub.text, 'not google');
  assert.equal(await check(`www.google.com.${WEB_ROOT}`), 200);
});

test('a tenant cannot take a route host or the site a website route names', async () => {
  await node.admin('AddRoute', { host: 'app.example.net', upstreams: ['http://127.0.0.1:9'] });
  await node.admin('AddRoute', { host: 'www.shop.example', site: 'shop.example' });
  for (const name of ['app.example.net', 'shop.example']) {
    const e = await s3Error(s3.send(new CreateBucketCommand({ Bucket: name })));
    assert.deepEqual(e, { status: 409, code: 'BucketAlreadyExists' }, name);
  }
});

test('admin-given hosts still work: a bucket the admin API created and aliased, with website access', async () => {
  const b = await node.admin('CreateBucket', { globalAlias: 'docs.example.com' });
  await node.admin('AddBucketAlias', { bucketId: b.id, globalAlias: 'manual.example.com' });
  await node.admin('UpdateBucket', { websiteAccess: { enabled: true, indexDocument: 'index.html' } }, `id=${b.id}`);
  await node.admin('AllowBucketKey', { bucketId: b.id, accessKeyId: node.keyId, permissions: { read: true, write: true } });
  await s3.send(new PutObjectCommand({ Bucket: 'docs.example.com', Key: 'index.html', Body: 'docs', ContentType: 'text/html' }));
  for (const host of ['docs.example.com', 'manual.example.com', `docs.example.com.${WEB_ROOT}`]) {
    const r = await web(host);
    assert.equal(r.status, 200, host);
    assert.equal(r.text, 'docs', host);
    assert.equal(await check(host), 200, host);
  }
  const i = await issue('docs.example.com');
  assert.equal(i.status, 200, JSON.stringify(i.body));
  assert.equal(i.body.queued, true);
});

test('front.cert_orders_per_hour_max: past it IssueCertificate queues the order for a later pass instead of asking the CA', { timeout: 60_000 }, async () => {
  const [httpPort, httpsPort] = [await freePort(), await freePort()];
  const n = await startNode({
    extraConfig: [
      'metadata_fsync = false',
      '[front]',
      `http_bind_addr = "127.0.0.1:${httpPort}"`,
      `https_bind_addr = "127.0.0.1:${httpsPort}"`,
      // Nothing listens there: the one allowed order fails at the CA.
      'acme_directory = "https://127.0.0.1:9/directory"',
      'auto_certificates = false',
      'cert_orders_per_hour_max = 1',
    ].join('\n'),
  });
  const call = async (host: string) => {
    const r = await fetch(`${n.adminUrl}/v2/IssueCertificate`, {
      method: 'POST',
      headers: { authorization: `Bearer ${n.adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ host }),
      signal: AbortSignal.timeout(30_000),
    });
    return { status: r.status, body: (await r.json()) as any };
  };
  try {
    for (const d of ['one.example.com', 'two.example.com']) await n.admin('CreateSite', { domain: d, owner: n.keyId });
    const first = await call('one.example.com');
    assert.equal(first.status, 502, JSON.stringify(first.body));
    assert.equal(first.body.code, 'AcmeFailed');
    const second = await call('two.example.com');
    assert.equal(second.status, 200, JSON.stringify(second.body));
    assert.equal(second.body.queued, true);
    assert.match(second.body.message, /cert_orders_per_hour_max/);
    const listed = (await n.admin('ListCertificates')) as any[];
    const two = listed.find((c) => c.host === 'two.example.com');
    assert.ok(two?.requested, 'recorded as requested, for the worker');
    assert.equal(two.lastAttempt, null, 'no failed attempt, no back-off');
  } finally {
    await n.stop();
  }
});
