// Get/Put/DeleteBucketLifecycleConfiguration (s3-tests test_lifecycle_set*, _get*, _delete,
// _id_too_long, _same_id, _invalid_status, _days0): round trips in the shape the client wrote,
// AWS's errors (MalformedXML for the schema, InvalidArgument for values), bounded rules and body.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Handler } from '../context.ts';
import { child, children } from '../xml.ts';
import { DeleteBucketLifecycle, GetBucketLifecycleConfiguration, PutBucketLifecycleConfiguration, parseLifecycleConfig } from './lifecycle.ts';
import { fakeCtx, testEnv, type FakeRequest, type TestEnv } from './test-ctx.ts';

async function call(env: TestEnv, h: Handler, r: FakeRequest) {
  const { ctx, res } = fakeCtx(env, r);
  await h(ctx);
  return { res, bucket: ctx.bucket };
}

function rejectsCode(p: Promise<unknown>, code: string, status: number) {
  return assert.rejects(p, (e: any) => {
    assert.equal(e.code, code, e.message);
    assert.equal(e.status, status);
    return true;
  });
}

const doc = (rules: string) => `<LifecycleConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${rules}</LifecycleConfiguration>`;
const rule = (inner: string) => `<Rule>${inner}</Rule>`;

test('PutBucketLifecycleConfiguration / Get / Delete round trip in the shape the client wrote', async () => {
  const env = await testEnv();
  try {
    let b = await env.bucket('lc');
    await rejectsCode(call(env, GetBucketLifecycleConfiguration, { bucket: b, bucketName: 'lc', query: { lifecycle: '' } }), 'NoSuchLifecycleConfiguration', 404);
    // Deleting without a configuration is 204 as well (s3-tests test_lifecycle_delete).
    assert.equal((await call(env, DeleteBucketLifecycle, { method: 'DELETE', bucket: b, bucketName: 'lc', query: { lifecycle: '' } })).res.status, 204);
    const body = doc(
      rule('<ID>legacy</ID><Prefix>test1/</Prefix><Status>Enabled</Status><Expiration><Days>31</Days></Expiration>') +
        rule('<ID>f</ID><Filter><Tag><Key>k</Key><Value>v</Value></Tag></Filter><Status>Disabled</Status><Expiration><Date>2017-09-27T00:00:00Z</Date></Expiration>') +
        rule('<ID>and</ID><Filter><And><Prefix>p/</Prefix><Tag><Key>a</Key><Value>1</Value></Tag><ObjectSizeGreaterThan>10</ObjectSizeGreaterThan></And></Filter><Status>Enabled</Status><NoncurrentVersionExpiration><NoncurrentDays>2</NoncurrentDays><NewerNoncurrentVersions>3</NewerNoncurrentVersions></NoncurrentVersionExpiration>') +
        rule('<ID>mpu</ID><Filter/><Status>Enabled</Status><AbortIncompleteMultipartUpload><DaysAfterInitiation>4</DaysAfterInitiation></AbortIncompleteMultipartUpload><Expiration><ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker></Expiration>'),
    );
    const put = await call(env, PutBucketLifecycleConfiguration, { method: 'PUT', bucket: b, bucketName: 'lc', query: { lifecycle: '' }, body });
    assert.equal(put.res.status, 200);
    b = put.bucket!;
    const { res } = await call(env, GetBucketLifecycleConfiguration, { bucket: b, bucketName: 'lc', query: { lifecycle: '' } });
    assert.equal(res.status, 200);
    const rs = children(res.xml(), 'Rule');
    assert.equal(rs.length, 4);
    assert.equal(child(rs[0]!, 'Prefix')!.text, 'test1/');
    assert.equal(child(rs[0]!, 'Filter'), undefined);
    assert.equal(child(child(rs[0]!, 'Expiration')!, 'Days')!.text, '31');
    assert.equal(child(rs[1]!, 'Status')!.text, 'Disabled');
    assert.equal(child(child(child(rs[1]!, 'Filter')!, 'Tag')!, 'Key')!.text, 'k');
    assert.equal(child(child(rs[1]!, 'Expiration')!, 'Date')!.text, '2017-09-27T00:00:00Z');
    const and = child(child(rs[2]!, 'Filter')!, 'And')!;
    assert.deepEqual(and.children.map((c) => c.name), ['Prefix', 'Tag', 'ObjectSizeGreaterThan']);
    assert.equal(child(child(rs[2]!, 'NoncurrentVersionExpiration')!, 'NewerNoncurrentVersions')!.text, '3');
    assert.deepEqual(child(rs[3]!, 'Filter')!.children, []);
    assert.equal(child(child(rs[3]!, 'AbortIncompleteMultipartUpload')!, 'DaysAfterInitiation')!.text, '4');
    assert.equal(child(child(rs[3]!, 'Expiration')!, 'ExpiredObjectDeleteMarker')!.text, 'true');
    // Stored in the bucket entry, so every node's worker sees it.
    assert.equal((await env.store.bucketById(b.id))!.lifecycle!.v!.rules.length, 4);
    const del = await call(env, DeleteBucketLifecycle, { method: 'DELETE', bucket: b, bucketName: 'lc', query: { lifecycle: '' } });
    assert.equal(del.res.status, 204);
    await rejectsCode(call(env, GetBucketLifecycleConfiguration, { bucket: del.bucket!, bucketName: 'lc', query: { lifecycle: '' } }), 'NoSuchLifecycleConfiguration', 404);
  } finally {
    await env.close();
  }
});

test('conditions directly in a Filter are ANDed, as Ceph accepts (s3-tests test_lifecycle_expiration_tags1, _size_gt)', () => {
  const c = parseLifecycleConfig(doc(rule('<Filter><Prefix>days1/</Prefix><Tag><Key>tom</Key><Value>sawyer</Value></Tag><ObjectSizeGreaterThan>2000</ObjectSizeGreaterThan></Filter><Status>Enabled</Status><Expiration><Days>1</Days></Expiration>')));
  assert.deepEqual(c.rules[0]!.filter, { form: 'filter', prefix: 'days1/', tags: [['tom', 'sawyer']], sizeGt: 2000 });
});

test('conditions next to an And are ANDed with it (s3-tests test_lifecycle_expiration_tags2)', () => {
  const c = parseLifecycleConfig(doc(rule('<Filter><Prefix>days1/</Prefix><Tag><Key>tom</Key><Value>sawyer</Value></Tag><And><Prefix>days1</Prefix><Tag><Key>huck</Key><Value>finn</Value></Tag></And></Filter><Status>Enabled</Status><Expiration><Days>1</Days></Expiration>')));
  assert.deepEqual(c.rules[0]!.filter, { form: 'and', prefix: 'days1/', tags: [['tom', 'sawyer'], ['huck', 'finn']] });
});

test('a rule without ID gets one (s3-tests test_lifecycle_get_no_id)', () => {
  const c = parseLifecycleConfig(doc(rule('<Prefix>a/</Prefix><Status>Enabled</Status><Expiration><Days>1</Days></Expiration>')));
  assert.match(c.rules[0]!.id, /^[0-9a-f-]{36}$/);
});

test('invalid configurations: AWS error codes, nothing stored', async () => {
  const exp = '<Expiration><Days>1</Days></Expiration>';
  const cases: [string, string][] = [
    [doc(rule(`<ID>${'a'.repeat(256)}</ID><Prefix/><Status>Enabled</Status>${exp}`)), 'InvalidArgument'],
    [doc(rule(`<ID>r</ID><Prefix>a</Prefix><Status>Enabled</Status>${exp}`) + rule(`<ID>r</ID><Prefix>b</Prefix><Status>Enabled</Status>${exp}`)), 'InvalidArgument'],
    [doc(rule(`<Prefix/><Status>enabled</Status>${exp}`)), 'MalformedXML'],
    [doc(rule(`<Prefix/><Status>invalid</Status>${exp}`)), 'MalformedXML'],
    [doc(rule(`<Prefix/>${exp}`)), 'MalformedXML'],
    [doc(rule('<Prefix/><Status>Enabled</Status><Expiration><Days>0</Days></Expiration>')), 'InvalidArgument'],
    [doc(rule('<Prefix/><Status>Enabled</Status><Expiration><Days>-1</Days></Expiration>')), 'InvalidArgument'],
    [doc(rule('<Prefix/><Status>Enabled</Status><Expiration><Days>x</Days></Expiration>')), 'MalformedXML'],
    [doc(rule('<Prefix/><Status>Enabled</Status><Expiration><Date>20200101</Date></Expiration>')), 'InvalidArgument'],
    [doc(rule('<Prefix/><Status>Enabled</Status><Expiration><Date>2020-01-01T10:00:00Z</Date></Expiration>')), 'InvalidArgument'],
    [doc(rule('<Prefix/><Status>Enabled</Status><Expiration><Date>2020-02-30</Date></Expiration>')), 'InvalidArgument'],
    [doc(rule('<Prefix/><Status>Enabled</Status><Expiration><Days>1</Days><Date>2020-01-01</Date></Expiration>')), 'MalformedXML'],
    [doc(rule('<Prefix/><Status>Enabled</Status>')), 'InvalidArgument'],
    [doc(rule(`<Prefix/><Filter/><Status>Enabled</Status>${exp}`)), 'MalformedXML'],
    [doc(rule(`<Filter><Prefix>a</Prefix><And><Prefix>b</Prefix><Tag><Key>k</Key><Value/></Tag></And></Filter><Status>Enabled</Status>${exp}`)), 'InvalidArgument'],
    [doc(rule(`<Filter><And><Prefix>b</Prefix></And></Filter><Status>Enabled</Status>${exp}`)), 'MalformedXML'],
    [doc(rule(`<Filter><And><Tag><Key>k</Key><Value/></Tag><Tag><Key>k</Key><Value/></Tag></And></Filter><Status>Enabled</Status>${exp}`)), 'InvalidArgument'],
    [doc(rule(`<Filter><And><ObjectSizeGreaterThan>10</ObjectSizeGreaterThan><ObjectSizeLessThan>5</ObjectSizeLessThan></And></Filter><Status>Enabled</Status>${exp}`)), 'InvalidArgument'],
    [doc(rule('<Filter><Tag><Key>k</Key><Value/></Tag></Filter><Status>Enabled</Status><Expiration><ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker></Expiration>')), 'InvalidArgument'],
    [doc(rule('<Filter><Tag><Key>k</Key><Value/></Tag></Filter><Status>Enabled</Status><AbortIncompleteMultipartUpload><DaysAfterInitiation>1</DaysAfterInitiation></AbortIncompleteMultipartUpload>')), 'InvalidArgument'],
    [doc(rule('<Prefix/><Status>Enabled</Status><NoncurrentVersionExpiration><NewerNoncurrentVersions>1</NewerNoncurrentVersions></NoncurrentVersionExpiration>')), 'MalformedXML'],
    [doc(rule(`<Prefix/><Status>Enabled</Status><Bogus/>${exp}`)), 'MalformedXML'],
    [doc(rule('<Prefix/><Status>Enabled</Status><Transition><Days>1</Days><StorageClass>GLACIER</StorageClass></Transition>')), 'NotImplemented'],
    [doc(rule('<Prefix/><Status>Enabled</Status><Transition><Date>20220927</Date><StorageClass>GLACIER</StorageClass></Transition>')), 'InvalidArgument'],
    [doc(''), 'MalformedXML'],
    ['<Other/>', 'MalformedXML'],
    [doc(rule(`<Prefix/><Status>Enabled</Status>${exp}`).repeat(1001)), 'InvalidArgument'],
  ];
  const env = await testEnv();
  try {
    const b = await env.bucket('lc');
    for (const [body, code] of cases) {
      await rejectsCode(call(env, PutBucketLifecycleConfiguration, { method: 'PUT', bucket: b, bucketName: 'lc', query: { lifecycle: '' }, body }), code, code === 'NotImplemented' ? 501 : 400);
      assert.equal((await env.store.bucketById(b.id))!.lifecycle, undefined, body.slice(0, 200));
    }
    // 1000 rules (unique IDs) are accepted.
    const many = doc(Array.from({ length: 1000 }, (_, i) => rule(`<ID>r${i}</ID><Prefix>${i}/</Prefix><Status>Enabled</Status>${exp}`)).join(''));
    assert.equal((await call(env, PutBucketLifecycleConfiguration, { method: 'PUT', bucket: b, bucketName: 'lc', query: { lifecycle: '' }, body: many })).res.status, 200);
  } finally {
    await env.close();
  }
});

test('a body over xml_body_bytes_max is refused before it is read', async () => {
  const env = await testEnv({ limits: { xml_body_bytes_max: 1000 } });
  try {
    const b = await env.bucket('lc');
    const body = doc(rule('<Prefix/><Status>Enabled</Status><Expiration><Days>1</Days></Expiration>').repeat(20));
    await rejectsCode(call(env, PutBucketLifecycleConfiguration, { method: 'PUT', bucket: b, bucketName: 'lc', query: { lifecycle: '' }, headers: { 'content-length': String(body.length) }, body }), 'EntityTooLarge', 400);
  } finally {
    await env.close();
  }
});

test('only the bucket owner may read or change the configuration', async () => {
  const env = await testEnv();
  try {
    const b = await env.bucket('lc');
    const perm = { read: true, write: true, owner: false };
    const body = doc(rule('<Prefix/><Status>Enabled</Status><Expiration><Days>1</Days></Expiration>'));
    await rejectsCode(call(env, PutBucketLifecycleConfiguration, { method: 'PUT', bucket: b, bucketName: 'lc', query: { lifecycle: '' }, body, perm }), 'AccessDenied', 403);
    await rejectsCode(call(env, GetBucketLifecycleConfiguration, { bucket: b, bucketName: 'lc', query: { lifecycle: '' }, perm }), 'AccessDenied', 403);
  } finally {
    await env.close();
  }
});
