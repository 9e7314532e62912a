// Object lock (s3-tests test_object_lock_*): bucket configuration validation, retention and legal
// hold per version, the lock headers on write and HEAD, deletes of locked versions refused (403)
// unless a governance retention is bypassed, and compliance retention never shortened.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Handler } from '../context.ts';
import { child, childText } from '../xml.ts';
import { CreateBucket, PutBucketVersioning } from './bucket.ts';
import { DeleteObject, DeleteObjects, HeadObject, PutObject } from './object.ts';
import {
  GetObjectLegalHold, GetObjectLockConfiguration, GetObjectRetention, PutObjectLegalHold, PutObjectLockConfiguration, PutObjectRetention,
  parseLockDate,
} from './object-lock.ts';
import { CompleteMultipartUpload, CreateMultipartUpload, UploadPart } from './multipart.ts';
import { fakeCtx, testEnv, type FakeRequest, type TestEnv } from './test-ctx.ts';
import type { Bucket } from '../../../model/bucket.ts';

async function call(env: TestEnv, h: Handler, r: FakeRequest) {
  const { ctx, res } = fakeCtx(env, r);
  await h(ctx);
  return res;
}

function rejectsCode(p: Promise<unknown>, code: string, status: number) {
  return assert.rejects(p, (e: any) => {
    assert.equal(e.code, code, e.message);
    assert.equal(e.status, status);
    return true;
  });
}

const YEAR = 365 * 86_400_000;
const future = (ms = YEAR) => new Date(Date.now() + ms).toISOString();
const lockXml = (mode: string, unit: 'Days' | 'Years', n: number, enabled = 'Enabled') =>
  `<ObjectLockConfiguration><ObjectLockEnabled>${enabled}</ObjectLockEnabled><Rule><DefaultRetention><Mode>${mode}</Mode><${unit}>${n}</${unit}></DefaultRetention></Rule></ObjectLockConfiguration>`;
const retentionXml = (mode: string, date: string) => `<Retention><Mode>${mode}</Mode><RetainUntilDate>${date}</RetainUntilDate></Retention>`;

/** A bucket created over S3 with x-amz-bucket-object-lock-enabled: true. */
async function lockedBucket(env: TestEnv, name = 'lkb'): Promise<Bucket> {
  await call(env, CreateBucket, { method: 'PUT', bucketName: name, headers: { 'x-amz-bucket-object-lock-enabled': 'true' } });
  return (await env.store.bucketByName(name))!;
}

const fresh = async (env: TestEnv, name: string) => (await env.store.bucketByName(name))!;

async function put(env: TestEnv, b: Bucket, key: string, headers: Record<string, string> = {}) {
  const res = await call(env, PutObject, { method: 'PUT', bucket: b, bucketName: 'lkb', key, headers: { 'content-length': '3', ...headers }, body: 'abc' });
  return res.header('x-amz-version-id')!;
}

test('parseLockDate: ISO 8601 with or without fraction and offset; anything else is undefined', () => {
  assert.equal(parseLockDate('2030-01-01T00:00:00Z'), Date.UTC(2030, 0, 1));
  assert.equal(parseLockDate('2030-01-01T00:00:00.123456Z'), Date.UTC(2030, 0, 1) + 123);
  assert.equal(parseLockDate('2030-01-01T01:00:00+01:00'), Date.UTC(2030, 0, 1));
  for (const s of ['2030-01-01', 'tomorrow', '', '1e12', 'Tue, 01 Jan 2030 00:00:00 GMT', '99999-01-01T00:00:00Z']) assert.equal(parseLockDate(s), undefined, s);
});

test('lock configuration: only with versioning Enabled; Enabled status, exact mode, one positive period (400s as AWS); suspending versioning is 409', async () => {
  const env = await testEnv();
  try {
    const plain = await env.bucket('plain');
    await rejectsCode(call(env, GetObjectLockConfiguration, { bucket: plain, bucketName: 'plain', query: { 'object-lock': '' } }), 'ObjectLockConfigurationNotFoundError', 404);
    await rejectsCode(call(env, PutObjectLockConfiguration, { method: 'PUT', bucket: plain, bucketName: 'plain', query: { 'object-lock': '' }, body: lockXml('GOVERNANCE', 'Days', 1) }), 'InvalidBucketState', 409);
    const b = await lockedBucket(env);
    assert.equal(b.versioning.v, 'Enabled');
    const bad: [string, string, number][] = [
      [lockXml('GOVERNANCE', 'Days', 0), 'InvalidRetentionPeriod', 400],
      [lockXml('GOVERNANCE', 'Years', -1), 'InvalidRetentionPeriod', 400],
      [lockXml('abc', 'Years', 1), 'MalformedXML', 400],
      [lockXml('governance', 'Years', 1), 'MalformedXML', 400],
      [lockXml('GOVERNANCE', 'Years', 1, 'Disabled'), 'MalformedXML', 400],
      [lockXml('GOVERNANCE', 'Days', 1).replace('</DefaultRetention>', '<Years>1</Years></DefaultRetention>'), 'MalformedXML', 400],
      ['<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule><DefaultRetention><Mode>GOVERNANCE</Mode></DefaultRetention></Rule></ObjectLockConfiguration>', 'MalformedXML', 400],
    ];
    for (const [body, code, status] of bad) await rejectsCode(call(env, PutObjectLockConfiguration, { method: 'PUT', bucket: b, bucketName: 'lkb', query: { 'object-lock': '' }, body }), code, status);
    const res = await call(env, PutObjectLockConfiguration, { method: 'PUT', bucket: b, bucketName: 'lkb', query: { 'object-lock': '' }, body: lockXml('GOVERNANCE', 'Days', 1) });
    assert.equal(res.status, 200);
    const got = (await call(env, GetObjectLockConfiguration, { bucket: await fresh(env, 'lkb'), bucketName: 'lkb', query: { 'object-lock': '' } })).xml();
    assert.equal(childText(got, 'ObjectLockEnabled'), 'Enabled');
    const dr = child(child(got, 'Rule')!, 'DefaultRetention')!;
    assert.deepEqual([childText(dr, 'Mode'), childText(dr, 'Days'), childText(dr, 'Years')], ['GOVERNANCE', '1', undefined]);
    await rejectsCode(
      call(env, PutBucketVersioning, { method: 'PUT', bucket: await fresh(env, 'lkb'), bucketName: 'lkb', query: { versioning: '' }, body: '<VersioningConfiguration><Status>Suspended</Status></VersioningConfiguration>' }),
      'InvalidBucketState', 409,
    );
    // Enabling later on a versioned bucket is allowed.
    const v = await env.store.buckets.insert({ ...plain, versioning: { t: Date.now() + 1, v: 'Enabled' } });
    await call(env, PutObjectLockConfiguration, { method: 'PUT', bucket: v, bucketName: 'plain', query: { 'object-lock': '' }, body: lockXml('COMPLIANCE', 'Years', 1) });
    assert.equal((await fresh(env, 'plain')).objectLock?.v?.rule?.years, 1);
  } finally {
    await env.close();
  }
});

test('retention: governance extended freely, shortened or changed only with bypass; compliance only extended; delete by versionId refused while locked', async () => {
  const env = await testEnv();
  try {
    const b = await lockedBucket(env);
    const vid = await put(env, b, 'k');
    const ret = (mode: string, date: string, headers: Record<string, string> = {}) =>
      call(env, PutObjectRetention, { method: 'PUT', bucket: b, bucketName: 'lkb', key: 'k', query: { retention: '' }, headers, body: retentionXml(mode, date) });
    const bypass = { 'x-amz-bypass-governance-retention': 'true' };
    await rejectsCode(ret('governance', future()), 'MalformedXML', 400);
    await rejectsCode(ret('GOVERNANCE', new Date(Date.now() - 1000).toISOString()), 'InvalidArgument', 400);
    await rejectsCode(call(env, GetObjectRetention, { bucket: b, bucketName: 'lkb', key: 'k', query: { retention: '' } }), 'NoSuchObjectLockConfiguration', 404);
    await ret('GOVERNANCE', '2131-01-03T00:00:00Z');
    await ret('GOVERNANCE', '2131-01-04T00:00:00Z');
    await rejectsCode(ret('GOVERNANCE', '2131-01-01T00:00:00Z'), 'AccessDenied', 403);
    await rejectsCode(ret('COMPLIANCE', '2131-01-04T00:00:00Z'), 'AccessDenied', 403);
    await ret('GOVERNANCE', '2131-01-01T00:00:00Z', bypass);
    const got = (await call(env, GetObjectRetention, { bucket: b, bucketName: 'lkb', key: 'k', query: { retention: '' } })).xml();
    assert.deepEqual([childText(got, 'Mode'), childText(got, 'RetainUntilDate')], ['GOVERNANCE', '2131-01-01T00:00:00.000Z']);
    const head = await call(env, HeadObject, { method: 'HEAD', bucket: b, bucketName: 'lkb', key: 'k' });
    assert.equal(head.header('x-amz-object-lock-mode'), 'GOVERNANCE');
    assert.equal(head.header('x-amz-object-lock-retain-until-date'), '2131-01-01T00:00:00.000Z');
    // Delete by version id: refused without bypass, allowed with it; a plain delete only adds a marker.
    const del = (headers: Record<string, string> = {}) => call(env, DeleteObject, { method: 'DELETE', bucket: b, bucketName: 'lkb', key: 'k', query: { versionId: vid }, headers });
    await rejectsCode(del(), 'AccessDenied', 403);
    const marker = await call(env, DeleteObject, { method: 'DELETE', bucket: b, bucketName: 'lkb', key: 'k' });
    assert.equal(marker.header('x-amz-delete-marker'), 'true');
    await rejectsCode(del(), 'AccessDenied', 403);
    // Compliance: bypass does not help, shortening is refused, extending is fine.
    const c = await put(env, b, 'c', { 'x-amz-object-lock-mode': 'COMPLIANCE', 'x-amz-object-lock-retain-until-date': '2131-06-01T00:00:00Z' });
    const retC = (mode: string, date: string, headers: Record<string, string> = {}) =>
      call(env, PutObjectRetention, { method: 'PUT', bucket: b, bucketName: 'lkb', key: 'c', query: { retention: '' }, headers, body: retentionXml(mode, date) });
    await rejectsCode(retC('COMPLIANCE', '2131-05-01T00:00:00Z', bypass), 'AccessDenied', 403);
    await rejectsCode(retC('GOVERNANCE', '2131-07-01T00:00:00Z', bypass), 'AccessDenied', 403);
    await retC('COMPLIANCE', '2131-07-01T00:00:00Z');
    await rejectsCode(call(env, DeleteObject, { method: 'DELETE', bucket: b, bucketName: 'lkb', key: 'c', query: { versionId: c }, headers: bypass }), 'AccessDenied', 403);
    const cv = (await env.store.objects.get(b.id, 'c'))!.versions.find((v) => v.uuid === c)!;
    assert.equal(cv.compliance, Date.UTC(2131, 6, 1));
    assert.equal(cv.state, 'complete');
    // Finally the governance one goes with bypass.
    assert.equal((await del(bypass)).status, 204);
  } finally {
    await env.close();
  }
});

test('legal hold: ON refuses the delete even with bypass, OFF allows it; invalid status is MalformedXML; a bucket without lock is 400 InvalidRequest', async () => {
  const env = await testEnv();
  try {
    const plain = await env.bucket('plain');
    await call(env, PutObject, { method: 'PUT', bucket: plain, bucketName: 'plain', key: 'k', headers: { 'content-length': '1' }, body: 'x' });
    const hold = (b: Bucket, bucketName: string, status: string, query: Record<string, string> = {}) =>
      call(env, PutObjectLegalHold, { method: 'PUT', bucket: b, bucketName, key: 'k', query: { 'legal-hold': '', ...query }, body: `<LegalHold><Status>${status}</Status></LegalHold>` });
    await rejectsCode(hold(plain, 'plain', 'ON'), 'InvalidRequest', 400);
    await rejectsCode(call(env, GetObjectLegalHold, { bucket: plain, bucketName: 'plain', key: 'k', query: { 'legal-hold': '' } }), 'InvalidRequest', 400);
    await rejectsCode(call(env, GetObjectRetention, { bucket: plain, bucketName: 'plain', key: 'k', query: { retention: '' } }), 'InvalidRequest', 400);
    await rejectsCode(call(env, PutObject, { method: 'PUT', bucket: plain, bucketName: 'plain', key: 'j', headers: { 'content-length': '1', 'x-amz-object-lock-legal-hold': 'ON' }, body: 'x' }), 'InvalidRequest', 400);
    const b = await lockedBucket(env);
    const vid = await put(env, b, 'k');
    await rejectsCode(hold(b, 'lkb', 'abc'), 'MalformedXML', 400);
    await hold(b, 'lkb', 'ON');
    const got = (await call(env, GetObjectLegalHold, { bucket: b, bucketName: 'lkb', key: 'k', query: { 'legal-hold': '' } })).xml();
    assert.equal(childText(got, 'Status'), 'ON');
    const del = () => call(env, DeleteObject, { method: 'DELETE', bucket: b, bucketName: 'lkb', key: 'k', query: { versionId: vid }, headers: { 'x-amz-bypass-governance-retention': 'true' } });
    await rejectsCode(del(), 'AccessDenied', 403);
    // DeleteObjects: the locked entry is an AccessDenied error, the others are deleted.
    const other = await put(env, b, 'o');
    const multi = await call(env, DeleteObjects, {
      method: 'POST', bucket: b, bucketName: 'lkb', query: { delete: '' },
      body: `<Delete><Object><Key>k</Key><VersionId>${vid}</VersionId></Object><Object><Key>o</Key><VersionId>${other}</VersionId></Object></Delete>`,
    });
    const doc = multi.xml();
    assert.deepEqual([childText(child(doc, 'Error')!, 'Key'), childText(child(doc, 'Error')!, 'Code'), childText(child(doc, 'Error')!, 'VersionId')], ['k', 'AccessDenied', vid]);
    assert.equal(childText(child(doc, 'Deleted')!, 'Key'), 'o');
    await hold(b, 'lkb', 'OFF');
    assert.equal((await del()).status, 204);
  } finally {
    await env.close();
  }
});

test('lock headers on PUT and CreateMultipartUpload, default retention when none; HEAD shows them', async () => {
  const env = await testEnv();
  try {
    const b = await lockedBucket(env);
    await rejectsCode(put(env, b, 'x', { 'x-amz-object-lock-mode': 'GOVERNANCE' }), 'InvalidArgument', 400);
    await rejectsCode(put(env, b, 'x', { 'x-amz-object-lock-mode': 'gov', 'x-amz-object-lock-retain-until-date': future() }), 'InvalidArgument', 400);
    await rejectsCode(put(env, b, 'x', { 'x-amz-object-lock-legal-hold': 'on' }), 'InvalidArgument', 400);
    assert.equal(await env.store.objects.get(b.id, 'x'), undefined);
    await put(env, b, 'k', { 'x-amz-object-lock-mode': 'GOVERNANCE', 'x-amz-object-lock-retain-until-date': '2130-01-01T00:00:00Z', 'x-amz-object-lock-legal-hold': 'ON' });
    const head = await call(env, HeadObject, { method: 'HEAD', bucket: b, bucketName: 'lkb', key: 'k' });
    assert.deepEqual(
      ['mode', 'retain-until-date', 'legal-hold'].map((h) => head.header(`x-amz-object-lock-${h}`)),
      ['GOVERNANCE', '2130-01-01T00:00:00.000Z', 'ON'],
    );
    // Default retention: 2 days from now, for a PUT without lock headers.
    await call(env, PutObjectLockConfiguration, { method: 'PUT', bucket: b, bucketName: 'lkb', query: { 'object-lock': '' }, body: lockXml('COMPLIANCE', 'Days', 2) });
    const lb = await fresh(env, 'lkb');
    const before = Date.now();
    await put(env, lb, 'd');
    const d = (await env.store.objects.get(b.id, 'd'))!.versions[0]!;
    assert.equal(d.retention?.v?.mode, 'COMPLIANCE');
    assert.ok(Math.abs(d.retention!.v!.until - (before + 2 * 86_400_000)) < 5000);
    assert.equal(d.compliance, d.retention!.v!.until);
    // Multipart: the lock given at Create is the completed version's.
    const up = await call(env, CreateMultipartUpload, { method: 'POST', bucket: lb, bucketName: 'lkb', key: 'm', query: { uploads: '' }, headers: { 'x-amz-object-lock-legal-hold': 'ON' } });
    const uploadId = childText(up.xml(), 'UploadId')!;
    const part = await call(env, UploadPart, { method: 'PUT', bucket: lb, bucketName: 'lkb', key: 'm', query: { uploadId, partNumber: '1' }, headers: { 'content-length': '3' }, body: 'abc' });
    const done = await call(env, CompleteMultipartUpload, {
      method: 'POST', bucket: lb, bucketName: 'lkb', key: 'm', query: { uploadId },
      body: `<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>${part.header('etag')}</ETag></Part></CompleteMultipartUpload>`,
    });
    const mvid = done.header('x-amz-version-id')!;
    await rejectsCode(call(env, DeleteObject, { method: 'DELETE', bucket: lb, bucketName: 'lkb', key: 'm', query: { versionId: mvid } }), 'AccessDenied', 403);
  } finally {
    await env.close();
  }
});
