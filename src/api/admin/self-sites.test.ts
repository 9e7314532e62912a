// Self-service sites through the admin API: an admin gives a key an allowance (UpdateKey sitesMax),
// the owner creates <name>.<root> itself up to it (then 403), hostile names are refused, and a
// custom domain waits for an admin's ApproveQuotaRequest.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { sha256Hex } from '../../util/hash.ts';
import { authHeaders } from '../../cli/site-client.ts';
import { startTestAdmin, ADMIN_TOKEN, type TestAdmin } from './testkit.ts';

let t: TestAdmin;
const NODE = 'a'.repeat(64);

before(async () => {
  t = await startTestAdmin({}, '[s3_web]\nbind_addr = "127.0.0.1:0"\nroot_domain = ".web.test"\n[s3_api]\napi_bind_addr = "127.0.0.1:0"\nroot_domain = ".s3.test"\n');
});
after(() => t.close());

type Res = { status: number; body: any };

async function admin(op: string, body?: unknown, q = ''): Promise<Res> {
  const r = await fetch(`${t.url}/v2/${op}${q}`, { method: body === undefined ? 'GET' : 'POST', headers: { authorization: `Bearer ${ADMIN_TOKEN}` }, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : null };
}

async function owner(k: { id: string; secret: string }, op: string, body?: unknown, q = ''): Promise<Res> {
  const raw = body === undefined ? '' : JSON.stringify(body);
  const method = body === undefined ? 'GET' : 'POST';
  const target = `/v2/${op}${q}`;
  const h = authHeaders({ kind: 'owner', keyId: k.id, secret: k.secret }, method, target, sha256Hex(raw), NODE);
  const r = await fetch(t.url + target, { method, headers: h, body: body === undefined ? undefined : raw });
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : null };
}

async function newKey(name: string): Promise<{ id: string; secret: string }> {
  const k = await admin('CreateKey', { name });
  assert.equal(k.status, 200);
  return { id: k.body.accessKeyId, secret: k.body.secretAccessKey };
}

test('a key creates sites under the root domain up to its allowance, then a clear 403', async () => {
  const k = await newKey('alice');
  const none = await owner(k, 'CreateSite', { domain: 'alice' });
  assert.equal(none.status, 403);
  assert.equal(none.body.code, 'SiteAllowanceExceeded');
  assert.match(none.body.message, /may not create sites.*allow-sites/);

  const up = await admin('UpdateKey', { sitesMax: 2 }, `?id=${k.id}`);
  assert.equal(up.status, 200);
  assert.equal(up.body.sitesMax, 2);
  assert.equal((await admin('UpdateKey', { sitesMax: -1 }, `?id=${k.id}`)).status, 400);
  assert.equal((await admin('UpdateKey', { sitesMax: '2' }, `?id=${k.id}`)).status, 400);

  const a = await owner(k, 'CreateSite', { domain: 'alice' });
  assert.equal(a.status, 200, JSON.stringify(a.body));
  assert.equal(a.body.domain, 'alice.web.test');
  assert.deepEqual(a.body.owners, [k.id]);
  assert.equal(a.body.quotas.maxSize, 50_000_000);
  // An owner (with room left) may not pick another owner or quota.
  const other = await owner(k, 'CreateSite', { domain: 'x', owner: 'bob' });
  assert.equal(other.status, 400);

  const b = await owner(k, 'CreateSite', { domain: 'Alice-Blog.web.test' });
  assert.equal(b.status, 200, JSON.stringify(b.body));
  assert.equal(b.body.domain, 'alice-blog.web.test');

  const c = await owner(k, 'CreateSite', { domain: 'third' });
  assert.equal(c.status, 403);
  assert.equal(c.body.code, 'SiteAllowanceExceeded');
  assert.match(c.body.message, /may create 2 sites and has 2/);

  // Their sites are theirs: listed, and the allowance shows in GetKeyInfo.
  const list = await owner(k, 'ListSites');
  assert.deepEqual(list.body.map((s: any) => s.domain).sort(), ['alice-blog.web.test', 'alice.web.test']);
  assert.equal((await admin('GetKeyInfo', undefined, `?id=${k.id}`)).body.ownSites, 2);

  // Deleting one (an admin) frees a place in the allowance.
  assert.equal((await admin('DeleteSite', {}, '?site=alice-blog.web.test')).status, 200);
  assert.equal((await owner(k, 'CreateSite', { domain: 'again' })).status, 200);
});

test('hostile and reserved names are refused with 400/409, nothing created', async () => {
  const k = await newKey('mallory');
  assert.equal((await admin('UpdateKey', { sitesMax: 50 }, `?id=${k.id}`)).status, 200);
  await admin('CreateBucket', { globalAlias: 'taken' });
  const cases: [string, number][] = [
    ['<script>alert(1)</script>', 400],
    ['a.b.web.test', 400], // two labels under the root
    ['web.test', 400], // the root itself
    ['x.s3.test', 400], // under the S3 root
    ['..web.test', 400],
    ['a'.repeat(70), 400],
    ['1.2.3.4', 400],
    ['taken', 409], // a bucket already answers taken.web.test
    ['', 400],
  ];
  for (const [name, status] of cases) {
    const r = await owner(k, 'CreateSite', { domain: name });
    assert.equal(r.status, status, `${name}: ${JSON.stringify(r.body)}`);
  }
  assert.equal((await owner(k, 'ListSites')).body.length, 0);
});

test('a custom domain needs an admin: the owner files a request, the approval creates the site', async () => {
  const k = await newKey('carol');
  assert.equal((await owner(k, 'CreateSiteRequest', { domain: 'carol.example.org', reason: 'my club' })).status, 403, 'no allowance, no request');
  assert.equal((await admin('UpdateKey', { sitesMax: 1 }, `?id=${k.id}`)).status, 200);

  const direct = await owner(k, 'CreateSite', { domain: 'carol.example.org' });
  assert.equal(direct.status, 403);
  assert.equal(direct.body.code, 'DomainApprovalNeeded');
  assert.match(direct.body.message, /CreateSiteRequest/);

  assert.equal((await owner(k, 'CreateSiteRequest', { domain: 'carol.example.org' })).status, 400, 'a reason is needed');
  const req = await owner(k, 'CreateSiteRequest', { domain: 'carol.example.org', reason: 'my club' });
  assert.equal(req.status, 200, JSON.stringify(req.body));
  assert.equal(req.body.kind, 'site');
  assert.equal(req.body.state, 'pending');
  const mine = await owner(k, 'ListQuotaRequests');
  assert.deepEqual(mine.body.map((r: any) => [r.site, r.kind, r.state]), [['carol.example.org', 'site', 'pending']]);
  assert.equal((await owner(k, 'ApproveQuotaRequest', {}, `?id=${req.body.id}`)).status, 403, 'owners do not approve');

  const ok = await admin('ApproveQuotaRequest', {}, `?id=${req.body.id}`);
  assert.equal(ok.status, 200, JSON.stringify(ok.body));
  assert.equal(ok.body.state, 'approved');
  const info = await owner(k, 'GetSiteInfo', undefined, '?site=carol.example.org');
  assert.equal(info.status, 200);
  assert.deepEqual(info.body.owners, [k.id]);

  // The allowance (1) is now used: a second approval is refused and leaves its request pending.
  const req2 = await owner(k, 'CreateSiteRequest', { domain: 'other.example.org', reason: 'x' });
  assert.equal(req2.status, 403, 'no place left: no request');
  assert.equal((await admin('UpdateKey', { sitesMax: 2 }, `?id=${k.id}`)).status, 200);
  const req3 = await owner(k, 'CreateSiteRequest', { domain: 'other.example.org', reason: 'x' });
  assert.equal(req3.status, 200);
  assert.equal((await admin('UpdateKey', { sitesMax: 1 }, `?id=${k.id}`)).status, 200);
  const refused = await admin('ApproveQuotaRequest', {}, `?id=${req3.body.id}`);
  assert.equal(refused.status, 403);
  assert.equal(refused.body.code, 'SiteAllowanceExceeded');
  const still = (await admin('ListQuotaRequests', undefined, '?state=pending')).body.find((r: any) => r.id === req3.body.id);
  assert.equal(still.state, 'pending');
});

test('concurrent CreateSite calls by one owner never pass its allowance', async () => {
  const k = await newKey('racer');
  assert.equal((await admin('UpdateKey', { sitesMax: 2 }, `?id=${k.id}`)).status, 200);
  const all = await Promise.all(Array.from({ length: 6 }, (_, i) => owner(k, 'CreateSite', { domain: `race-${i}` })));
  const ok = all.filter((r) => r.status === 200);
  assert.equal(ok.length, 2, all.map((r) => `${r.status} ${r.body?.code ?? ''}`).join(', '));
  for (const r of all) if (r.status !== 200) assert.equal(r.body.code, 'SiteAllowanceExceeded');
  assert.equal((await owner(k, 'ListSites')).body.length, 2);
  assert.equal((await admin('GetKeyInfo', undefined, `?id=${k.id}`)).body.ownSites, 2);
});
