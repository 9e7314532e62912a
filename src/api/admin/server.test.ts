// Admin API end to end over HTTP: every endpoint, auth, bad input, not-found and conflicts.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN_TOKEN, METRICS_TOKEN, startTestAdmin, type TestAdmin } from './testkit.ts';

let t: TestAdmin;
before(async () => {
  t = await startTestAdmin();
});
after(async () => {
  await t.close();
});

interface Res {
  status: number;
  body: any;
  text: string;
  headers: Headers;
}

async function call(method: string, path: string, body?: unknown, token: string | null = ADMIN_TOKEN): Promise<Res> {
  const headers: Record<string, string> = {};
  if (token !== null) headers.authorization = `Bearer ${token}`;
  const r = await fetch(t.url + path, {
    method,
    headers,
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await r.text();
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  return { status: r.status, body: parsed, text, headers: r.headers };
}
const get = (path: string, token?: string | null) => call('GET', path, undefined, token);
const post = (path: string, body?: unknown, token?: string | null) => call('POST', path, body, token);

test('/health is open and says ok', async () => {
  const r = await get('/health', null);
  assert.equal(r.status, 200);
  assert.equal(r.text.trim(), 'ok');
});

test('admin endpoints need the bearer admin token', async () => {
  const none = await get('/v2/ListKeys', null);
  assert.equal(none.status, 401);
  assert.equal(none.body.code, 'Unauthorized');
  assert.equal(none.headers.get('www-authenticate'), 'Bearer');
  const wrong = await get('/v2/ListKeys', 'nope');
  assert.equal(wrong.status, 403);
  assert.equal(wrong.body.code, 'Forbidden');
  const metricsTokenIsNotAdmin = await get('/v2/ListKeys', METRICS_TOKEN);
  assert.equal(metricsTokenIsNotAdmin.status, 403);
  const basic = await call('GET', '/v2/ListKeys', undefined, null);
  assert.equal(basic.status, 401);
  assert.equal((await get('/v2/ListKeys')).status, 200);
});

test('unknown endpoints are 404, wrong methods 405', async () => {
  const r = await get('/v2/Nope');
  assert.equal(r.status, 404);
  assert.equal(r.body.code, 'NoSuchEndpoint');
  assert.equal((await get('/nope')).status, 404);
  const m = await post('/v2/ListKeys', {});
  assert.equal(m.status, 405);
  assert.equal(m.headers.get('allow'), 'GET');
  assert.equal((await get('/v2/CreateKey')).status, 405);
});

test('/metrics takes the metrics token and counts admin requests', async () => {
  assert.equal((await get('/metrics', null)).status, 401);
  assert.equal((await get('/metrics', 'wrong')).status, 403);
  const r = await get('/metrics', METRICS_TOKEN);
  assert.equal(r.status, 200);
  assert.match(r.text, /api_requests_total\{api="admin",op="ListKeys",status="200"\} \d+/);
  assert.match(r.text, /api_requests_total\{api="admin",op="ListKeys",status="401"\} \d+/);
  assert.match(r.text, /api_request_duration_seconds_bucket\{le="[^"]+",api="admin",op="ListKeys"\}/);
});

test('GetClusterStatus reports this node with its disks', async () => {
  const r = await get('/v2/GetClusterStatus');
  assert.equal(r.status, 200);
  assert.equal(r.body.layoutVersion, 0);
  assert.equal(r.body.nodes.length, 1);
  const n = r.body.nodes[0];
  assert.equal(n.id, 'a'.repeat(64));
  assert.equal(n.isUp, true);
  assert.equal(n.addr, t.config.rpc_bind_addr);
  assert.equal(n.role, null);
  for (const p of [n.dataPartition, n.metadataPartition]) {
    assert.ok(p.total > 0 && p.available >= 0 && p.available <= p.total, JSON.stringify(p));
  }
});

test('GetClusterHealth and GetNodeInfo', async () => {
  const h = await get('/v2/GetClusterHealth');
  assert.equal(h.status, 200);
  assert.equal(h.body.status, 'healthy');
  assert.equal(h.body.partitions, 256);
  const i = await get('/v2/GetNodeInfo?node=self');
  const info = i.body.success['a'.repeat(64)];
  assert.equal(info.grenierVersion, '0.1.0-test');
  assert.ok(info.uptimeSecs >= 5);
  const other = await get('/v2/GetNodeInfo?node=bbbb');
  assert.deepEqual(other.body.success, {});
  assert.ok(other.body.error.bbbb);
});

test('key lifecycle: create, list, info, update, import, delete', async () => {
  const c = await post('/v2/CreateKey', { name: 'alice', allow: { createBucket: true } });
  assert.equal(c.status, 200);
  assert.match(c.body.accessKeyId, /^GK[0-9a-f]{24}$/);
  assert.match(c.body.secretAccessKey, /^[0-9a-f]{64}$/);
  assert.equal(c.body.name, 'alice');
  assert.deepEqual(c.body.permissions, { createBucket: true });
  assert.deepEqual(c.body.buckets, []);
  const id: string = c.body.accessKeyId;

  const list = await get('/v2/ListKeys');
  assert.ok(list.body.some((k: { id: string; name: string }) => k.id === id && k.name === 'alice'));

  const info = await get(`/v2/GetKeyInfo?id=${id}`);
  assert.equal(info.body.name, 'alice');
  assert.equal(info.body.secretAccessKey, undefined, 'secret hidden unless asked');
  const withSecret = await get(`/v2/GetKeyInfo?id=${id}&showSecretKey=true`);
  assert.equal(withSecret.body.secretAccessKey, c.body.secretAccessKey);
  assert.equal((await get('/v2/GetKeyInfo?search=alice')).body.accessKeyId, id);
  assert.equal((await get(`/v2/GetKeyInfo?search=${id.slice(0, 8)}`)).body.accessKeyId, id);

  const u = await post(`/v2/UpdateKey?id=${id}`, { name: 'alice2', deny: { createBucket: true } });
  assert.equal(u.status, 200);
  assert.equal(u.body.name, 'alice2');
  assert.equal(u.body.permissions.createBucket, false);
  assert.equal((await post(`/v2/UpdateKey?id=${id}`, { allow: { createBucket: true } })).body.permissions.createBucket, true);
  assert.equal((await post(`/v2/UpdateKey?id=${id}`, { allow: { createBucket: 'yes' } })).status, 400);

  const imp = await post('/v2/ImportKey', { accessKeyId: 'GK' + '1'.repeat(24), secretAccessKey: 'f'.repeat(64), name: 'imported' });
  assert.equal(imp.status, 200);
  assert.equal(imp.body.accessKeyId, 'GK' + '1'.repeat(24));
  const again = await post('/v2/ImportKey', { accessKeyId: 'GK' + '1'.repeat(24), secretAccessKey: 'f'.repeat(64), name: 'x' });
  assert.equal(again.status, 409);
  assert.equal(again.body.code, 'KeyAlreadyExists');
  const badId = await post('/v2/ImportKey', { accessKeyId: 'AKIA', secretAccessKey: 'f'.repeat(64) });
  assert.equal(badId.status, 400);
  const missing = await post('/v2/ImportKey', { accessKeyId: 'GK' + '2'.repeat(24) });
  assert.equal(missing.status, 400);
  assert.match(missing.body.message, /secretAccessKey/);

  assert.equal((await post(`/v2/DeleteKey?id=${id}`)).status, 200);
  const gone = await get(`/v2/GetKeyInfo?id=${id}`);
  assert.equal(gone.status, 404);
  assert.equal(gone.body.code, 'NoSuchAccessKey');
  assert.ok(!(await get('/v2/ListKeys')).body.some((k: { id: string }) => k.id === id));
});

test('key lookups: not found, ambiguous, missing parameter', async () => {
  const nf = await get('/v2/GetKeyInfo?search=nobody');
  assert.equal(nf.status, 404);
  assert.match(nf.body.message, /no access key matches "nobody"/);
  assert.equal((await get('/v2/GetKeyInfo')).status, 400);
  await post('/v2/CreateKey', { name: 'twin' });
  await post('/v2/CreateKey', { name: 'twin' });
  const amb = await get('/v2/GetKeyInfo?search=twin');
  assert.equal(amb.status, 400);
  assert.equal(amb.body.code, 'AmbiguousKey');
  assert.equal((await post('/v2/DeleteKey?id=GK000000000000000000000000')).status, 404);
});

test('bad JSON bodies are 400 and say why', async () => {
  const r = await post('/v2/CreateBucket', '{"globalAlias": ');
  assert.equal(r.status, 400);
  assert.equal(r.body.code, 'InvalidRequest');
  assert.match(r.body.message, /not valid JSON/);
  const arr = await post('/v2/CreateBucket', '[1]');
  assert.equal(arr.status, 400);
  assert.match(arr.body.message, /JSON object/);
  const missing = await post('/v2/CreateBucket', {});
  assert.equal(missing.status, 400);
  assert.match(missing.body.message, /"globalAlias"/);
  const wrongType = await post('/v2/CreateBucket', { globalAlias: 7 });
  assert.match(wrongType.body.message, /"globalAlias" must be a string/);
  const local = await post('/v2/CreateBucket', { localAlias: { accessKeyId: 'x', alias: 'y' } });
  assert.equal(local.status, 400);
  assert.match(local.body.message, /local aliases/);
});

test('bucket lifecycle: create, info, update, aliases, permissions, delete', async () => {
  const c = await post('/v2/CreateBucket', { globalAlias: 'photos' });
  assert.equal(c.status, 200);
  const id: string = c.body.id;
  assert.match(id, /^[0-9a-f]{64}$/);
  assert.deepEqual(c.body.globalAliases, ['photos']);
  assert.equal(c.body.websiteAccess, false);
  assert.equal(c.body.objects, 0);
  assert.deepEqual(c.body.quotas, { maxSize: null, maxObjects: null });

  const dup = await post('/v2/CreateBucket', { globalAlias: 'photos' });
  assert.equal(dup.status, 409);
  assert.equal(dup.body.code, 'BucketAlreadyExists');
  const badName = await post('/v2/CreateBucket', { globalAlias: 'No_Caps' });
  assert.equal(badName.status, 400);
  assert.equal(badName.body.code, 'InvalidBucketName');

  assert.ok((await get('/v2/ListBuckets')).body.some((b: { id: string; globalAliases: string[] }) => b.id === id && b.globalAliases[0] === 'photos'));
  assert.equal((await get(`/v2/GetBucketInfo?id=${id}`)).body.id, id);
  assert.equal((await get('/v2/GetBucketInfo?globalAlias=photos')).body.id, id);
  assert.equal((await get(`/v2/GetBucketInfo?search=${id.slice(0, 10)}`)).body.id, id);
  assert.equal((await get('/v2/GetBucketInfo?search=photos')).body.id, id);
  const nf = await get('/v2/GetBucketInfo?globalAlias=nothere');
  assert.equal(nf.status, 404);
  assert.equal(nf.body.code, 'NoSuchBucket');
  assert.equal((await get('/v2/GetBucketInfo')).status, 400);

  const u = await post(`/v2/UpdateBucket?id=${id}`, {
    websiteAccess: { enabled: true, indexDocument: 'index.html', errorDocument: '404.html' },
    quotas: { maxSize: 1000, maxObjects: 10 },
  });
  assert.equal(u.status, 200);
  assert.equal(u.body.websiteAccess, true);
  assert.deepEqual(u.body.websiteConfig, { indexDocument: 'index.html', errorDocument: '404.html' });
  assert.deepEqual(u.body.quotas, { maxSize: 1000, maxObjects: 10 });
  const partial = await post(`/v2/UpdateBucket?id=${id}`, { quotas: { maxObjects: 5 } });
  assert.deepEqual(partial.body.quotas, { maxSize: null, maxObjects: 5 });
  assert.equal(partial.body.websiteAccess, true, 'website untouched when absent');
  const badQuota = await post(`/v2/UpdateBucket?id=${id}`, { quotas: { maxSize: -1 } });
  assert.equal(badQuota.status, 400);
  assert.match(badQuota.body.message, /quotas\.maxSize/);
  const noEnabled = await post(`/v2/UpdateBucket?id=${id}`, { websiteAccess: {} });
  assert.match(noEnabled.body.message, /websiteAccess\.enabled/);
  const off = await post(`/v2/UpdateBucket?id=${id}`, { websiteAccess: { enabled: false } });
  assert.equal(off.body.websiteAccess, false);
  assert.equal(off.body.websiteConfig, null);
  assert.equal((await post('/v2/UpdateBucket?id=' + 'f'.repeat(64), {})).status, 404);

  const a = await post('/v2/AddBucketAlias', { bucketId: id, globalAlias: 'pics' });
  assert.equal(a.status, 200);
  assert.deepEqual(a.body.globalAliases, ['photos', 'pics']);
  assert.equal((await get('/v2/GetBucketInfo?globalAlias=pics')).body.id, id);
  const taken = await post('/v2/CreateBucket', { globalAlias: 'other' });
  const clash = await post('/v2/AddBucketAlias', { bucketId: taken.body.id, globalAlias: 'pics' });
  assert.equal(clash.status, 409);
  const rm = await post('/v2/RemoveBucketAlias', { bucketId: id, globalAlias: 'photos' });
  assert.deepEqual(rm.body.globalAliases, ['pics']);
  const last = await post('/v2/RemoveBucketAlias', { bucketId: id, globalAlias: 'pics' });
  assert.equal(last.status, 409);
  assert.equal(last.body.code, 'LastAlias');
  assert.equal((await post('/v2/RemoveBucketAlias', { bucketId: id, globalAlias: 'photos' })).status, 404);

  const k = (await post('/v2/CreateKey', { name: 'bob' })).body;
  const allow = await post('/v2/AllowBucketKey', { bucketId: id, accessKeyId: k.accessKeyId, permissions: { read: true, write: true } });
  assert.equal(allow.status, 200);
  assert.deepEqual(allow.body.keys, [
    { accessKeyId: k.accessKeyId, name: 'bob', permissions: { read: true, write: true, owner: false }, bucketLocalAliases: [] },
  ]);
  const deny = await post('/v2/DenyBucketKey', { bucketId: id, accessKeyId: k.accessKeyId, permissions: { write: true } });
  assert.deepEqual(deny.body.keys[0].permissions, { read: true, write: false, owner: false });
  const kinfo = await get(`/v2/GetKeyInfo?id=${k.accessKeyId}`);
  assert.deepEqual(kinfo.body.buckets, [{ id, globalAliases: ['pics'], localAliases: [], permissions: { read: true, write: false, owner: false } }]);
  const noPerm = await post('/v2/AllowBucketKey', { bucketId: id, accessKeyId: k.accessKeyId });
  assert.equal(noPerm.status, 400);
  assert.match(noPerm.body.message, /"permissions"/);
  const badKey = await post('/v2/AllowBucketKey', { bucketId: id, accessKeyId: 'GK' + '0'.repeat(24), permissions: { read: true } });
  assert.equal(badKey.status, 404);
  assert.equal(badKey.body.code, 'NoSuchAccessKey');
  const badBucket = await post('/v2/AllowBucketKey', { bucketId: 'nope', accessKeyId: k.accessKeyId, permissions: { read: true } });
  assert.equal(badBucket.status, 404);

  // Not empty: an object entry with a complete version blocks deletion.
  const now = Date.now();
  await t.store.objects.insert({
    bucket: id,
    key: 'a.txt',
    versions: [{ uuid: 'u'.repeat(32), ts: now, state: 'complete', nullVersion: true, deleteMarker: false, multipart: false, meta: { size: 5, etag: 'x', headers: [] }, inline: Buffer.from('hello') }],
  });
  const full = await get(`/v2/GetBucketInfo?id=${id}`);
  assert.equal(full.body.objects, 1);
  assert.equal(full.body.bytes, 5);
  const notEmpty = await post(`/v2/DeleteBucket?id=${id}`);
  assert.equal(notEmpty.status, 409);
  assert.equal(notEmpty.body.code, 'BucketNotEmpty');

  const del = await post(`/v2/DeleteBucket?id=${taken.body.id}`);
  assert.equal(del.status, 200);
  assert.equal((await get(`/v2/GetBucketInfo?id=${taken.body.id}`)).status, 404);
  assert.equal((await get('/v2/GetBucketInfo?globalAlias=other')).status, 404);
  assert.equal((await post('/v2/CreateBucket', { globalAlias: 'other' })).status, 200, 'alias freed by deletion');
});

test('admin API is closed when no admin token is configured; metrics fall back', async () => {
  const closed = await startTestAdmin({ admin: null, metrics: null });
  try {
    const r = await fetch(closed.url + '/v2/ListKeys', { headers: { authorization: 'Bearer anything' } });
    assert.equal(r.status, 403);
    assert.match(((await r.json()) as { message: string }).message, /admin_token/);
    assert.equal((await fetch(closed.url + '/metrics')).status, 200, 'metrics open when no token at all');
  } finally {
    await closed.close();
  }
  const adminOnly = await startTestAdmin({ metrics: null });
  try {
    assert.equal((await fetch(adminOnly.url + '/metrics')).status, 401);
    const ok = await fetch(adminOnly.url + '/metrics', { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    assert.equal(ok.status, 200);
  } finally {
    await adminOnly.close();
  }
});

test('/check?domain= accepts only website buckets, by full name or under root_domain', async () => {
  const web = await startTestAdmin();
  const check = async (d: string) => (await fetch(`${web.url}/check?domain=${encodeURIComponent(d)}`)).status;
  try {
    (web.config.s3_web as { root_domain?: string }).root_domain = '.web.example';
    const call2 = (p: string, body: unknown) =>
      fetch(web.url + p, { method: 'POST', headers: { authorization: `Bearer ${ADMIN_TOKEN}` }, body: JSON.stringify(body) }).then((r) => r.json() as Promise<any>);
    const site = await call2('/v2/CreateBucket', { globalAlias: 'blog.example.org' });
    await call2('/v2/CreateBucket', { globalAlias: 'private' });
    await call2('/v2/AddBucketAlias', { bucketId: site.id, globalAlias: 'blog' });
    assert.equal(await check('blog.example.org'), 400, 'website access not enabled yet');
    await call2(`/v2/UpdateBucket?id=${site.id}`, { websiteAccess: { enabled: true } });
    assert.equal(await check('blog.example.org'), 200);
    assert.equal(await check('blog.web.example'), 200);
    assert.equal(await check('private'), 400);
    assert.equal(await check('nothing.example.org'), 400);
    assert.equal((await fetch(`${web.url}/check`)).status, 400);
  } finally {
    await web.close();
  }
});
