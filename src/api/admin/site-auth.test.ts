// The owner signature scheme of the site endpoints, as the CLI produces it and the node checks it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Store } from '../../model/store.ts';
import { createKey, deleteKey } from '../../model/bucket-ops.ts';
import type { AccessKey } from '../../model/key.ts';
import { sha256Hex } from '../../util/hash.ts';
import { authHeaders } from '../../cli/site-client.ts';
import { authenticate, MAX_SKEW_MS } from './site-auth.ts';
import { AdminError } from './http.ts';
import { SeenSignatures } from './seen-signatures.ts';

let dir: string;
let store: Store;
let key: AccessKey;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'grenier-siteauth-'));
  store = new Store({ metadataDir: join(dir, 'm'), dataDir: join(dir, 'd'), blockSize: 1024, compression: 'none', dataFsync: false, metadataFsync: false, inlineThreshold: 100 });
  key = await createKey(store, 'owner');
});
after(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

/** The node these tests' caches belong to, and the requests are signed for. */
const NODE = 'c'.repeat(64);
const fresh = (): SeenSignatures => new SeenSignatures(NODE);
const req = (method: string, url: string, headers: Record<string, string>): IncomingMessage => ({ method, url, headers }) as unknown as IncomingMessage;
const status = (fn: () => unknown): number => {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof AdminError, String(e));
    return e.status;
  }
  return 200;
};

test('admin token and owner signatures are accepted; the body hash is handed back for checking', () => {
  assert.deepEqual(authenticate(req('GET', '/v2/ListSites', { authorization: 'Bearer tok' }), store, 'tok', fresh()).principal, { admin: true });
  const body = sha256Hex('{"maxSize":1}');
  const h = authHeaders({ kind: 'owner', keyId: key.id, secret: key.secret }, 'POST', '/v2/UpdateSiteQuota?site=a.org', body, NODE);
  const r = authenticate(req('POST', '/v2/UpdateSiteQuota?site=a.org', h), store, 'tok', fresh());
  assert.deepEqual(r, { principal: { admin: false, keyId: key.id }, bodySha256: body });
});

test('anything changed after signing, a wrong secret, skew or missing headers is refused', async () => {
  const owner = { kind: 'owner' as const, keyId: key.id, secret: key.secret };
  const body = sha256Hex('');
  const h = authHeaders(owner, 'GET', '/v2/GetSiteInfo?site=a.org', body, NODE);
  assert.equal(status(() => authenticate(req('GET', '/v2/GetSiteInfo?site=b.org', h), store, 'tok', fresh())), 403, 'other query');
  assert.equal(status(() => authenticate(req('POST', '/v2/GetSiteInfo?site=a.org', h), store, 'tok', fresh())), 403, 'other method');
  assert.equal(status(() => authenticate(req('GET', '/v2/GetSiteInfo?site=a.org', { ...h, 'x-grenier-content-sha256': sha256Hex('x') }), store, 'tok', fresh())), 403, 'other body');
  const wrong = authHeaders({ ...owner, secret: '0'.repeat(64) }, 'GET', '/v2/GetSiteInfo?site=a.org', body, NODE);
  assert.equal(status(() => authenticate(req('GET', '/v2/GetSiteInfo?site=a.org', wrong), store, 'tok', fresh())), 403, 'wrong secret');
  const old = authHeaders(owner, 'GET', '/v2/X', body, NODE, new Date(Date.now() - MAX_SKEW_MS - 60_000));
  assert.equal(status(() => authenticate(req('GET', '/v2/X', old), store, 'tok', fresh())), 403, 'too old');
  assert.equal(status(() => authenticate(req('GET', '/v2/X', { 'x-grenier-key': key.id }), store, 'tok', fresh())), 401, 'incomplete');
  assert.equal(status(() => authenticate(req('GET', '/v2/X', {}), store, 'tok', fresh())), 401, 'nothing');
  assert.equal(status(() => authenticate(req('GET', '/v2/X', { authorization: 'Bearer nope' }), store, 'tok', fresh())), 403, 'bad token');
  assert.equal(status(() => authenticate(req('GET', '/v2/X', { authorization: 'Bearer tok' }), store, undefined, fresh())), 403, 'admin token disabled');
  assert.equal(status(() => authenticate(req('GET', '/v2/X', authHeaders(owner, 'GET', '/v2/X', body, NODE)), store, 'tok', fresh())), 200);
  await deleteKey(store, key);
  assert.equal(status(() => authenticate(req('GET', '/v2/X', authHeaders(owner, 'GET', '/v2/X', body, NODE)), store, 'tok', fresh())), 403, 'deleted key');
});

test('an owner signature is accepted once per cache; the admin token is not a signature', async () => {
  const seen = new SeenSignatures(NODE);
  const k = await createKey(store, 'owner2');
  const owner = { kind: 'owner' as const, keyId: k.id, secret: k.secret };
  const h = authHeaders(owner, 'POST', '/v2/RollbackSite?site=a.org', sha256Hex(''), NODE);
  const r = req('POST', '/v2/RollbackSite?site=a.org', h);
  assert.equal(status(() => authenticate(r, store, 'tok', seen)), 200);
  assert.equal(status(() => authenticate(r, store, 'tok', seen)), 403, 'replay');
  assert.throws(() => authenticate(r, store, 'tok', seen), (e: AdminError) => e.code === 'RequestReplayed');
  // A forged signature is not remembered: it cannot block the genuine one.
  const h2 = authHeaders(owner, 'POST', '/v2/RollbackSite?site=b.org', sha256Hex(''), NODE);
  assert.equal(status(() => authenticate(req('POST', '/v2/RollbackSite?site=b.org', { ...h2, 'x-grenier-signature': '0'.repeat(64) }), store, 'tok', seen)), 403);
  assert.equal(status(() => authenticate(req('POST', '/v2/RollbackSite?site=b.org', h2), store, 'tok', seen)), 200);
  const admin = req('GET', '/v2/ListSites', { authorization: 'Bearer tok' });
  assert.equal(status(() => authenticate(admin, store, 'tok', seen)), 200);
  assert.equal(status(() => authenticate(admin, store, 'tok', seen)), 200);
});

test('the seen-signature cache is bounded: full of valid signatures it refuses (503), and forgets expired ones', () => {
  const seen = new SeenSignatures(NODE, 3);
  const now = 1_000_000;
  for (const s of ['a', 'b', 'c']) assert.equal(seen.admit(s.repeat(64), now + 1000, now), true);
  assert.equal(seen.admit('a'.repeat(64), now + 1000, now), false);
  assert.throws(() => seen.admit('d'.repeat(64), now + 1000, now), (e: AdminError) => e.status === 503 && e.code === 'SlowDown');
  assert.equal(seen.size, 3);
  // Past their window the old ones are swept and new ones fit again.
  assert.equal(seen.admit('d'.repeat(64), now + 5000, now + 2000), true);
  assert.equal(seen.size, 1);
});

test('an over-long X-Grenier-Key is refused before any lookup', () => {
  const h = { ...authHeaders({ kind: 'owner', keyId: key.id, secret: key.secret }, 'GET', '/v2/X', sha256Hex(''), NODE), 'x-grenier-key': 'GK' + 'a'.repeat(5000) };
  assert.equal(status(() => authenticate(req('GET', '/v2/X', h), store, 'tok', fresh())), 400);
});

test('an owner signature is bound to the node it names: another node refuses the same capture', async () => {
  const k = await createKey(store, 'owner3');
  const owner = { kind: 'owner' as const, keyId: k.id, secret: k.secret };
  const nodeA = 'a'.repeat(64);
  const nodeB = 'b'.repeat(64);
  const h = authHeaders(owner, 'POST', '/v2/RollbackSite?site=a.org', sha256Hex(''), nodeA);
  const r = req('POST', '/v2/RollbackSite?site=a.org', h);
  // Each node has its own cache of accepted signatures: the capture is fresh to node B.
  assert.throws(() => authenticate(r, store, 'tok', new SeenSignatures(nodeB)), (e: AdminError) => e.status === 403 && e.code === 'WrongNode');
  // Naming node B in the header does not help: the signature covers node A.
  assert.throws(() => authenticate(req('POST', '/v2/RollbackSite?site=a.org', { ...h, 'x-grenier-node': nodeB }), store, 'tok', new SeenSignatures(nodeB)), (e: AdminError) => e.status === 403);
  assert.equal(status(() => authenticate(r, store, 'tok', new SeenSignatures(nodeA))), 200);
  // A request that names no node is refused, saying what to sign.
  const { 'x-grenier-node': _, ...bare } = h;
  assert.throws(() => authenticate(req('POST', '/v2/RollbackSite?site=a.org', bare), store, 'tok', new SeenSignatures(nodeA)), (e: AdminError) => e.status === 401 && /X-Grenier-Node/.test(e.message));
});
