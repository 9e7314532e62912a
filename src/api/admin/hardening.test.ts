// Adversarial requests to the admin API: bodies refused before they are read, connections closed
// after an error on an unread body, own-property operation names, bounded inputs, replays refused.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import fc from 'fast-check';
import { createKey } from '../../model/bucket-ops.ts';
import type { AccessKey } from '../../model/key.ts';
import { sha256Hex } from '../../util/hash.ts';
import { authHeaders } from '../../cli/site-client.ts';
import { ADMIN_TOKEN, startTestAdmin, type TestAdmin } from './testkit.ts';
import { LINGER_MS } from '../../util/lingering-close.ts';

let t: TestAdmin;
let owner: AccessKey;
let stranger: AccessKey;
const SITE = 'own.example.org';

before(async () => {
  t = await startTestAdmin();
  owner = await createKey(t.store, 'owner');
  stranger = await createKey(t.store, 'stranger');
  const r = await fetch(`${t.url}/v2/CreateSite`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    body: JSON.stringify({ domain: SITE, owner: owner.id }),
  });
  assert.equal(r.status, 200, await r.text());
});
after(async () => {
  await t.close();
});

interface RawReply {
  status: number;
  text: string;
  /** The server closed the connection within the wait. */
  closed: boolean;
}

/** Sends a request head (and optionally the start of a body) on a raw socket, never the rest,
 *  and collects what comes back until the server closes or `waitMs` passes. */
function raw(method: string, target: string, headers: Record<string, string>, bodyStart: Buffer | string = '', base = t.url, waitMs = 2000): Promise<RawReply> {
  const { port } = new URL(base);
  return new Promise((resolve) => {
    const s = connect(Number(port), '127.0.0.1');
    const chunks: Buffer[] = [];
    let done = false;
    const finish = (closed: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      s.destroy();
      const text = Buffer.concat(chunks).toString('latin1');
      const m = /^HTTP\/1\.1 (\d{3})/.exec(text);
      resolve({ status: m ? Number(m[1]) : 0, text, closed });
    };
    const timer = setTimeout(() => finish(false), waitMs);
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('error', () => finish(true));
    s.on('close', () => finish(true));
    const head = [`${method} ${target} HTTP/1.1`, 'host: 127.0.0.1', ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`), '', ''].join('\r\n');
    s.write(head);
    if (bodyStart.length) s.write(bodyStart);
  });
}

const signed = (key: AccessKey, method: string, target: string, bodySha = sha256Hex('')) =>
  authHeaders({ kind: 'owner', keyId: key.id, secret: key.secret }, method, target, bodySha, 'a'.repeat(64) /* testkit's node id */);

const jsonOf = (r: RawReply): any => JSON.parse(r.text.slice(r.text.indexOf('\r\n\r\n') + 4));

test('a key owning nothing is refused CheckSiteBlobs before its 32 MiB body is read', async () => {
  const target = '/v2/CheckSiteBlobs?site=x';
  // The claimed hash is of a body never sent: the answer must not need it.
  const h = { ...signed(stranger, 'POST', target, sha256Hex('{}')), 'content-type': 'application/json', 'content-length': String(32 * 1024 * 1024) };
  const started = Date.now();
  const r = await raw('POST', target, h, '{"sha256":[');
  assert.equal(r.status, 403, r.text);
  assert.equal(jsonOf(r).code, 'Forbidden');
  assert.ok(r.closed, 'the connection is closed rather than the body drained');
  assert.ok(Date.now() - started < 1500, `answered in ${Date.now() - started} ms`);
});

test("an owner's JSON body over json_body_bytes_max is 413 from its declared length, before any byte", async () => {
  const target = `/v2/CheckSiteBlobs?site=${SITE}`;
  const len = t.config.limits.json_body_bytes_max + 1;
  const h = { ...signed(owner, 'POST', target, '0'.repeat(64)), 'content-type': 'application/json', 'content-length': String(len) };
  const r = await raw('POST', target, h);
  assert.equal(r.status, 413, r.text);
  assert.equal(jsonOf(r).code, 'PayloadTooLarge');
  assert.match(jsonOf(r).message, /1048576 bytes/);
  assert.ok(r.closed);
});

test('a body without a declared length is cut at json_body_bytes_max and the connection closed', async () => {
  const piece = Buffer.alloc(256 * 1024, 0x20);
  const chunk = Buffer.concat([Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from('\r\n')]);
  // Five chunks (1.25 MiB) and no terminating chunk: the sender would go on.
  const r = await raw('POST', '/v2/CreateKey', { authorization: `Bearer ${ADMIN_TOKEN}`, 'transfer-encoding': 'chunked' }, Buffer.concat(Array(5).fill(chunk)));
  assert.equal(r.status, 413, r.text);
  assert.ok(r.closed, 'the rest of the body is not drained');
});

test("an unauthenticated request's body is not drained: the error answer closes the connection", async () => {
  for (const target of ['/v2/CreateKey', `/v2/PublishSiteDeploy?site=${SITE}`, '/v2/Nope']) {
    const r = await raw('POST', target, { 'content-length': String(10 ** 9) }, '0123456789');
    assert.ok(r.status === 401 || r.status === 404, `${target}: ${r.text}`);
    assert.ok(r.closed, `${target}: connection left open to drain 1 GB`);
  }
});

test('a half-open client that keeps sending after the error answer is cut within the linger bound', async () => {
  const { port } = new URL(t.url);
  const r = await new Promise<{ text: string; closedAfterMs: number | null }>((resolve) => {
    const started = Date.now();
    const s = connect({ port: Number(port), host: '127.0.0.1', allowHalfOpen: true });
    const chunks: Buffer[] = [];
    const drip = setInterval(() => s.writable && s.write(Buffer.alloc(64 * 1024, 0x20)), 50);
    const done = (closed: boolean) => {
      clearInterval(drip);
      clearTimeout(deadline);
      s.destroy();
      resolve({ text: Buffer.concat(chunks).toString('latin1'), closedAfterMs: closed ? Date.now() - started : null });
    };
    const deadline = setTimeout(() => done(false), LINGER_MS + 2000);
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('error', () => done(true));
    s.on('close', () => done(true));
    s.write(`POST /v2/CreateKey HTTP/1.1\r\nhost: x\r\ncontent-length: ${10 ** 12}\r\n\r\n`);
  });
  assert.match(r.text, /^HTTP\/1\.1 401/);
  assert.match(r.text, /connection: close/i);
  assert.ok(r.closedAfterMs !== null, 'the server kept reading a 10^12-byte body');
});

test('operation names resolve to own properties only: inherited ones are 404', async () => {
  for (const name of ['constructor', 'toString', 'hasOwnProperty', 'valueOf', 'isPrototypeOf', 'propertyIsEnumerable', 'toLocaleString']) {
    for (const method of ['GET', 'POST']) {
      const r = await fetch(`${t.url}/v2/${name}`, { method, headers: { authorization: `Bearer ${ADMIN_TOKEN}` }, body: method === 'POST' ? '{}' : undefined });
      const body = (await r.json()) as any;
      assert.equal(r.status, 404, `${method} ${name}: ${JSON.stringify(body)}`);
      assert.equal(body.code, 'NoSuchEndpoint');
    }
  }
});

test('/check?domain= over 253 characters (5000) is a 400 from its length, before any lookup', async () => {
  for (const n of [250, 5000]) {
    const r = await fetch(`${t.url}/check?domain=${'a'.repeat(n)}.org`);
    const body = (await r.json()) as any;
    assert.equal(r.status, 400);
    assert.equal(body.code, 'InvalidRequest');
    assert.match(body.message, /at most 253 characters|longer than 1024 bytes/);
  }
});

/** Every place an id, name or host enters: [method, path with ~ for the long value, JSON body with ~]. */
const INPUTS: [string, string, string?][] = [
  ['GET', '/v2/GetKeyInfo?id=~'],
  ['GET', '/v2/GetKeyInfo?search=~'],
  ['GET', '/v2/GetBucketInfo?id=~'],
  ['GET', '/v2/GetBucketInfo?globalAlias=~'],
  ['GET', '/v2/GetBucketInfo?search=~'],
  ['POST', '/v2/CreateKey', '{"name":"~"}'],
  ['POST', '/v2/ImportKey', '{"accessKeyId":"GK~","secretAccessKey":"~"}'],
  ['POST', '/v2/UpdateKey?id=~', '{}'],
  ['POST', '/v2/DeleteKey?id=~', '{}'],
  ['POST', '/v2/CreateBucket', '{"globalAlias":"~"}'],
  ['POST', '/v2/UpdateBucket?id=~', '{}'],
  ['POST', '/v2/DeleteBucket?id=~', '{}'],
  ['POST', '/v2/AddBucketAlias', '{"bucketId":"~","globalAlias":"~"}'],
  ['POST', '/v2/RemoveBucketAlias', '{"bucketId":"~","globalAlias":"~"}'],
  ['POST', '/v2/AllowBucketKey', '{"bucketId":"~","accessKeyId":"~","permissions":{"read":true}}'],
  ['POST', '/v2/DenyBucketKey', '{"bucketId":"~","accessKeyId":"~","permissions":{"read":true}}'],
  ['GET', '/v2/GetSiteInfo?site=~'],
  ['POST', '/v2/CreateSite', '{"domain":"~","owner":"~"}'],
  ['POST', '/v2/DeleteSite?site=~', '{}'],
  ['GET', '/v2/GetSiteDeploy?site=~'],
  ['GET', `/v2/GetSiteDeploy?site=${SITE}&id=~`],
  ['POST', '/v2/ApproveQuotaRequest?id=~', '{}'],
  ['POST', '/v2/DenyQuotaRequest?id=~', '{}'],
  ['POST', '/v2/CreateQuotaRequest?site=~', '{"bytes":1}'],
  ['POST', '/v2/AddRoute', '{"host":"~","upstreams":["127.0.0.1:1"]}'],
  ['POST', '/v2/DeleteRoute?host=~', '{}'],
  ['POST', '/v2/IssueCertificate', '{"host":"~"}'],
  ['GET', '/v2/GetCertificateStatus?host=~'],
];

test('over-long ids, names, hosts and query values are 400 with a JSON error (were 500 or 404)', async () => {
  await fc.assert(
    fc.asyncProperty(fc.constantFrom(...INPUTS), fc.integer({ min: 1025, max: 2000 }), fc.constantFrom('a', 'é', '%', '.'), async ([method, path, body], n, ch) => {
      const long = ch === '%' ? '%41'.repeat(n) : ch.repeat(n);
      const r = await fetch(t.url + path.replaceAll('~', long), {
        method,
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
        body: body?.replaceAll('~', ch === '%' ? 'A'.repeat(n) : long),
      });
      const text = await r.text();
      assert.equal(r.status, 400, `${method} ${path} (${n} × ${ch}): ${r.status} ${text.slice(0, 200)}`);
      assert.equal(typeof JSON.parse(text).code, 'string');
    }),
    { numRuns: 120 },
  );
});

test('an over-long X-Grenier-Key is a 400 from its length, before any key lookup', async () => {
  const h = { ...signed(owner, 'GET', `/v2/GetSiteInfo?site=${SITE}`), 'x-grenier-key': 'GK' + 'a'.repeat(5000) };
  const r = await fetch(`${t.url}/v2/GetSiteInfo?site=${SITE}`, { headers: h });
  assert.equal(r.status, 400, await r.text());
});

test('an owner-signed request is accepted once: the same signature again is refused', async () => {
  const target = `/v2/UpdateSiteQuota?site=${SITE}`;
  const body = JSON.stringify({ maxSize: 20_000_000 });
  const h = { ...signed(owner, 'POST', target, sha256Hex(body)), 'content-type': 'application/json' };
  const first = await fetch(t.url + target, { method: 'POST', headers: h, body });
  assert.equal(first.status, 200, await first.text());
  const again = await fetch(t.url + target, { method: 'POST', headers: h, body });
  const err = (await again.json()) as any;
  assert.equal(again.status, 403, JSON.stringify(err));
  assert.equal(err.code, 'RequestReplayed');
  assert.match(err.message, /sign.*again/i);
  // Reads are refused the same way (a replay must not even learn the answer).
  const info = signed(owner, 'GET', `/v2/GetSiteInfo?site=${SITE}`);
  assert.equal((await fetch(`${t.url}/v2/GetSiteInfo?site=${SITE}`, { headers: info })).status, 200);
  assert.equal((await fetch(`${t.url}/v2/GetSiteInfo?site=${SITE}`, { headers: info })).status, 403);
  // A fresh signature of the same request is fine.
  await new Promise((r) => setTimeout(r, 2));
  const fresh = { ...signed(owner, 'POST', target, sha256Hex(body)), 'content-type': 'application/json' };
  assert.equal((await fetch(t.url + target, { method: 'POST', headers: fresh, body })).status, 200);
});

test('bodies held at once are bounded (json_bodies_in_flight_bytes_max): past it 503 before reading, freed when answered', async () => {
  const small = await startTestAdmin({}, '[limits]\njson_bodies_in_flight_bytes_max = 2500000');
  try {
    const { port } = new URL(small.url);
    // Two senders declare 1 MiB each and then stall: 2 MiB of the 2.5 MB budget is taken.
    const stalled = [0, 1].map(() => {
      const s = connect(Number(port), '127.0.0.1');
      s.write(`POST /v2/CreateKey HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${ADMIN_TOKEN}\r\ncontent-length: 1048576\r\n\r\n{`);
      return s;
    });
    await new Promise((r) => setTimeout(r, 200));
    const r = await raw('POST', '/v2/CreateKey', { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-length': '1048576' }, '{', small.url);
    assert.equal(r.status, 503, r.text);
    assert.equal(jsonOf(r).code, 'SlowDown');
    assert.match(r.text, /retry-after: 5/i);
    assert.ok(r.closed);
    for (const s of stalled) s.destroy();
    await new Promise((r) => setTimeout(r, 200));
    const ok = await fetch(`${small.url}/v2/CreateKey`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN_TOKEN}` }, body: JSON.stringify({ name: 'x'.repeat(1000) }) });
    assert.equal(ok.status, 200, await ok.text());
  } finally {
    await small.close();
  }
});

test('the node still serves normal requests after all of the above', async () => {
  const r = await fetch(`${t.url}/v2/ListKeys`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  assert.equal(r.status, 200);
});
