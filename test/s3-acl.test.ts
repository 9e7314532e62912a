// S3 permissions against a real node: anonymous reads only of what an ACL or a bucket policy makes
// public, grants to another key, PublicAccessBlock refusing and ignoring public ACLs and policies.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  CreateBucketCommand,
  DeleteBucketPolicyCommand,
  GetBucketPolicyStatusCommand,
  GetObjectAclCommand,
  GetObjectCommand,
  PutBucketAclCommand,
  PutBucketPolicyCommand,
  PutObjectAclCommand,
  PutObjectCommand,
  PutPublicAccessBlockCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { startNode, s3Client, type TestNode } from './lib/node.ts';

let node: TestNode;
let main: S3Client;
let alt: S3Client;
let altId: string;

before(async () => {
  node = await startNode();
  main = s3Client(node);
  const k = await node.admin('CreateKey', { name: 'alt', allow: { createBucket: true } });
  altId = k.accessKeyId;
  alt = s3Client({ ...node, keyId: k.accessKeyId, secret: k.secretAccessKey });
});

after(async () => {
  main?.destroy();
  alt?.destroy();
  await node?.stop();
});

/** An unsigned request, as a browser or curl sends it. */
async function anon(method: string, path: string): Promise<{ status: number; body: string }> {
  const r = await fetch(`${node.s3Url}${path}`, { method, signal: AbortSignal.timeout(10_000) });
  return { status: r.status, body: await r.text() };
}

async function rejects(p: Promise<unknown>, status: number, code: string): Promise<void> {
  await assert.rejects(p, (e: { name?: string; $metadata?: { httpStatusCode?: number } }) => {
    assert.equal(e.$metadata?.httpStatusCode, status, `status of ${e.name}`);
    assert.equal(e.name, code);
    return true;
  });
}

const publicRead = (b: string, resource = `arn:aws:s3:::${b}/*`) =>
  JSON.stringify({ Version: '2012-10-17', Statement: [{ Sid: 'PublicRead', Effect: 'Allow', Principal: '*', Action: ['s3:GetObject'], Resource: [resource] }] });

test('anonymous GET: a public-read object yes, a private one and the private bucket listing no', async () => {
  const b = 'acl-anon';
  await main.send(new CreateBucketCommand({ Bucket: b }));
  await main.send(new PutObjectCommand({ Bucket: b, Key: 'pub.txt', Body: 'hello', ACL: 'public-read' }));
  await main.send(new PutObjectCommand({ Bucket: b, Key: 'priv.txt', Body: 'secret' }));
  assert.deepEqual(await anon('GET', `/${b}/pub.txt`), { status: 200, body: 'hello' });
  const denied = await anon('GET', `/${b}/priv.txt`);
  assert.equal(denied.status, 403);
  assert.match(denied.body, /<Code>AccessDenied<\/Code>/);
  assert.equal((await anon('GET', `/${b}`)).status, 403);
  assert.equal((await anon('PUT', `/${b}/new.txt`)).status, 403);
  // Back to private: no longer readable.
  await main.send(new PutObjectAclCommand({ Bucket: b, Key: 'pub.txt', ACL: 'private' }));
  assert.equal((await anon('GET', `/${b}/pub.txt`)).status, 403);
  // A public-read bucket ACL lets anyone list, not read the objects.
  await main.send(new PutBucketAclCommand({ Bucket: b, ACL: 'public-read' }));
  const listing = await anon('GET', `/${b}`);
  assert.equal(listing.status, 200);
  assert.match(listing.body, /<Key>priv.txt<\/Key>/);
  assert.equal((await anon('GET', `/${b}/priv.txt`)).status, 403);
});

test('a bucket policy makes a bucket public; deleting it makes it private again; a malformed policy is a 400', async () => {
  const b = 'acl-policy';
  await main.send(new CreateBucketCommand({ Bucket: b }));
  await main.send(new PutObjectCommand({ Bucket: b, Key: 'site/index.html', Body: '<h1>hi</h1>' }));
  assert.equal((await anon('GET', `/${b}/site/index.html`)).status, 403);
  assert.equal((await main.send(new GetBucketPolicyStatusCommand({ Bucket: b }))).PolicyStatus?.IsPublic, false);
  await main.send(new PutBucketPolicyCommand({ Bucket: b, Policy: publicRead(b, `arn:aws:s3:::${b}/site/*`) }));
  assert.deepEqual(await anon('GET', `/${b}/site/index.html`), { status: 200, body: '<h1>hi</h1>' });
  assert.equal((await main.send(new GetBucketPolicyStatusCommand({ Bucket: b }))).PolicyStatus?.IsPublic, true);
  assert.equal((await anon('GET', `/${b}`)).status, 403, 'GetObject on site/* does not allow listing');
  // Another key may read through the policy too, but not write.
  assert.equal(await (await alt.send(new GetObjectCommand({ Bucket: b, Key: 'site/index.html' }))).Body!.transformToString(), '<h1>hi</h1>');
  await rejects(alt.send(new PutObjectCommand({ Bucket: b, Key: 'site/x', Body: 'x' })), 403, 'AccessDenied');
  await main.send(new DeleteBucketPolicyCommand({ Bucket: b }));
  assert.equal((await anon('GET', `/${b}/site/index.html`)).status, 403);
  await rejects(main.send(new PutBucketPolicyCommand({ Bucket: b, Policy: '{"Statement":[{"Effect":"Allow","NotPrincipal":{"AWS":"x"},"Action":"s3:*","Resource":"*"}]}' })), 400, 'MalformedPolicy');
  await rejects(main.send(new PutBucketPolicyCommand({ Bucket: b, Policy: publicRead(b).replace('"PublicRead"', JSON.stringify('x'.repeat(21 * 1024))) })), 400, 'MalformedPolicy');
  // A policy's Deny beats the owner's own flags.
  await main.send(new PutBucketPolicyCommand({ Bucket: b, Policy: JSON.stringify({ Statement: [{ Effect: 'Deny', Principal: '*', Action: 's3:GetObject', Resource: `arn:aws:s3:::${b}/site/*` }] }) }));
  await rejects(main.send(new GetObjectCommand({ Bucket: b, Key: 'site/index.html' })), 403, 'AccessDenied');
  await main.send(new DeleteBucketPolicyCommand({ Bucket: b }));
});

test('grants to another key: object READ, bucket WRITE; its object is its own', async () => {
  const b = 'acl-grants';
  await main.send(new CreateBucketCommand({ Bucket: b }));
  await main.send(new PutObjectCommand({ Bucket: b, Key: 'k', Body: 'v' }));
  await rejects(alt.send(new GetObjectCommand({ Bucket: b, Key: 'k' })), 403, 'AccessDenied');
  await main.send(new PutObjectAclCommand({ Bucket: b, Key: 'k', GrantRead: `id=${altId}` }));
  assert.equal(await (await alt.send(new GetObjectCommand({ Bucket: b, Key: 'k' }))).Body!.transformToString(), 'v');
  await rejects(alt.send(new PutObjectCommand({ Bucket: b, Key: 'a', Body: 'a' })), 403, 'AccessDenied');
  await main.send(new PutBucketAclCommand({ Bucket: b, GrantWrite: `id=${altId}`, GrantFullControl: `id=${node.keyId}` }));
  await alt.send(new PutObjectCommand({ Bucket: b, Key: 'a', Body: 'a' }));
  const acl = await alt.send(new GetObjectAclCommand({ Bucket: b, Key: 'a' }));
  assert.equal(acl.Owner?.ID, altId);
  assert.deepEqual(acl.Grants?.map((g) => [g.Grantee?.ID, g.Permission]), [[altId, 'FULL_CONTROL']]);
  await rejects(main.send(new PutBucketAclCommand({ Bucket: b, GrantRead: 'id=GK000000000000000000nope' })), 400, 'InvalidArgument');
});

test('PublicAccessBlock: BlockPublicAcls and BlockPublicPolicy refuse, IgnorePublicAcls ignores', async () => {
  const b = 'acl-pab';
  await main.send(new CreateBucketCommand({ Bucket: b }));
  await main.send(new PutObjectCommand({ Bucket: b, Key: 'pub', Body: 'p', ACL: 'public-read' }));
  assert.equal((await anon('GET', `/${b}/pub`)).status, 200);
  await main.send(new PutPublicAccessBlockCommand({ Bucket: b, PublicAccessBlockConfiguration: { IgnorePublicAcls: true } }));
  assert.equal((await anon('GET', `/${b}/pub`)).status, 403, 'IgnorePublicAcls');
  await main.send(new PutPublicAccessBlockCommand({ Bucket: b, PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true } }));
  await rejects(main.send(new PutBucketAclCommand({ Bucket: b, ACL: 'public-read' })), 403, 'AccessDenied');
  await rejects(main.send(new PutObjectCommand({ Bucket: b, Key: 'p2', Body: 'x', ACL: 'authenticated-read' })), 403, 'AccessDenied');
  await rejects(main.send(new PutBucketPolicyCommand({ Bucket: b, Policy: publicRead(b) })), 403, 'AccessDenied');
  // A policy naming a key is not public: allowed.
  await main.send(new PutBucketPolicyCommand({ Bucket: b, Policy: JSON.stringify({ Statement: [{ Effect: 'Allow', Principal: { AWS: [altId] }, Action: 's3:GetObject', Resource: `arn:aws:s3:::${b}/*` }] }) }));
  assert.equal(await (await alt.send(new GetObjectCommand({ Bucket: b, Key: 'pub' }))).Body!.transformToString(), 'p');
});
