// Key expiration, rename and local (per-key) bucket aliases through the admin API, Garage v2 shapes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN_TOKEN, startTestAdmin, type TestAdmin } from './testkit.ts';

let t: TestAdmin;
before(async () => {
  t = await startTestAdmin();
});
after(async () => {
  await t.close();
});

async function call(op: string, body?: unknown, query = ''): Promise<{ status: number; body: any }> {
  const r = await fetch(`${t.url}/v2/${op}${query ? '?' + query : ''}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : undefined };
}

test('CreateKey and UpdateKey set, clear and check the expiration; ListKeys says which expired', async () => {
  const k = (await call('CreateKey', { name: 'temp', expiration: '2000-01-01T00:00:00Z' })).body;
  assert.equal(k.expiration, '2000-01-01T00:00:00.000Z');
  assert.equal(k.expired, true);
  const later = (await call('CreateKey', { name: 'later', expiration: '2999-01-01T00:00:00+02:00' })).body;
  assert.equal(later.expired, false);
  assert.equal(later.expiration, '2998-12-31T22:00:00.000Z');
  const never = (await call('CreateKey', { name: 'never' })).body;
  assert.equal(never.expiration, null);
  const list = (await call('ListKeys')).body;
  assert.deepEqual(
    list.filter((x: any) => [k.accessKeyId, later.accessKeyId, never.accessKeyId].includes(x.id)).map((x: any) => [x.name, x.expired]).sort(),
    [['later', false], ['never', false], ['temp', true]],
  );
  const extended = await call('UpdateKey', { neverExpires: true }, `id=${k.accessKeyId}`);
  assert.equal(extended.status, 200);
  assert.deepEqual([extended.body.expiration, extended.body.expired], [null, false]);
  const back = (await call('UpdateKey', { expiration: '2001-02-03T04:05:06Z' }, `id=${k.accessKeyId}`)).body;
  assert.equal(back.expired, true);
  for (const body of [{ expiration: 'tomorrow' }, { expiration: '2030-01-01' }, { expiration: 5 }, { neverExpires: 'yes' }, { neverExpires: true, expiration: '2030-01-01T00:00:00Z' }]) {
    const r = await call('UpdateKey', body, `id=${k.accessKeyId}`);
    assert.equal(r.status, 400, JSON.stringify(body));
  }
  assert.equal((await call('GetKeyInfo', undefined, `id=${k.accessKeyId}`)).body.expiration, '2001-02-03T04:05:06.000Z', 'refused updates changed nothing');
});

test('UpdateKey renames a key', async () => {
  const k = (await call('CreateKey', { name: 'old-name' })).body;
  const r = await call('UpdateKey', { name: 'new-name' }, `id=${k.accessKeyId}`);
  assert.equal(r.body.name, 'new-name');
  assert.equal((await call('GetKeyInfo', undefined, 'search=new-name')).body.accessKeyId, k.accessKeyId);
});

test('local aliases: added per key, listed on the key and the bucket, removed, never the last name', async () => {
  const k = (await call('CreateKey', { name: 'alias-owner' })).body;
  const b = (await call('CreateBucket', { globalAlias: 'shared-photos' })).body;
  await call('AllowBucketKey', { bucketId: b.id, accessKeyId: k.accessKeyId, permissions: { read: true, write: true } });
  const added = await call('AddBucketAlias', { bucketId: b.id, localAlias: 'my-photos', accessKeyId: k.accessKeyId });
  assert.equal(added.status, 200, JSON.stringify(added.body));
  assert.deepEqual(added.body.keys.find((x: any) => x.accessKeyId === k.accessKeyId).bucketLocalAliases, ['my-photos']);
  assert.deepEqual(added.body.globalAliases, ['shared-photos'], 'no global name was made');
  const info = (await call('GetKeyInfo', undefined, `id=${k.accessKeyId}`)).body;
  assert.deepEqual(info.buckets.find((x: any) => x.id === b.id).localAliases, ['my-photos']);
  const listed = (await call('ListBuckets')).body.find((x: any) => x.id === b.id);
  assert.deepEqual(listed.localAliases, [{ accessKeyId: k.accessKeyId, alias: 'my-photos' }]);

  const other = (await call('CreateBucket', { globalAlias: 'other-bucket' })).body;
  const clash = await call('AddBucketAlias', { bucketId: other.id, localAlias: 'my-photos', accessKeyId: k.accessKeyId });
  assert.equal(clash.status, 409);
  assert.equal((await call('AddBucketAlias', { bucketId: b.id, localAlias: 'Bad_Name', accessKeyId: k.accessKeyId })).status, 400);
  assert.equal((await call('AddBucketAlias', { bucketId: b.id, localAlias: 'x-y-z', accessKeyId: 'GK' + '0'.repeat(24) })).status, 404);
  assert.equal((await call('AddBucketAlias', { bucketId: b.id, localAlias: 'x-y-z' })).status, 400);
  assert.equal((await call('AddBucketAlias', { bucketId: b.id, localAlias: 'x-y-z', globalAlias: 'x-y-z', accessKeyId: k.accessKeyId })).status, 400);

  assert.equal((await call('RemoveBucketAlias', { bucketId: other.id, localAlias: 'my-photos', accessKeyId: k.accessKeyId })).status, 404);
  const removed = await call('RemoveBucketAlias', { bucketId: b.id, localAlias: 'my-photos', accessKeyId: k.accessKeyId });
  assert.equal(removed.status, 200);
  assert.deepEqual(removed.body.keys.find((x: any) => x.accessKeyId === k.accessKeyId).bucketLocalAliases, []);
});
