// End-to-end against the real AWS SDK client over HTTP: whatever encoding it picks (sha256, unsigned,
// aws-chunked with trailing checksums) must authenticate and decode to the bytes that were sent.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client, type ChecksumAlgorithm } from '@aws-sdk/client-s3';
import { S3Error } from '../errors.ts';
import { authenticate, decodeBody } from './index.ts';
import { AKID, SECRET, collect, lookup } from './testkit.ts';

const store = new Map<string, Buffer>();
const seen: { payload: string; checksums: Record<string, string> }[] = [];
let server: Server;
let endpoint = '';

before(async () => {
  server = createServer(async (req, res) => {
    try {
      const url = req.url ?? '/';
      const q = url.indexOf('?');
      const areq = { method: req.method!, rawPath: q < 0 ? url : url.slice(0, q), rawQuery: q < 0 ? '' : url.slice(q + 1), headers: req.headers };
      const auth = authenticate(areq, lookup, 'garage', Date.now());
      const key = decodeURIComponent(areq.rawPath);
      if (req.method === 'PUT') {
        const d = decodeBody(auth, req.headers, req);
        const data = await collect(d.stream);
        const r = d.result();
        store.set(key, data);
        seen.push({ payload: auth.payload.kind, checksums: r.checksums });
        res.writeHead(200, { etag: `"${r.md5Hex}"` }).end();
      } else if (req.method === 'GET' && store.has(key)) {
        res.writeHead(200, { 'content-length': store.get(key)!.length }).end(store.get(key));
      } else {
        req.resume();
        res.writeHead(200, { 'content-type': 'application/xml' }).end(
          `<?xml version="1.0" encoding="UTF-8"?><ListBucketResult><Name>b</Name><Prefix>${new URLSearchParams(areq.rawQuery).get('prefix') ?? ''}</Prefix><KeyCount>0</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated></ListBucketResult>`,
        );
      }
    } catch (e) {
      const err = e instanceof S3Error ? e : new S3Error('InternalError', String(e));
      req.resume();
      res.writeHead(err.status, { 'content-type': 'application/xml' }).end(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>${err.code}</Code><Message>${err.message}</Message></Error>`);
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(() => {
  server.close();
});

function client(secret = SECRET): S3Client {
  return new S3Client({ region: 'garage', endpoint, forcePathStyle: true, credentials: { accessKeyId: AKID, secretAccessKey: secret }, maxAttempts: 1 });
}

test('SDK PutObject/GetObject with buffer and stream bodies and every checksum algorithm', async () => {
  const c = client();
  const algs: (ChecksumAlgorithm | undefined)[] = [undefined, 'CRC32', 'CRC32C', 'SHA1', 'SHA256', 'CRC64NVME'];
  for (const alg of algs) {
    for (const kind of ['buffer', 'stream'] as const) {
      const data = randomBytes(kind === 'stream' ? 200_000 : 3000);
      const key = `dir/ünï cødé+$&=@ ${alg ?? 'default'}-${kind}.bin`;
      const body = kind === 'buffer' ? data : Readable.from([data.subarray(0, 70_000), data.subarray(70_000)]);
      const out = await c.send(new PutObjectCommand({ Bucket: 'b', Key: key, Body: body, ContentLength: data.length, ChecksumAlgorithm: alg }));
      assert.equal(out.ETag, `"${createHash('md5').update(data).digest('hex')}"`, `${alg} ${kind}`);
      assert.ok(store.get(`/b/${key}`)?.equals(data), `${alg} ${kind} stored bytes`);
      if (alg) assert.ok(seen.at(-1)!.checksums[alg.toLowerCase()], `${alg} ${kind} checksum computed`);
      const got = await c.send(new GetObjectCommand({ Bucket: 'b', Key: key }));
      assert.ok(Buffer.from(await got.Body!.transformToByteArray()).equals(data));
    }
  }
  // the SDK exercised more than one payload encoding
  assert.ok(new Set(seen.map((s) => s.payload)).size >= 2, JSON.stringify([...new Set(seen.map((s) => s.payload))]));
  c.destroy();
});

test('SDK ListObjectsV2 with awkward prefix; wrong secret is SignatureDoesNotMatch', async () => {
  const c = client();
  const out = await c.send(new ListObjectsV2Command({ Bucket: 'b', Prefix: 'a b+c/~é*', Delimiter: '/' }));
  assert.equal(out.KeyCount, 0);
  c.destroy();
  const bad = client(SECRET + 'x');
  await assert.rejects(bad.send(new ListObjectsV2Command({ Bucket: 'b' })), (e: Error) => e.name === 'SignatureDoesNotMatch');
  await assert.rejects(bad.send(new PutObjectCommand({ Bucket: 'b', Key: 'k', Body: 'x' })), (e: Error) => e.name === 'SignatureDoesNotMatch');
  bad.destroy();
});
