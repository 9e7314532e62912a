// Scoped admin tokens and the audit log over the admin API: scope, expiry, deletion, no
// escalation, the secret never stored, every action recorded with who did it, pages of events,
// and the per-node bound of the log.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ADMIN_TOKEN, startTestAdmin, type TestAdmin } from '../src/api/admin/testkit.ts';
import { AUDIT_EVENTS_PER_NODE_MAX, AuditLog, listAudit } from '../src/model/audit.ts';

let t: TestAdmin;
before(async () => {
  t = await startTestAdmin();
});
after(async () => {
  await t.close();
});

async function call(method: string, path: string, token: string | null, body?: unknown): Promise<{ status: number; body: any }> {
  const headers: Record<string, string> = {};
  if (token !== null) headers.authorization = `Bearer ${token}`;
  const r = await fetch(t.url + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : undefined };
}
const get = (path: string, token: string | null = ADMIN_TOKEN) => call('GET', path, token);
const post = (path: string, body: unknown = {}, token: string | null = ADMIN_TOKEN) => call('POST', path, token, body);

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const n of readdirSync(dir)) {
    const p = join(dir, n);
    if (statSync(p).isDirectory()) out.push(...filesUnder(p));
    else out.push(p);
  }
  return out;
}

test('a scoped token calls what its scope names and nothing else; the DB holds only its hash', async () => {
  const c = await post('/v2/CreateAdminToken', { name: 'alice', scope: ['ListBuckets', 'CreateBucket'] });
  assert.equal(c.status, 200, JSON.stringify(c.body));
  const secret: string = c.body.secretToken;
  assert.match(secret, /^[0-9a-f]{24}\./);
  assert.equal(c.body.id, secret.split('.')[0]);
  assert.deepEqual(c.body.scope, ['CreateBucket', 'ListBuckets']);
  assert.equal(c.body.expiration, null);

  assert.equal((await get('/v2/ListBuckets', secret)).status, 200);
  assert.equal((await post('/v2/CreateBucket', { globalAlias: 'alice-bucket' }, secret)).status, 200);
  const refused = await get('/v2/ListKeys', secret);
  assert.equal(refused.status, 403);
  assert.match(refused.body.message, /admin token "alice" may not call ListKeys \(its scope: CreateBucket, ListBuckets\)/);
  // Whoever holds a token may ask what it is.
  const me = await get('/v2/GetCurrentAdminTokenInfo', secret);
  assert.equal(me.status, 200);
  assert.equal(me.body.name, 'alice');
  assert.equal(me.body.secretToken, undefined);
  // A wrong secret with a real id is refused like any wrong token.
  const forged = `${c.body.id}.${'A'.repeat(43)}`;
  assert.equal((await get('/v2/ListBuckets', forged)).status, 403);

  // The secret part is nowhere in the metadata files; its hash is in the table.
  const needle = Buffer.from(secret.split('.')[1]!);
  for (const f of filesUnder(t.config.metadata_dir)) assert.equal(readFileSync(f).indexOf(needle), -1, `secret found in ${f}`);
  const entry = t.store.adminTokens.local.get('admin_token', c.body.id)!;
  assert.match(entry.hash, /^[0-9a-f]{64}$/);
  assert.ok(!JSON.stringify(entry).includes(secret.split('.')[1]!));

  const list = await get('/v2/ListAdminTokens');
  assert.ok(list.body.some((x: any) => x.id === c.body.id && x.name === 'alice'));
  assert.ok(list.body.every((x: any) => x.secretToken === undefined));
});

test('a scoped token works on the site endpoints within its scope only', async () => {
  const c = await post('/v2/CreateAdminToken', { name: 'sites-reader', scope: ['ListSites'] });
  const secret: string = c.body.secretToken;
  const ok = await get('/v2/ListSites', secret);
  assert.equal(ok.status, 200, JSON.stringify(ok.body));
  const refused = await get('/v2/ListQuotaRequests', secret);
  assert.equal(refused.status, 403);
  assert.match(refused.body.message, /may not call ListQuotaRequests/);
  assert.equal((await get('/v2/ListSites', `${c.body.id}.wrong`)).status, 403);
});

test('an expired token is refused with its expiry; an updated one works again; a deleted one is refused', async () => {
  const c = await post('/v2/CreateAdminToken', { name: 'bob', scope: ['*'], expiration: new Date(Date.now() + 800).toISOString() });
  assert.equal(c.status, 200, JSON.stringify(c.body));
  const secret: string = c.body.secretToken;
  assert.equal((await get('/v2/ListKeys', secret)).status, 200);
  await new Promise((r) => setTimeout(r, 900));
  const expired = await get('/v2/ListKeys', secret);
  assert.equal(expired.status, 403);
  assert.match(expired.body.message, /admin token "bob" expired at \d{4}-/);
  const info = await get(`/v2/GetAdminTokenInfo?search=bob`);
  assert.equal(info.body.expired, true);

  const u = await post(`/v2/UpdateAdminToken?id=${c.body.id}`, { neverExpires: true, name: 'bob2' });
  assert.equal(u.status, 200, JSON.stringify(u.body));
  assert.equal(u.body.expiration, null);
  assert.equal((await get('/v2/ListKeys', secret)).status, 200);

  assert.equal((await post(`/v2/DeleteAdminToken?id=${c.body.id}`)).status, 200);
  const gone = await get('/v2/ListKeys', secret);
  assert.equal(gone.status, 403);
  assert.equal(gone.body.message, 'invalid token');
});

test('a token cannot grant or edit more than its own scope; bad scopes and dates are 400', async () => {
  const m = await post('/v2/CreateAdminToken', { name: 'manager', scope: ['CreateAdminToken', 'ListBuckets'] });
  const secret: string = m.body.secretToken;
  const wider = await post('/v2/CreateAdminToken', { name: 'evil', scope: ['*'] }, secret);
  assert.equal(wider.status, 403);
  assert.match(wider.body.message, /does not include \*/);
  const ok = await post('/v2/CreateAdminToken', { name: 'reader', scope: ['ListBuckets'] }, secret);
  assert.equal(ok.status, 200, JSON.stringify(ok.body));
  assert.equal((await post('/v2/CreateAdminToken', { scope: ['NoSuchOp'] })).status, 400);
  assert.equal((await post('/v2/CreateAdminToken', { scope: 'ListBuckets' })).status, 400);
  assert.equal((await post('/v2/CreateAdminToken', { expiration: 'tomorrow' })).status, 400);
  assert.equal((await post('/v2/CreateAdminToken', { expiration: '2001-01-01T00:00:00Z' })).status, 400);
  assert.equal((await post('/v2/CreateAdminToken', { name: 'x'.repeat(129) })).status, 400);
  // The master token is listed and answers for itself.
  const me = await get('/v2/GetCurrentAdminTokenInfo');
  assert.deepEqual(me.body.scope, ['*']);
  assert.equal(me.body.id, null);
});

test('admin actions are in the audit log with who, what, node and status; reads and anonymous calls are not', async () => {
  const c = await post('/v2/CreateAdminToken', { name: 'carol', scope: ['CreateBucket', 'ListAuditEvents'] });
  const secret: string = c.body.secretToken;
  assert.equal((await post('/v2/CreateBucket', { globalAlias: 'carol-bucket' }, secret)).status, 200);
  assert.equal((await post('/v2/CreateBucket', { globalAlias: 'carol-bucket' }, secret)).status, 409);
  assert.equal((await post('/v2/DeleteBucket?id=x', {}, secret)).status, 403); // out of scope: recorded too
  assert.equal((await post('/v2/CreateBucket', { globalAlias: 'anon' }, null)).status, 401);
  assert.equal((await post('/v2/CreateBucket', { globalAlias: 'anon' }, 'wrong')).status, 403);
  await get('/v2/ListBuckets');

  const r = await get('/v2/ListAuditEvents?who=carol', secret);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const evs = r.body.events;
  assert.deepEqual(
    evs.map((e: any) => [e.op, e.status, e.target]),
    [
      ['DeleteBucket', 403, 'id=x'],
      ['CreateBucket', 409, 'globalAlias=carol-bucket'],
      ['CreateBucket', 200, 'globalAlias=carol-bucket'],
    ],
  );
  for (const e of evs) {
    assert.equal(e.who, `token carol (${c.body.id})`);
    assert.equal(e.node, 'a'.repeat(64));
    assert.ok(Math.abs(Date.parse(e.time) - Date.now()) < 60_000);
  }
  const all = await get('/v2/ListAuditEvents?limit=1000');
  assert.ok(!all.body.events.some((e: any) => e.target.includes('anon')), 'unauthenticated calls are not recorded');
  assert.ok(!all.body.events.some((e: any) => e.op === 'ListBuckets'), 'reads are not recorded');
  assert.ok(all.body.events.some((e: any) => e.op === 'CreateAdminToken' && e.who === 'admin_token' && e.target === 'name=carol'));
  assert.ok(!JSON.stringify(all.body).includes(secret), 'no token in the log');

  // Pages: newest first, each strictly older than the cursor, together the whole list.
  const seen: string[] = [];
  let after: string | null = null;
  do {
    const p: { status: number; body: any } = await get(`/v2/ListAuditEvents?limit=2${after ? `&after=${after}` : ''}`);
    assert.equal(p.status, 200);
    assert.ok(p.body.events.length <= 2);
    for (const e of p.body.events) seen.push(`${e.node}.${e.seq}`);
    after = p.body.next;
  } while (after);
  assert.deepEqual(seen, all.body.events.map((e: any) => `${e.node}.${e.seq}`));
  assert.equal((await get('/v2/ListAuditEvents?after=garbage')).status, 400);
  assert.equal((await get('/v2/ListAuditEvents?limit=0')).status, 400);
  assert.equal((await get('/v2/ListAuditEvents?limit=1001')).status, 400);
});

test(`the audit log keeps the last ${AUDIT_EVENTS_PER_NODE_MAX} events of a node`, async () => {
  const node = 'b'.repeat(64);
  const l = new AuditLog(t.store.db, t.store.audit, node);
  const n = AUDIT_EVENTS_PER_NODE_MAX + 25;
  for (let i = 0; i < n; i++) l.record({ who: 'w', op: 'Op', target: `n=${i}`, status: 200, time: 1_000_000 + i });
  const mine = [...t.store.audit.local.range('audit', { prefix: `${node}:` })];
  assert.equal(mine.length, AUDIT_EVENTS_PER_NODE_MAX);
  const page = listAudit(t.store.audit, { limit: 1, filter: (e) => e.node === node });
  assert.equal(page.events[0]!.target, `n=${n - 1}`);
  const oldest = mine.reduce((a, e) => (e.seq < a.seq ? e : a));
  assert.equal(oldest.target, 'n=25');
  // A new log object for the same node (a restart) continues the numbering.
  const again = new AuditLog(t.store.db, t.store.audit, node).record({ who: 'w', op: 'Op', target: 'after restart', status: 200 });
  assert.equal(again.seq, n);
});
