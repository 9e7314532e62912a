// A node under every known tenant attack at once keeps serving an honest tenant: the attacks of the
// hardening issue run concurrently against one real node while a victim PUTs and GETs; at the end the
// process is alive, every victim operation succeeded, attacks got 4xx answers, and RSS stayed bounded.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Agent, request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { readFileSync } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import {
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutBucketVersioningCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { startNode, s3Client, type TestNode } from './lib/node.ts';
import { chunkedPut } from './lib/chunked-put.ts';
import { authHeaders } from '../src/cli/site-client.ts';

const RSS_MAX_MB = 256;
let node: TestNode;
let attacker: { id: string; secret: string };

before(async () => {
  node = await startNode();
  const k = await node.admin('CreateKey', { name: 'attacker', allow: { createBucket: true } });
  attacker = { id: k.accessKeyId, secret: k.secretAccessKey };
});
after(async () => {
  await node?.stop();
});

function statusKb(pid: number, field: string): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : 0;
}

/** Sends raw bytes, resolves with the status code of the first answer (0 if none) once closed or after `ms`. */
function raw(port: number, bytes: string, ms: number): Promise<number> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    let got = '';
    const done = () => {
      clearTimeout(t);
      s.destroy();
      resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(got)?.[1] ?? 0));
    };
    const t = setTimeout(done, ms);
    s.on('error', () => {});
    s.on('data', (d) => (got += d.toString('latin1')));
    s.on('close', done);
    s.write(bytes);
  });
}

/** Holds a PUT that declares 10^12 bytes and trickles 10 bytes every second, until closed or `ms`. */
function slowloris(port: number, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const s: Socket = connect(port, '127.0.0.1');
    s.on('error', () => {});
    s.write('PUT /victim/x HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000000000000\r\n\r\n');
    const tick = setInterval(() => s.write('0123456789'), 1000);
    const end = () => {
      clearInterval(tick);
      clearTimeout(t);
      s.destroy();
      resolve();
    };
    const t = setTimeout(end, ms);
    s.on('close', end);
  });
}

function expect4xx(what: string, status: number | undefined): void {
  assert.ok(status !== undefined && status >= 400 && status < 500, `${what}: expected a 4xx answer, got ${status}`);
}

async function sdkStatus(p: Promise<unknown>): Promise<number | undefined> {
  try {
    await p;
    return 200;
  } catch (e) {
    return (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  }
}

test('every known tenant attack at once: the node keeps serving another tenant, RSS under 256 MB', { timeout: 180_000 }, async () => {
  const s3u = new URL(node.s3Url);
  const adminU = new URL(node.adminUrl);
  const port = Number(s3u.port);
  // The honest tenant comes from another loopback address, as another home would.
  const victimS3 = s3Client(node, { requestHandler: new NodeHttpHandler({ httpAgent: new Agent({ keepAlive: true, localAddress: '127.0.0.5' }) }) });
  const evil: S3Client = s3Client(node, { credentials: { accessKeyId: attacker.id, secretAccessKey: attacker.secret } });
  await victimS3.send(new CreateBucketCommand({ Bucket: 'victim' }));
  await evil.send(new CreateBucketCommand({ Bucket: 'evil' }));
  await evil.send(new PutBucketVersioningCommand({ Bucket: 'evil', VersioningConfiguration: { Status: 'Enabled' } }));
  const info = await node.admin('GetBucketInfo', undefined, 'globalAlias=evil');
  await node.admin('UpdateBucket', { quotas: { maxSize: 10_000_000, maxObjects: null } }, `id=${info.id}`);

  const DURATION_MS = 20_000;
  const stopAt = Date.now() + DURATION_MS;
  let victimOk = 0;
  const victimErrors: string[] = [];
  const victim = (async () => {
    let i = 0;
    while (Date.now() < stopAt) {
      const body = randomBytes(64 * 1024);
      const key = `v/${i++ % 20}`;
      try {
        await victimS3.send(new PutObjectCommand({ Bucket: 'victim', Key: key, Body: body }));
        const got = await victimS3.send(new GetObjectCommand({ Bucket: 'victim', Key: key }));
        const back = Buffer.from(await got.Body!.transformToByteArray());
        assert.ok(back.equals(body), 'victim read back other bytes');
        victimOk++;
      } catch (e) {
        victimErrors.push(String((e as Error).message ?? e));
      }
    }
  })();

  const statuses: Record<string, number | undefined> = {};
  const attacks: Promise<unknown>[] = [];
  // Over-long keys on multipart and on a versioned delete (each used to end the process).
  attacks.push((async () => (statuses.mpuLongKey = await sdkStatus(evil.send(new CreateMultipartUploadCommand({ Bucket: 'evil', Key: 'k'.repeat(2048) })))))());
  attacks.push((async () => (statuses.deleteLongKey = await sdkStatus(evil.send(new DeleteObjectCommand({ Bucket: 'evil', Key: 'd'.repeat(3000) })))))());
  attacks.push((async () => (statuses.listLongPrefix = await sdkStatus(evil.send(new ListObjectsV2Command({ Bucket: 'evil', Prefix: 'p'.repeat(2000) })))))());
  // A 32 MiB JSON body to a site endpoint, signed by a key that owns no site.
  attacks.push(
    (async () => {
      const body = Buffer.alloc(32 * 1024 * 1024, 0x20);
      body.write('{"blobs":[', 0);
      const target = '/v2/CheckSiteBlobs?site=x';
      const sha = createHash('sha256').update(body).digest('hex');
      // Signed for this node (every admin answer names it), so the refusal is the ownership check's.
      const nodeId = (await fetch(`${node.adminUrl}/health/live`)).headers.get('x-grenier-node') ?? '';
      const headers = authHeaders({ kind: 'owner', keyId: attacker.id, secret: attacker.secret }, 'POST', target, sha, nodeId);
      statuses.bigJson = await new Promise<number>((resolve) => {
        const req = request({ host: adminU.hostname, port: adminU.port, method: 'POST', path: target, headers: { ...headers, 'content-length': body.length } }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', () => resolve(0));
        req.end(body);
      });
    })(),
  );
  // Inherited property names as admin operations.
  attacks.push((async () => (statuses.adminConstructor = await raw(Number(adminU.port), 'GET /v2/constructor HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', 5000)))());
  // A 5000-character credential, unauthenticated.
  attacks.push(
    (async () =>
      (statuses.longCredential = await raw(
        port,
        `GET /victim/v/0 HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: AWS4-HMAC-SHA256 Credential=${'A'.repeat(5000)}/20260101/garage/s3/aws4_request, SignedHeaders=host, Signature=00\r\n\r\n`,
        5000,
      )))(),
  );
  // A streamed (chunked, no declared length) 80 MiB PUT into a 10 MB quota.
  attacks.push(
    (async () => {
      const r = await chunkedPut(node, 'evil', 'big', 80 * 1024 * 1024, { accessKeyId: attacker.id, secretAccessKey: attacker.secret }).catch(() => undefined);
      statuses.chunkedOverQuota = r?.status;
    })(),
  );
  // Slow bodies that declare a terabyte, anonymous: 40 of them for the whole run.
  for (let i = 0; i < 40; i++) attacks.push(slowloris(port, DURATION_MS));

  await Promise.all(attacks);
  await victim;

  assert.doesNotThrow(() => process.kill(node.pid, 0), 'the node process is alive');
  assert.deepEqual(victimErrors, [], 'every operation of the honest tenant succeeded');
  assert.ok(victimOk > 10, `the honest tenant made progress (${victimOk} PUT+GET)`);
  for (const [what, st] of Object.entries(statuses)) expect4xx(what, st);
  const hwmMb = statusKb(node.pid, 'VmHWM') / 1024;
  console.log(`# tenant soak: victim ${victimOk} PUT+GET, attacks ${JSON.stringify(statuses)}, node RSS peak ${hwmMb.toFixed(1)} MiB`);
  assert.ok(hwmMb < RSS_MAX_MB, `node RSS peak ${hwmMb.toFixed(1)} MiB must stay under ${RSS_MAX_MB}`);
  // And afterwards it still serves everyone.
  const r = await victimS3.send(new ListObjectsV2Command({ Bucket: 'victim' }));
  assert.ok((r.KeyCount ?? 0) > 0);
});
