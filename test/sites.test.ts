// Sites end to end against a real `grenier server`: create, deploy a generated tree and read it
// back through the web listener by Host, redeploy one change, roll back, resume an interrupted
// deploy, owner self-service quota and the admin request flow, and the quota overshoot bound
// under concurrent PUTs.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { createServer, connect, type Server, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { startNode, s3Client, run, cleanEnv, describeRun, REPO_ROOT, type TestNode, type RunResult } from './lib/node.ts';

const MAIN = join(REPO_ROOT, 'src/cli/main.ts');
const SITE = 'blog.example.org';
let node: TestNode;
let scratch: string;

before(async () => {
  node = await startNode();
  scratch = mkdtempSync(join(tmpdir(), 'grenier-sites-'));
});
after(async () => {
  await node?.stop();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

type As = 'admin' | { key: string; secret: string };

function cliEnv(as: As, url = node.adminUrl): Record<string, string> {
  return cleanEnv({ GRENIER_ADMIN_URL: url, ...(as === 'admin' ? { GRENIER_ADMIN_TOKEN: node.adminToken } : {}) });
}

function cliArgs(args: string[], as: As): string[] {
  return [MAIN, ...args, ...(as === 'admin' ? [] : ['--key', as.key, '--secret', as.secret])];
}

function cli(args: string[], as: As = 'admin'): Promise<RunResult> {
  return run(process.execPath, cliArgs(args, as), { env: cliEnv(as), timeoutMs: 60_000, cwd: scratch });
}

async function json(args: string[], as: As = 'admin'): Promise<any> {
  const r = await cli([...args, '--json'], as);
  assert.equal(r.code, 0, describeRun(`grenier ${args.join(' ')}`, r));
  return JSON.parse(r.stdout);
}

const owner = (): As => ({ key: node.keyId, secret: node.secret });

/** GET through the web listener with the given Host. */
function web(host: string, path: string): Promise<{ status: number; body: string; headers: Record<string, string | string[] | undefined> }> {
  const u = new URL(node.webUrl);
  return new Promise((resolve, reject) => {
    const req = request({ host: u.hostname, port: u.port, path, headers: { host }, timeout: 10_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, body, headers: res.headers }));
    });
    req.once('timeout', () => req.destroy(new Error('web request timed out')));
    req.once('error', reject);
    req.end();
  });
}

function tree(dir: string, files: Record<string, string | Buffer>): string {
  rmSync(dir, { recursive: true, force: true });
  for (const [p, c] of Object.entries(files)) {
    mkdirSync(join(dir, p, '..'), { recursive: true });
    writeFileSync(join(dir, p), c);
  }
  return dir;
}

async function blobKeys(bucket: string): Promise<string[]> {
  const s3 = s3Client(node);
  const r = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: '.grenier/blobs/', MaxKeys: 1000 }));
  return (r.Contents ?? []).map((o) => o.Key!.slice('.grenier/blobs/'.length)).sort();
}

const v1 = {
  'index.html': '<h1>Home v1</h1>',
  'about/index.html': '<h1>About</h1>',
  'css/site.css': 'body { color: black }',
  '404.html': '<h1>Lost?</h1>',
  'img/photo.bin': randomBytes(300_000),
  'img/same-as-photo.bin': Buffer.alloc(0),
};
v1['img/same-as-photo.bin'] = v1['img/photo.bin'];

test('site create: website bucket named after the domain, owner key, 50 MB quota', async () => {
  const s = await json(['site', 'create', SITE, '--owner', node.keyId, '--error-document', '404.html']);
  assert.equal(s.domain, SITE);
  assert.deepEqual(s.owners, [node.keyId]);
  assert.equal(s.quotas.maxSize, 50_000_000);
  assert.deepEqual(s.website, { indexDocument: 'index.html', errorDocument: '404.html' });
  const list = await json(['site', 'list']);
  assert.deepEqual(list.map((x: any) => x.domain), [SITE]);
  const again = await cli(['site', 'create', SITE, '--owner', node.keyId]);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /already exists/);
  // Nothing deployed yet: the site exists and answers 404.
  assert.equal((await web(SITE, '/')).status, 404);
});

test('deploy a tree, serve it by Host, redeploy one change, roll back and forward', async () => {
  const dir = tree(join(scratch, 'public'), v1);
  const r1 = await json(['site', 'deploy', dir, '--site', SITE]);
  assert.equal(r1.files, 6);
  assert.equal(r1.uploaded, 5, 'two files share their content: one upload');
  assert.equal(r1.skipped, 1);
  assert.equal(r1.previous, null);

  const home = await web(SITE, '/');
  assert.equal(home.status, 200);
  assert.equal(home.body, '<h1>Home v1</h1>');
  assert.match(String(home.headers['content-type']), /^text\/html/);
  const css = await web(SITE, '/css/site.css');
  assert.equal(css.body, 'body { color: black }');
  assert.match(String(css.headers['content-type']), /^text\/css/);
  assert.equal((await web(SITE, '/about/')).body, '<h1>About</h1>');
  const dirRedirect = await web(SITE, '/about');
  assert.equal(dirRedirect.status, 302);
  assert.equal(dirRedirect.headers.location, '/about/');
  const missing = await web(SITE, '/nope.html');
  assert.equal(missing.status, 404);
  assert.equal(missing.body, '<h1>Lost?</h1>');
  // Storage names are not addresses: blobs and manifests are reachable only through a deploy.
  const [someBlob] = await blobKeys(SITE);
  assert.equal((await web(SITE, `/.grenier/blobs/${someBlob}`)).status, 404);
  // The web root_domain form serves the same site.
  assert.equal((await web(`${SITE}.web.localhost`, '/')).body, '<h1>Home v1</h1>');

  writeFileSync(join(dir, 'index.html'), '<h1>Home v2</h1>');
  const r2 = await json(['site', 'deploy', dir, '--site', SITE]);
  assert.deepEqual([r2.uploaded, r2.skipped, r2.bytes, r2.changed], [1, 5, Buffer.byteLength('<h1>Home v2</h1>'), 1]);
  assert.equal(r2.previous, r1.deploy);
  assert.equal((await web(SITE, '/')).body, '<h1>Home v2</h1>');

  const rb = await json(['site', 'rollback', SITE]);
  assert.deepEqual(rb, { current: r1.deploy, previous: r2.deploy });
  assert.equal((await web(SITE, '/')).body, '<h1>Home v1</h1>');
  await json(['site', 'rollback', SITE]);
  assert.equal((await web(SITE, '/')).body, '<h1>Home v2</h1>');

  const info = await json(['site', 'info', SITE]);
  assert.equal(info.currentDeploy.id, r2.deploy);
  assert.equal(info.previousDeploy.id, r1.deploy);
  assert.equal(info.currentDeploy.files, 6);
  const human = await cli(['site', 'info', SITE]);
  assert.match(human.stdout, /Size:\s+\[#*\.*\] \d+% .* \/ 50 MB/);
  assert.match(human.stdout, /Retained deploys:\s+2/);
});

/** A TCP proxy that delays the client → server direction to `bytesPerSec` per connection. */
function throttlingProxy(target: string, bytesPerSec: number): Promise<Server> {
  const u = new URL(target);
  const srv = createServer((client) => {
    const up = connect(Number(u.port), u.hostname);
    client.on('data', (c: Buffer) => {
      up.write(c);
      client.pause();
      setTimeout(() => client.resume(), (c.length / bytesPerSec) * 1000);
    });
    up.pipe(client);
    const close = () => {
      client.destroy();
      up.destroy();
    };
    client.once('error', close).once('close', close);
    up.once('error', close).once('close', close);
  });
  return new Promise((resolve) => srv.listen(0, '127.0.0.1', () => resolve(srv)));
}

test('an interrupted deploy resumes: the re-run uploads only what is still missing', async () => {
  const files: Record<string, Buffer> = {};
  for (let i = 0; i < 20; i++) files[`big/file-${String(i).padStart(2, '0')}.bin`] = randomBytes(200_000);
  files['index.html'] = Buffer.from('<h1>Home v3</h1>');
  const dir = tree(join(scratch, 'public3'), files);
  const before = new Set(await blobKeys(SITE));

  const proxy = await throttlingProxy(node.adminUrl, 400_000);
  const url = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
  const child = spawn(process.execPath, cliArgs(['site', 'deploy', dir, '--site', SITE, '--concurrency', '2'], 'admin'), {
    env: cliEnv('admin', url),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  try {
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no progress with 3 files done within 30 s; stderr: ${stderr}`)), 30_000);
      child.stderr!.on('data', (b: Buffer) => {
        stderr += b.toString();
        const done = [...stderr.matchAll(/\] (\d+)\/(\d+) files/g)].map((m) => Number(m[1]));
        if (done.some((n) => n >= 3)) {
          clearTimeout(t);
          resolve();
        }
      });
      child.once('exit', (code) => reject(new Error(`deploy exited (${code}) before it could be interrupted; stderr: ${stderr}`)));
    });
    child.kill('SIGKILL');
    await new Promise((r) => child.once('close', r));
  } finally {
    child.kill('SIGKILL');
    proxy.close();
  }
  assert.match(stderr, /\[[= >]+\] \d+\/21 files [\d.]+\/4\.0 MB/, 'plain progress lines when stderr is not a TTY');
  // A blob whose last bytes were already on their way when the client died still lands a moment
  // later (the node commits what it fully received): count once the set has stopped changing.
  let landed = (await blobKeys(SITE)).filter((k) => !before.has(k));
  for (let i = 0, stable = 0; i < 40 && stable < 3; i++) {
    await new Promise((r) => setTimeout(r, 250));
    const now = (await blobKeys(SITE)).filter((k) => !before.has(k));
    stable = now.length === landed.length ? stable + 1 : 0;
    landed = now;
  }
  assert.ok(landed.length >= 3 && landed.length < 21, `the killed deploy stored ${landed.length} of 21 blobs`);
  // Not published: the site still serves the previous deploy.
  assert.equal((await web(SITE, '/')).body, '<h1>Home v2</h1>');

  const r = await json(['site', 'deploy', dir, '--site', SITE]);
  assert.equal(r.uploaded, 21 - landed.length, 'only the blobs the interrupted run did not store are sent');
  assert.equal(r.skipped, landed.length);
  assert.equal((await web(SITE, '/')).body, '<h1>Home v3</h1>');
  assert.equal((await web(SITE, '/big/file-07.bin')).body.length > 0, true);

  // GC: only the current and previous deploys' contents remain, each stored once.
  const cur = await json(['site', 'info', SITE]);
  assert.ok(r.gc.blobs >= 1, `the oldest deploy's own contents were collected (gc ${JSON.stringify(r.gc)})`);
  const keep = new Set<string>();
  for (const id of [cur.currentDeploy.id, cur.previousDeploy.id]) {
    const m = await node.admin('GetSiteDeploy', undefined, `site=${SITE}&id=${id}`);
    for (const f of Object.values(m.files) as { sha256: string }[]) keep.add(f.sha256);
  }
  assert.deepEqual(await blobKeys(SITE), [...keep].sort());
  assert.equal(cur.retainedBytes, cur.usage.bytes - (await manifestBytes()), 'the quota counts exactly the retained contents (+ manifests)');
});

async function manifestBytes(): Promise<number> {
  const r = await s3Client(node).send(new ListObjectsV2Command({ Bucket: SITE, Prefix: '.grenier/deploys/' }));
  return (r.Contents ?? []).reduce((n, o) => n + (o.Size ?? 0), 0);
}

test('quota self-service: owners up to 200 MB alone, above that a request an admin approves', async () => {
  const ok = await json(['site', 'quota', SITE, '--max-size', '200MB'], owner());
  assert.equal(ok.quotas.maxSize, 200_000_000);

  const refused = await cli(['site', 'quota', SITE, '--max-size', '300MB'], owner());
  assert.equal(refused.code, 1, describeRun('quota 300MB', refused));
  assert.match(refused.stderr, /up to 200 MB.*--request 300MB/);

  const bad = await cli(['site', 'quota', SITE, '--max-size', '12XB'], owner());
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--max-size: invalid size "12XB"/);

  const req = await json(['site', 'quota', SITE, '--request', '300MB', '--reason', 'photo gallery'], owner());
  assert.equal(req.state, 'pending');
  assert.equal(req.bytes, 300_000_000);
  assert.equal(req.requester, node.keyId);

  // Another key neither sees the site nor the request, nor decides anything.
  const other = await node.admin('CreateKey', { name: 'mallory' });
  const mallory: As = { key: other.accessKeyId, secret: other.secretAccessKey };
  const peek = await cli(['site', 'info', SITE], mallory);
  assert.equal(peek.code, 1);
  assert.match(peek.stderr, /does not own a site/);
  assert.deepEqual(await json(['quota-request', 'list'], mallory), []);
  const self = await cli(['quota-request', 'approve', req.id], owner());
  assert.equal(self.code, 1);
  assert.match(self.stderr, /needs the admin token/);
  const forged = await cli(['site', 'info', SITE], { key: node.keyId, secret: '0'.repeat(64) });
  assert.match(forged.stderr, /signature is not valid/);

  assert.deepEqual((await json(['quota-request', 'list'], owner())).map((r: any) => r.id), [req.id]);
  const pending = await json(['quota-request', 'list', '--state', 'pending']);
  assert.deepEqual(pending.map((r: any) => r.id), [req.id]);
  const approved = await json(['quota-request', 'approve', req.id]);
  assert.equal(approved.state, 'approved');
  assert.equal((await json(['site', 'info', SITE], owner())).quotas.maxSize, 300_000_000);
  const twice = await cli(['quota-request', 'deny', req.id]);
  assert.equal(twice.code, 1);
  assert.match(twice.stderr, /already approved/);
  assert.deepEqual(await json(['quota-request', 'list', '--state', 'pending']), []);
  // Lowering below an approved size stays the owner's call.
  assert.equal((await json(['site', 'quota', SITE, '--max-size', '250MB'], owner())).quotas.maxSize, 250_000_000);
});

test('a deploy over quota is refused with how to raise it', async () => {
  await json(['site', 'create', 'small.example.org', '--owner', node.keyId, '--max-size', '100KB']);
  const dir = tree(join(scratch, 'public-big'), { 'index.html': 'hi', 'big.bin': randomBytes(150_000) });
  const r = await cli(['site', 'deploy', dir, '--site', 'small.example.org'], owner());
  assert.equal(r.code, 1, describeRun('deploy over quota', r));
  assert.match(r.stderr, /quota of small\.example\.org exceeded.*grenier site quota small\.example\.org/);
  assert.equal((await web('small.example.org', '/')).status, 404, 'nothing was published');
});

test('overshoot: 20 concurrent 1 MB PUTs against a 5 MB quota stay within the documented bound', async () => {
  const QUOTA = 5_000_000;
  const SIZE = 1_000_000;
  const N = 20;
  await json(['site', 'create', 'burst.example.org', '--owner', node.keyId, '--max-size', String(QUOTA)]);
  const s3 = s3Client(node);
  const body = randomBytes(SIZE);
  const results = await Promise.allSettled(
    Array.from({ length: N }, (_, i) => s3.send(new PutObjectCommand({ Bucket: 'burst.example.org', Key: `f${i}`, Body: body, ContentLength: SIZE }))),
  );
  const ok = results.filter((r) => r.status === 'fulfilled').length;
  const refusals = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
  for (const r of refusals) assert.equal((r.reason as { name?: string }).name, 'QuotaExceeded', String(r.reason));
  const usage = (await json(['site', 'info', 'burst.example.org'])).usage;
  // README "Quotas": with N writers at once, usage ≤ quota + (N − 1) × the largest object.
  const bound = QUOTA + (N - 1) * SIZE;
  assert.ok(usage.bytes <= bound, `usage ${usage.bytes} exceeds the documented bound ${bound}`);
  assert.equal(usage.bytes, ok * SIZE);
  assert.ok(ok >= 5, `at least the 5 objects that fit were accepted (${ok})`);
  console.log(`# overshoot: ${ok}/${N} concurrent PUTs accepted, usage ${usage.bytes} B for a ${QUOTA} B quota (overshoot ${Math.max(0, usage.bytes - QUOTA)} B, bound ${bound - QUOTA} B)`);

  // Once over (or at) the quota, every later PUT is refused and says how to raise it.
  const later = await s3.send(new PutObjectCommand({ Bucket: 'burst.example.org', Key: 'late', Body: body, ContentLength: SIZE })).then(
    () => undefined,
    (e: { name?: string; message?: string }) => e,
  );
  assert.equal(later?.name, 'QuotaExceeded');
  assert.match(String(later?.message), /grenier site quota .*--max-size/);
});

test('site delete removes the site, its files and its name', async () => {
  const no = await cli(['site', 'delete', 'burst.example.org']);
  assert.equal(no.code, 1);
  assert.match(no.stderr, /add --yes/);
  const asOwner = await cli(['site', 'delete', 'burst.example.org', '--yes'], owner());
  assert.match(asOwner.stderr, /needs the admin token/);
  await json(['site', 'delete', 'burst.example.org', '--yes']);
  assert.equal((await web('burst.example.org', '/f0')).status, 404);
  assert.ok(!(await json(['site', 'list'])).some((s: any) => s.domain === 'burst.example.org'));
  // The name is free again.
  await json(['site', 'create', 'burst.example.org', '--owner', node.keyId]);
});
