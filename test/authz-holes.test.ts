// Authorization holes against a real node: DeleteObjects decided per key, PostObject refusing an
// expired key, object-lock headers only for who may read them, site deletion keeping locked versions.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import {
  CreateBucketCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutBucketPolicyCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  PutObjectLockConfigurationCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { startNode, s3Client, type TestNode } from './lib/node.ts';
import { deriveSigningKey, formatAmzDate } from '../src/api/s3/auth/sigv4.ts';

let node: TestNode;
let main: S3Client;

before(async () => {
  node = await startNode();
  main = s3Client(node);
});

after(async () => {
  main?.destroy();
  await node?.stop();
});

/** A second key with read/write (no owner flag) on bucket `b`. */
async function writerKey(name: string, bucket: string): Promise<{ id: string; secret: string; client: S3Client }> {
  const k = await node.admin('CreateKey', { name });
  const info = await node.admin('GetBucketInfo', undefined, `globalAlias=${bucket}`);
  await node.admin('AllowBucketKey', { bucketId: info.id, accessKeyId: k.accessKeyId, permissions: { read: true, write: true, owner: false } });
  return { id: k.accessKeyId, secret: k.secretAccessKey, client: s3Client({ ...node, keyId: k.accessKeyId, secret: k.secretAccessKey }) };
}

test('DeleteObjects is decided per key: a policy Deny on protected/* keeps protected/x (AccessDenied entry) and deletes other/y', async () => {
  const b = 'authz-delete-many';
  await main.send(new CreateBucketCommand({ Bucket: b }));
  const w = await writerKey('deleter', b);
  try {
    for (const Key of ['protected/x', 'other/y']) await main.send(new PutObjectCommand({ Bucket: b, Key, Body: Key }));
    const policy = {
      Version: '2012-10-17',
      Statement: [{ Sid: 'KeepProtected', Effect: 'Deny', Principal: '*', Action: 's3:DeleteObject', Resource: `arn:aws:s3:::${b}/protected/*` }],
    };
    await main.send(new PutBucketPolicyCommand({ Bucket: b, Policy: JSON.stringify(policy) }));
    const r = await w.client.send(new DeleteObjectsCommand({ Bucket: b, Delete: { Objects: [{ Key: 'protected/x' }, { Key: 'other/y' }] } }));
    assert.deepEqual((r.Deleted ?? []).map((d) => d.Key), ['other/y']);
    assert.deepEqual((r.Errors ?? []).map((e) => [e.Key, e.Code]), [['protected/x', 'AccessDenied']]);
    const kept = await main.send(new GetObjectCommand({ Bucket: b, Key: 'protected/x' }));
    assert.equal(await kept.Body!.transformToString(), 'protected/x');
    await assert.rejects(main.send(new HeadObjectCommand({ Bucket: b, Key: 'other/y' })), (e: { name?: string }) => e.name === 'NotFound');
  } finally {
    w.client.destroy();
  }
});

/** A SigV4-signed POST form for `bucket`/`key` by the given key. */
function signedForm(bucket: string, key: string, keyId: string, secret: string): FormData {
  const now = Date.now();
  const amzDate = formatAmzDate(now);
  const day = amzDate.slice(0, 8);
  const credential = `${keyId}/${day}/${node.region}/s3/aws4_request`;
  const policy = {
    expiration: new Date(now + 600_000).toISOString(),
    conditions: [{ bucket }, { key }, { 'x-amz-algorithm': 'AWS4-HMAC-SHA256' }, { 'x-amz-credential': credential }, { 'x-amz-date': amzDate }],
  };
  const policyB64 = Buffer.from(JSON.stringify(policy)).toString('base64');
  const signature = createHmac('sha256', deriveSigningKey(secret, day, node.region, 's3')).update(policyB64).digest('hex');
  const f = new FormData();
  for (const [k, v] of [['key', key], ['policy', policyB64], ['x-amz-algorithm', 'AWS4-HMAC-SHA256'], ['x-amz-credential', credential], ['x-amz-date', amzDate], ['x-amz-signature', signature]])
    f.append(k, v!);
  f.append('file', new Blob(['from a form']), 'f.txt');
  return f;
}

test('PostObject refuses an expired key (403) as signed requests do', async () => {
  const b = 'authz-post-expiry';
  await main.send(new CreateBucketCommand({ Bucket: b }));
  const w = await writerKey('poster', b);
  try {
    const ok = await fetch(`${node.s3Url}/${b}`, { method: 'POST', body: signedForm(b, 'before', w.id, w.secret) });
    assert.equal(ok.status, 204, await ok.text());
    await node.admin('UpdateKey', { expiration: new Date(Date.now() - 1000).toISOString() }, `id=${w.id}`);
    await assert.rejects(w.client.send(new PutObjectCommand({ Bucket: b, Key: 'signed', Body: 'x' })), (e: { name?: string }) => e.name === 'AccessDenied');
    const r = await fetch(`${node.s3Url}/${b}`, { method: 'POST', body: signedForm(b, 'after', w.id, w.secret) });
    const text = await r.text();
    assert.equal(r.status, 403, text);
    assert.match(text, /<Code>AccessDenied<\/Code>.*expired/s);
    await assert.rejects(main.send(new HeadObjectCommand({ Bucket: b, Key: 'after' })), (e: { name?: string }) => e.name === 'NotFound');
  } finally {
    w.client.destroy();
  }
});

test('object-lock headers on GET/HEAD only for callers allowed GetObjectRetention / GetObjectLegalHold', async () => {
  const b = 'authz-lock-headers';
  await main.send(new CreateBucketCommand({ Bucket: b, ObjectLockEnabledForBucket: true }));
  const until = new Date(Date.now() + 3600_000);
  await main.send(
    new PutObjectCommand({ Bucket: b, Key: 'doc', Body: 'locked', ACL: 'public-read', ObjectLockMode: 'GOVERNANCE', ObjectLockRetainUntilDate: until, ObjectLockLegalHoldStatus: 'ON' }),
  );
  const lockHeaders = (h: Headers) => ['x-amz-object-lock-mode', 'x-amz-object-lock-retain-until-date', 'x-amz-object-lock-legal-hold'].filter((n) => h.has(n));
  // Anonymous: may read the object (public-read), not its retention or legal hold.
  for (const method of ['GET', 'HEAD']) {
    const r = await fetch(`${node.s3Url}/${b}/doc`, { method });
    assert.equal(r.status, 200, method);
    assert.deepEqual(lockHeaders(r.headers), [], `anonymous ${method}`);
  }
  // A policy granting the legal hold only: that header, not the retention.
  const policy = {
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Principal: '*', Action: 's3:GetObjectLegalHold', Resource: `arn:aws:s3:::${b}/*` }],
  };
  await main.send(new PutBucketPolicyCommand({ Bucket: b, Policy: JSON.stringify(policy) }));
  assert.deepEqual(lockHeaders((await fetch(`${node.s3Url}/${b}/doc`, { method: 'HEAD' })).headers), ['x-amz-object-lock-legal-hold']);
  // The bucket's own key (read flag) sees all three.
  const h = await main.send(new HeadObjectCommand({ Bucket: b, Key: 'doc' }));
  assert.equal(h.ObjectLockMode, 'GOVERNANCE');
  assert.equal(h.ObjectLockLegalHoldStatus, 'ON');
  assert.ok(h.ObjectLockRetainUntilDate);
});

test('DeleteSite refuses a site holding locked versions (409, the count), and keeps them; DeleteBucket too', async () => {
  const domain = 'locked.example.org';
  await node.admin('CreateSite', { domain, owner: node.keyId });
  await main.send(new PutBucketVersioningCommand({ Bucket: domain, VersioningConfiguration: { Status: 'Enabled' } }));
  await main.send(new PutObjectLockConfigurationCommand({ Bucket: domain, ObjectLockConfiguration: { ObjectLockEnabled: 'Enabled' } }));
  await main.send(new PutObjectCommand({ Bucket: domain, Key: 'held', Body: 'keep me', ObjectLockLegalHoldStatus: 'ON' }));
  const until = new Date(Date.now() + 3600_000);
  await main.send(new PutObjectCommand({ Bucket: domain, Key: 'kept', Body: 'keep me too', ObjectLockMode: 'COMPLIANCE', ObjectLockRetainUntilDate: until }));
  await main.send(new PutObjectCommand({ Bucket: domain, Key: 'free', Body: 'unlocked' }));
  const r = await fetch(`${node.adminUrl}/v2/DeleteSite?site=${domain}`, { method: 'POST', headers: { authorization: `Bearer ${node.adminToken}`, 'content-type': 'application/json' }, body: '{}' });
  const body = (await r.json()) as { code: string; message: string };
  assert.equal(r.status, 409, JSON.stringify(body));
  assert.equal(body.code, 'ObjectLocked');
  assert.match(body.message, /2 object versions/);
  for (const Key of ['held', 'kept', 'free']) assert.equal((await main.send(new HeadObjectCommand({ Bucket: domain, Key }))).$metadata.httpStatusCode, 200, Key);
  assert.equal((await node.admin('GetSiteInfo', undefined, `site=${domain}`)).domain, domain);
  // The bucket itself cannot go either (S3 and admin): not empty, and the answer says why.
  const info = await node.admin('GetBucketInfo', undefined, `globalAlias=${domain}`);
  const del = await fetch(`${node.adminUrl}/v2/DeleteBucket?id=${info.id}`, { method: 'POST', headers: { authorization: `Bearer ${node.adminToken}`, 'content-type': 'application/json' }, body: '{}' });
  const delBody = (await del.json()) as { code: string; message: string };
  assert.equal(del.status, 409, JSON.stringify(delBody));
  assert.match(delBody.message, /2 .*object lock/);
});
