// Real S3 clients against a real `grenier server` process: AWS CLI v2 and v1, s3cmd, rclone,
// restic and boto3 (with presigned GET/PUT URLs). Each test skips when its client is absent.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, readFileSync, mkdirSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { GetObjectCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { startNode, s3Client, run, which, cleanEnv, describeRun, type TestNode } from './lib/node.ts';
import { makeTree, diffTrees, listFiles, FastPrng } from './lib/files.ts';

let node: TestNode;
let s3: S3Client;
let work: string;

before(async () => {
  node = await startNode();
  s3 = s3Client(node);
  work = mkdtempSync(join(tmpdir(), 'grenier-clients-'));
});
after(async () => {
  s3?.destroy();
  await node?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

async function objectBytes(bucket: string, key: string): Promise<Buffer> {
  const r = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return Buffer.from(await r.Body!.transformToByteArray());
}

/** A small tree with nested dirs, an empty file, a name with a space and one file > 1 MiB. */
const SMALL_TREE: Record<string, number> = {
  'a.txt': 10,
  'empty': 0,
  'sub/b.bin': 4096,
  'sub/deeper/c.bin': 70_000,
  'sub/with space.txt': 33,
  'big/d.bin': 1_500_000,
};

// ---------------------------------------------------------------------------------------------
// AWS CLI v2 (/usr/bin/aws) and v1 (the first `aws` on PATH, when it is not v2)

function awsCandidates(): { label: string; bin: string | undefined; why?: string }[] {
  const v2 = which('/usr/bin/aws');
  const first = which('aws');
  const v1 = first && first !== '/usr/bin/aws' ? first : undefined;
  return [
    { label: 'v2', bin: v2, why: '/usr/bin/aws not installed (Debian package awscli)' },
    { label: 'v1', bin: v1, why: 'no AWS CLI v1 on PATH (only /usr/bin/aws or none)' },
  ];
}

for (const cand of awsCandidates()) {
  test(`aws CLI ${cand.label}: s3 cp/sync/ls/rm, multipart upload, s3api put/get/list`, { timeout: 240_000 }, async (t) => {
    if (!cand.bin) {
      t.skip(`skipped: ${cand.why}`);
      return;
    }
    const dir = join(work, `aws-${cand.label}`);
    mkdirSync(dir, { recursive: true });
    const cfg = join(dir, 'config');
    writeFileSync(cfg, ['[default]', `region = ${node.region}`, 's3 =', '  multipart_threshold = 5MB', '  multipart_chunksize = 5MB', ''].join('\n'));
    writeFileSync(join(dir, 'credentials'), '');
    const env = cleanEnv({
      AWS_ACCESS_KEY_ID: node.keyId,
      AWS_SECRET_ACCESS_KEY: node.secret,
      AWS_DEFAULT_REGION: node.region,
      AWS_CONFIG_FILE: cfg,
      AWS_SHARED_CREDENTIALS_FILE: join(dir, 'credentials'),
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_PAGER: '',
    });
    const aws = async (...args: string[]) => {
      const r = await run(cand.bin!, ['--endpoint-url', node.s3Url, ...args], { env, timeoutMs: 120_000 });
      assert.equal(r.code, 0, describeRun(`aws ${args.join(' ')}`, r));
      return r.stdout;
    };
    const version = (await run(cand.bin, ['--version'], { env })).stdout.trim();
    t.diagnostic(`${cand.bin}: ${version}`);
    const bucket = `cli-aws-${cand.label}`;

    await aws('s3', 'mb', `s3://${bucket}`);

    // cp up and down
    const one = join(dir, 'one.bin');
    writeFileSync(one, new FastPrng(11).bytes(300_000));
    await aws('s3', 'cp', one, `s3://${bucket}/single/one.bin`);
    assert.equal(sha(await objectBytes(bucket, 'single/one.bin')), sha(readFileSync(one)));
    await aws('s3', 'cp', `s3://${bucket}/single/one.bin`, join(dir, 'one.back'));
    assert.equal(sha(readFileSync(join(dir, 'one.back'))), sha(readFileSync(one)));

    // sync a tree up, list it, sync it back down
    const tree = join(dir, 'tree');
    makeTree(tree, SMALL_TREE, 21);
    await aws('s3', 'sync', tree, `s3://${bucket}/tree/`);
    const ls = await aws('s3', 'ls', '--recursive', `s3://${bucket}/tree/`);
    const listed = ls
      .trim()
      .split('\n')
      .map((l) => l.replace(/^\S+\s+\S+\s+\d+\s+/, ''))
      .sort();
    assert.deepEqual(listed, listFiles(tree).map((f) => `tree/${f}`));
    // A second sync uploads nothing.
    const again = await aws('s3', 'sync', tree, `s3://${bucket}/tree/`);
    assert.equal(again.trim(), '', `second sync should be a no-op, printed: ${again}`);
    const down = join(dir, 'tree-down');
    await aws('s3', 'sync', `s3://${bucket}/tree/`, down);
    assert.deepEqual(diffTrees(tree, down), []);
    const top = await aws('s3', 'ls', `s3://${bucket}/`);
    assert.match(top, /PRE single\//);
    assert.match(top, /PRE tree\//);

    // multipart: 17 MiB with a 5 MB threshold and chunk size → 4 parts
    const big = join(dir, 'big.bin');
    writeFileSync(big, new FastPrng(12).bytes(17 * 1024 * 1024));
    await aws('s3', 'cp', big, `s3://${bucket}/big.bin`);
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'big.bin' }));
    assert.match(head.ETag ?? '', /-4"$/, `expected a 4-part multipart ETag, got ${head.ETag}`);
    assert.equal(head.ContentLength, 17 * 1024 * 1024);
    await aws('s3', 'cp', `s3://${bucket}/big.bin`, join(dir, 'big.back'));
    assert.equal(sha(readFileSync(join(dir, 'big.back'))), sha(readFileSync(big)));

    // s3api
    const api = join(dir, 'api.bin');
    writeFileSync(api, new FastPrng(13).bytes(12_345));
    const put = JSON.parse(await aws('s3api', 'put-object', '--bucket', bucket, '--key', 'api/obj', '--body', api, '--content-type', 'text/x-api', '--metadata', 'k1=v1'));
    assert.equal(put.ETag, `"${createHash('md5').update(readFileSync(api)).digest('hex')}"`);
    const got = JSON.parse(await aws('s3api', 'get-object', '--bucket', bucket, '--key', 'api/obj', join(dir, 'api.back')));
    assert.equal(got.ContentType, 'text/x-api');
    assert.deepEqual(got.Metadata, { k1: 'v1' });
    assert.equal(got.ContentLength, 12_345);
    assert.deepEqual(readFileSync(join(dir, 'api.back')), readFileSync(api));
    const lst = JSON.parse(await aws('s3api', 'list-objects-v2', '--bucket', bucket, '--prefix', 'api/'));
    assert.deepEqual(lst.Contents.map((c: { Key: string; Size: number }) => [c.Key, c.Size]), [['api/obj', 12_345]]);
    // Pagination through the CLI's paginator (page size 2 over the tree).
    const paged = JSON.parse(await aws('s3api', 'list-objects-v2', '--bucket', bucket, '--prefix', 'tree/', '--page-size', '2'));
    assert.equal(paged.Contents.length, Object.keys(SMALL_TREE).length);

    // rm --recursive
    await aws('s3', 'rm', '--recursive', `s3://${bucket}/`);
    const empty = JSON.parse((await aws('s3api', 'list-objects-v2', '--bucket', bucket)) || '{}');
    assert.equal(empty.KeyCount ?? (empty.Contents?.length ?? 0), 0, `bucket should be empty: ${JSON.stringify(empty)}`);
  });
}

// ---------------------------------------------------------------------------------------------
// s3cmd

test('s3cmd: mb, put (simple and multipart), ls, get, del', { timeout: 180_000 }, async (t) => {
  const bin = which('s3cmd');
  if (!bin) {
    t.skip('skipped: s3cmd not installed (Debian package s3cmd)');
    return;
  }
  const dir = join(work, 's3cmd');
  mkdirSync(dir, { recursive: true });
  const hostPort = node.s3Url.replace('http://', '');
  const cfg = join(dir, 's3cfg');
  writeFileSync(
    cfg,
    [
      '[default]',
      `access_key = ${node.keyId}`,
      `secret_key = ${node.secret}`,
      `host_base = ${hostPort}`,
      `host_bucket = ${hostPort}`,
      'use_https = False',
      'signature_v2 = False',
      `bucket_location = ${node.region}`,
      'multipart_chunk_size_mb = 5',
      'check_ssl_certificate = False',
      'proxy_host =',
      '',
    ].join('\n'),
  );
  const env = cleanEnv({ HOME: dir });
  const s3cmd = async (...args: string[]) => {
    const r = await run(bin, ['-c', cfg, ...args], { env, timeoutMs: 120_000 });
    assert.equal(r.code, 0, describeRun(`s3cmd ${args.join(' ')}`, r));
    return r.stdout;
  };
  const bucket = 'cli-s3cmd';
  await s3cmd('mb', `s3://${bucket}`);
  const small = join(dir, 'small.txt');
  writeFileSync(small, 'hello from s3cmd\n');
  const big = join(dir, 'big.bin');
  writeFileSync(big, new FastPrng(31).bytes(12 * 1024 * 1024 + 5));
  await s3cmd('put', small, `s3://${bucket}/docs/small.txt`);
  await s3cmd('put', big, `s3://${bucket}/big.bin`);
  const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'big.bin' }));
  assert.match(head.ETag ?? '', /-3"$/, `s3cmd with 5 MB chunks should upload 3 parts, ETag ${head.ETag}`);

  const ls = await s3cmd('ls', `s3://${bucket}`);
  assert.match(ls, /DIR\s+s3:\/\/cli-s3cmd\/docs\//);
  assert.match(ls, new RegExp(`${12 * 1024 * 1024 + 5}\\s+s3://cli-s3cmd/big\\.bin`));
  const lsr = await s3cmd('ls', '--recursive', `s3://${bucket}`);
  assert.match(lsr, /s3:\/\/cli-s3cmd\/docs\/small\.txt/);

  await s3cmd('get', `s3://${bucket}/docs/small.txt`, join(dir, 'small.back'));
  assert.equal(readFileSync(join(dir, 'small.back'), 'utf8'), 'hello from s3cmd\n');
  await s3cmd('get', `s3://${bucket}/big.bin`, join(dir, 'big.back'));
  assert.equal(sha(readFileSync(join(dir, 'big.back'))), sha(readFileSync(big)));

  await s3cmd('del', `s3://${bucket}/docs/small.txt`);
  await s3cmd('del', `s3://${bucket}/big.bin`);
  const after = await s3cmd('ls', '--recursive', `s3://${bucket}`);
  assert.equal(after.trim(), '', `bucket should be empty, s3cmd ls printed: ${after}`);
});

// ---------------------------------------------------------------------------------------------
// rclone

test('rclone: sync a tree (incl. a multipart file) then check it', { timeout: 180_000 }, async (t) => {
  const bin = which('rclone');
  if (!bin) {
    t.skip('skipped: rclone not installed (Debian package rclone)');
    return;
  }
  const dir = join(work, 'rclone');
  const tree = join(dir, 'tree');
  makeTree(tree, { ...SMALL_TREE, 'big/multipart.bin': 11 * 1024 * 1024 }, 41);
  writeFileSync(join(dir, 'rclone.conf'), '');
  // rclone refuses to start with AWS_CA_BUNDLE set against plain HTTP: cleanEnv drops every AWS_*.
  const env = cleanEnv({
    RCLONE_CONFIG: join(dir, 'rclone.conf'),
    RCLONE_CONFIG_G_TYPE: 's3',
    RCLONE_CONFIG_G_PROVIDER: 'Other',
    RCLONE_CONFIG_G_ENDPOINT: node.s3Url,
    RCLONE_CONFIG_G_ACCESS_KEY_ID: node.keyId,
    RCLONE_CONFIG_G_SECRET_ACCESS_KEY: node.secret,
    RCLONE_CONFIG_G_REGION: node.region,
    RCLONE_CONFIG_G_FORCE_PATH_STYLE: 'true',
    RCLONE_CONFIG_G_UPLOAD_CUTOFF: '5M',
    RCLONE_CONFIG_G_CHUNK_SIZE: '5M',
    RCLONE_CACHE_DIR: join(dir, 'cache'),
  });
  const rclone = async (...args: string[]) => {
    const r = await run(bin, [...args], { env, timeoutMs: 120_000 });
    assert.equal(r.code, 0, describeRun(`rclone ${args.join(' ')}`, r));
    return r;
  };
  t.diagnostic((await rclone('version')).stdout.split('\n')[0]!);
  await rclone('mkdir', 'g:cli-rclone');
  await rclone('sync', tree, 'g:cli-rclone/backup/path');
  await rclone('check', tree, 'g:cli-rclone/backup/path');
  const head = await s3.send(new HeadObjectCommand({ Bucket: 'cli-rclone', Key: 'backup/path/big/multipart.bin' }));
  assert.match(head.ETag ?? '', /-3"$/, `rclone should have uploaded 3 parts of 5 MiB, ETag ${head.ETag}`);
  const ls = (await rclone('lsf', '-R', '--files-only', 'g:cli-rclone/backup/path')).stdout.trim().split('\n').sort();
  assert.deepEqual(ls, listFiles(tree));

  // Change the tree: one file modified, one removed, one added; sync and check again.
  writeFileSync(join(tree, 'a.txt'), 'changed content');
  rmSync(join(tree, 'sub/b.bin'));
  writeFileSync(join(tree, 'new.txt'), 'new file');
  await rclone('sync', tree, 'g:cli-rclone/backup/path');
  await rclone('check', tree, 'g:cli-rclone/backup/path');
  assert.equal((await objectBytes('cli-rclone', 'backup/path/a.txt')).toString(), 'changed content');

  // Download with rclone copy and compare.
  const down = join(dir, 'down');
  await rclone('copy', 'g:cli-rclone/backup/path', down);
  assert.deepEqual(diffTrees(tree, down), []);
});

// ---------------------------------------------------------------------------------------------
// restic

test('restic: init, backup, check --read-data, restore byte for byte', { timeout: 240_000 }, async (t) => {
  const bin = which('restic');
  if (!bin) {
    t.skip('skipped: restic not installed (Debian package restic)');
    return;
  }
  const dir = join(work, 'restic');
  const src = join(dir, 'src');
  const files: Record<string, number> = {};
  const g = new FastPrng(51);
  for (let i = 0; i < 40; i++) files[`d${i % 5}/f${i}.bin`] = g.bytes(4).readUInt32LE(0) % 100_000;
  files['large/one.bin'] = 1_300_000;
  files['large/two.bin'] = 2_500_000;
  files['large/three.bin'] = 3 * 1024 * 1024 + 1;
  files['empty.txt'] = 0;
  makeTree(src, files, 52);
  const env = cleanEnv({
    RESTIC_REPOSITORY: `s3:${node.s3Url}/cli-restic`,
    RESTIC_PASSWORD: 'correct horse battery staple',
    AWS_ACCESS_KEY_ID: node.keyId,
    AWS_SECRET_ACCESS_KEY: node.secret,
    AWS_DEFAULT_REGION: node.region,
    RESTIC_CACHE_DIR: join(dir, 'cache'),
  });
  const restic = async (...args: string[]) => {
    const r = await run(bin, ['-o', `s3.region=${node.region}`, ...args], { env, timeoutMs: 180_000 });
    assert.equal(r.code, 0, describeRun(`restic ${args.join(' ')}`, r));
    return r;
  };
  t.diagnostic((await restic('version')).stdout.trim());
  await restic('init');
  await restic('backup', src);
  const check = await restic('check', '--read-data');
  assert.match(check.stdout, /no errors were found/);
  const target = join(dir, 'restored');
  await restic('restore', 'latest', '--target', target);
  const restoredRoot = join(target, src);
  assert.ok(existsSync(restoredRoot), `restic restored nothing under ${restoredRoot}`);
  assert.deepEqual(diffTrees(src, restoredRoot), []);
  // A second backup after a change, then a snapshot listing with both.
  writeFileSync(join(src, 'd0/added.txt'), 'added after the first snapshot');
  await restic('backup', src);
  const snaps = JSON.parse((await restic('snapshots', '--json')).stdout);
  assert.equal(snaps.length, 2);
});

// ---------------------------------------------------------------------------------------------
// boto3 (Debian's python3-boto3, through /usr/bin/python3)

const BOTO_SCRIPT = `
import json, os, sys
import boto3
from botocore.config import Config
c = boto3.client('s3', endpoint_url=os.environ['EP'], region_name=os.environ['REGION'],
                 aws_access_key_id=os.environ['KID'], aws_secret_access_key=os.environ['SECRET'],
                 config=Config(signature_version='s3v4', s3={'addressing_style': 'path'}, retries={'max_attempts': 1}))
b = os.environ['BUCKET']
c.create_bucket(Bucket=b)
data = bytes(range(256)) * 1000
c.put_object(Bucket=b, Key='boto/obj.bin', Body=data, Metadata={'from': 'boto3'})
got = c.get_object(Bucket=b, Key='boto/obj.bin')
body = got['Body'].read()
assert body == data, 'boto3 read back different bytes'
rng = c.get_object(Bucket=b, Key='boto/obj.bin', Range='bytes=256-511')['Body'].read()
assert rng == bytes(range(256)), 'boto3 range read differs'
keys = [o['Key'] for o in c.list_objects_v2(Bucket=b)['Contents']]
print(json.dumps({
  'metadata': got['Metadata'],
  'keys': keys,
  'get_url': c.generate_presigned_url('get_object', Params={'Bucket': b, 'Key': 'boto/obj.bin'}, ExpiresIn=300),
  'put_url': c.generate_presigned_url('put_object', Params={'Bucket': b, 'Key': 'boto/presigned-put.txt'}, ExpiresIn=300),
  'short_url': c.generate_presigned_url('get_object', Params={'Bucket': b, 'Key': 'boto/obj.bin'}, ExpiresIn=1),
}))
`;

test('boto3: put/get/range/list, presigned GET and PUT (SigV4) used from plain HTTP', { timeout: 120_000 }, async (t) => {
  const py = which('/usr/bin/python3');
  if (!py) {
    t.skip('skipped: /usr/bin/python3 not installed');
    return;
  }
  const probe = await run(py, ['-c', 'import boto3; print(boto3.__version__)'], { env: cleanEnv() });
  if (probe.code !== 0) {
    t.skip('skipped: boto3 not importable by /usr/bin/python3 (Debian package python3-boto3)');
    return;
  }
  t.diagnostic(`boto3 ${probe.stdout.trim()}`);
  const bucket = 'cli-boto3';
  const r = await run(py, ['-c', BOTO_SCRIPT], {
    env: cleanEnv({ EP: node.s3Url, REGION: node.region, KID: node.keyId, SECRET: node.secret, BUCKET: bucket }),
    timeoutMs: 60_000,
  });
  assert.equal(r.code, 0, describeRun('boto3 script', r));
  const out = JSON.parse(r.stdout);
  assert.deepEqual(out.metadata, { from: 'boto3' });
  assert.deepEqual(out.keys, ['boto/obj.bin']);
  assert.match(out.get_url, /X-Amz-Algorithm=AWS4-HMAC-SHA256/, `boto3 did not presign with SigV4: ${out.get_url}`);

  const expected = Buffer.concat(Array.from({ length: 1000 }, () => Buffer.from(Array.from({ length: 256 }, (_, i) => i))));
  const g = await fetch(out.get_url, { signal: AbortSignal.timeout(10_000) });
  const gb = Buffer.from(await g.arrayBuffer());
  assert.equal(g.status, 200, `presigned GET: ${gb.toString().slice(0, 500)}`);
  assert.equal(sha(gb), sha(expected));

  const p = await fetch(out.put_url, { method: 'PUT', body: 'uploaded through a presigned URL', signal: AbortSignal.timeout(10_000) });
  assert.equal(p.status, 200, `presigned PUT: ${await p.text()}`);
  assert.equal((await objectBytes(bucket, 'boto/presigned-put.txt')).toString(), 'uploaded through a presigned URL');

  // A tampered signature and an expired URL are refused.
  const tampered = out.get_url.replace(/X-Amz-Signature=([0-9a-f])/, (_m: string, c: string) => `X-Amz-Signature=${c === '0' ? '1' : '0'}`);
  const tr = await fetch(tampered, { signal: AbortSignal.timeout(10_000) });
  assert.equal(tr.status, 403);
  assert.match(await tr.text(), /SignatureDoesNotMatch/);
  await new Promise((res) => setTimeout(res, 2200));
  const ex = await fetch(out.short_url, { signal: AbortSignal.timeout(10_000) });
  assert.equal(ex.status, 403, 'an expired presigned URL must be refused');
  assert.match(await ex.text(), /AccessDenied|expired/i);
  // Presigned PUT to a key the URL was not signed for is refused.
  const other = out.put_url.replace('presigned-put.txt', 'other.txt');
  const or = await fetch(other, { method: 'PUT', body: 'x', signal: AbortSignal.timeout(10_000) });
  assert.equal(or.status, 403);
  await or.text();
});
