// The object browser's server side: URLs presigned on the node verify with the S3 API's own
// verifier (any key name), the /console/s3/ proxy forwards a presigned request without the admin
// token and serves answers sandboxed, and bad requests are refused with a JSON error.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { startTestAdmin, type TestAdmin } from '../src/api/admin/testkit.ts';
import { authenticate } from '../src/api/s3/auth/index.ts';
import { presignUrl } from '../src/api/admin/console/presign.ts';

const ADMIN = 'admin-token-for-tests';
let t: TestAdmin;
let upstream: Server;
let seen: { method: string; url: string; headers: IncomingHttpHeaders; body: string }[] = [];
let keyId: string;
let secret: string;

before(async () => {
  upstream = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      seen.push({ method: req.method!, url: req.url!, headers: req.headers, body });
      res.writeHead(200, { 'content-type': 'text/html', 'set-cookie': 'x=1', 'content-security-policy': "default-src *" });
      res.end('<script>alert(1)</script>');
    });
  });
  await new Promise<void>((ok) => upstream.listen(0, '127.0.0.1', ok));
  const { port } = upstream.address() as AddressInfo;
  t = await startTestAdmin({ admin: ADMIN }, `[s3_api]\napi_bind_addr = "127.0.0.1:${port}"\ns3_region = "garage"`);
  const k = await admin('CreateKey', { name: 'browser' });
  keyId = k.accessKeyId;
  secret = k.secretAccessKey;
});
after(async () => {
  await t.close();
  upstream.close();
});

async function admin(op: string, body: unknown): Promise<any> {
  const r = await fetch(`${t.url}/v2/${op}`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const j = (await r.json()) as { message: string; code: string };
  if (!r.ok) throw Object.assign(new Error(j.message), { status: r.status, code: j.code });
  return j;
}

function verifies(url: string, method: string, s = secret): boolean {
  const u = new URL(url);
  try {
    authenticate({ method, rawPath: u.pathname, rawQuery: u.search.slice(1), headers: { host: u.host } }, (id) => (id === keyId ? s : undefined), 'garage', Date.now());
    return true;
  } catch {
    return false;
  }
}

test('a URL presigned on the node verifies with the S3 API verifier, for any key name', () => {
  fc.assert(
    fc.property(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 }), fc.constantFrom('GET', 'PUT', 'DELETE', 'HEAD'), (key, method) => {
      // A "." or ".." segment is rewritten by every URL parser: refused (below), not presigned.
      if (key.split('/').some((seg) => seg === '.' || seg === '..')) {
        assert.throws(() => presignUrl({ method: method as 'GET', endpoint: 'http://127.0.0.1:3900', bucket: 'b-1', key, accessKeyId: keyId, secret, region: 'garage', expiresSecs: 600 }), /path segment/);
        return;
      }
      const url = presignUrl({ method: method as 'GET', endpoint: 'http://127.0.0.1:3900', bucket: 'b-1', key, accessKeyId: keyId, secret, region: 'garage', expiresSecs: 600 });
      assert.ok(verifies(url, method), url);
      assert.ok(!verifies(url, method, 'f'.repeat(64)), 'another secret does not verify');
    }),
    { numRuns: 200 },
  );
  assert.throws(() => presignUrl({ method: 'GET', endpoint: 'http://h', bucket: 'b', key: 'k', accessKeyId: keyId, secret, region: 'garage', expiresSecs: 7 * 86400 + 1 }), /7 days/);
  for (const key of ['.', '..', 'a/./b', 'a/../b', '../etc']) assert.throws(() => presignUrl({ method: 'GET', endpoint: 'http://h', bucket: 'b', key, accessKeyId: keyId, secret, region: 'garage', expiresSecs: 60 }), /path segment/, key);
});

test('PresignObjectUrl: a share link for up to 7 days, a safe endpoint only', async () => {
  await assert.rejects(admin('PresignObjectUrl', { bucket: 'b', key: 'a/../b', accessKeyId: keyId, expiresSecs: 60 }), (e: { status?: number }) => e.status === 400);
  const r = await admin('PresignObjectUrl', { bucket: 'b', key: 'a b/ü.txt', accessKeyId: keyId, expiresSecs: 7 * 86400, endpoint: 'https://s3.example.org' });
  assert.match(r.url, /^https:\/\/s3\.example\.org\/b\/a%20b\/%C3%BC\.txt\?/);
  assert.ok(verifies(r.url, 'GET'));
  assert.ok(!r.url.includes(secret));
  const def = await admin('PresignObjectUrl', { bucket: 'b', key: 'k', accessKeyId: keyId });
  assert.match(def.url, new RegExp(`^http://127\\.0\\.0\\.1:${(upstream.address() as AddressInfo).port}/b/k\\?`), 'default: the host the admin reached, on the S3 port');
  for (const [body, why] of [
    [{ bucket: 'b', key: 'k', accessKeyId: keyId, expiresSecs: 7 * 86400 + 1 }, /7 days/],
    [{ bucket: 'b', key: 'k', accessKeyId: keyId, endpoint: 'javascript:alert(1)' }, /http\(s\) origin/],
    [{ bucket: 'b', key: 'k', accessKeyId: keyId, endpoint: 'http://h/path' }, /http\(s\) origin/],
    [{ bucket: 'b', key: 'k', accessKeyId: keyId, method: 'POST' }, /"method"/],
    [{ bucket: 'b', key: 'k'.repeat(1025), accessKeyId: keyId }, /1024 bytes/],
    [{ bucket: 'b', key: 'k', accessKeyId: 'GK' + '0'.repeat(24) }, /no access key/],
  ] as const)
    await assert.rejects(admin('PresignObjectUrl', body), (e: Error) => why.test(e.message));
});

test('the /console/s3/ proxy presigns with the chosen key, drops the admin token, sandboxes the answer', async () => {
  seen = [];
  const put = await fetch(`${t.url}/console/s3/b/dir/f%20x.txt`, { method: 'PUT', headers: { authorization: `Bearer ${ADMIN}`, 'x-grenier-access-key': keyId, 'content-type': 'text/plain' }, body: 'hello' });
  assert.equal(put.status, 200);
  await put.text();
  const got = await fetch(`${t.url}/console/s3/b/dir/f%20x.txt`, { headers: { authorization: `Bearer ${ADMIN}`, 'x-grenier-access-key': keyId } });
  assert.equal(got.headers.get('content-security-policy'), "default-src 'none'; sandbox");
  assert.equal(got.headers.get('content-disposition'), 'attachment');
  assert.equal(got.headers.get('set-cookie'), null);
  await got.text();
  const list = await fetch(`${t.url}/console/s3/b?list-type=2&delimiter=%2F&prefix=dir%2F`, { headers: { authorization: `Bearer ${ADMIN}`, 'x-grenier-access-key': keyId } });
  await list.text();
  assert.equal(seen.length, 3);
  const [p, g, l] = seen;
  assert.equal(p!.method, 'PUT');
  assert.equal(p!.body, 'hello');
  assert.equal(p!.headers['content-type'], 'text/plain');
  for (const s of seen) {
    assert.equal(s.headers.authorization, undefined, 'the admin token is not forwarded');
    assert.equal(s.headers['x-grenier-access-key'], undefined);
    assert.ok(verifies(`http://${s.headers.host}${s.url}`, s.method), s.url);
  }
  assert.match(g!.url, /^\/b\/dir\/f%20x\.txt\?/);
  assert.match(l!.url, /^\/b\?.*delimiter=%2F.*list-type=2.*prefix=dir%2F/);
});

test('the proxy refuses without a token, unknown parameters and methods, unknown keys; a dead S3 listener is a 502', async () => {
  const h = { authorization: `Bearer ${ADMIN}`, 'x-grenier-access-key': keyId };
  const cases: [RequestInit & { path?: string }, number, RegExp][] = [
    [{ headers: { 'x-grenier-access-key': keyId } }, 401, /Authorization/],
    [{ headers: { authorization: 'Bearer wrong', 'x-grenier-access-key': keyId } }, 403, /invalid token/],
    [{ headers: { authorization: `Bearer ${ADMIN}` } }, 400, /x-grenier-access-key/],
    [{ headers: { ...h, 'x-grenier-access-key': 'GK' + '1'.repeat(24) } }, 404, /no access key/],
    [{ headers: h, path: '/console/s3/b/k?uploads=' }, 400, /"uploads" is not forwarded/],
    [{ headers: h, method: 'POST', body: 'x' }, 405, /not POST/],
    [{ headers: h, path: '/console/s3/' }, 400, /console\/s3\/<bucket>/],
  ];
  for (const [init, status, why] of cases) {
    const r = await fetch(t.url + (init.path ?? '/console/s3/b/k'), init);
    const j = (await r.json()) as { message: string; code: string };
    assert.equal(r.status, status, JSON.stringify(j));
    assert.match(j.message, why);
  }
  const port = (upstream.address() as AddressInfo).port;
  await new Promise((ok) => upstream.close(ok));
  try {
    const r = await fetch(`${t.url}/console/s3/b/k`, { headers: h });
    assert.equal(r.status, 502);
    assert.match(((await r.json()) as { message: string }).message, /cannot be reached/);
  } finally {
    await new Promise<void>((ok) => upstream.listen(port, '127.0.0.1', ok));
  }
});
