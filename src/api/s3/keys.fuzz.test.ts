// Property-based fuzzing of object keys through a live in-process S3 server: unicode, exactly
// 1023-1025 bytes, ~2-3 KB, `../`, NUL and %-escapes, sent raw or encoded, on every operation that
// takes a key. Only 2xx/4xx/501/503 answers, errors in S3 XML, a stored key reads back, the node keeps
// serving, no file appears outside the data and metadata dirs, RSS stays bounded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { createS3Server } from './server.ts';
import { testEnv } from './ops/test-ctx.ts';
import { parseXml } from './xml.ts';
import { canonicalQuery, canonicalRequest, canonicalUri, deriveSigningKey, formatAmzDate, parseQuery, signHex, stringToSign, uriEncodeBytes } from './auth/sigv4.ts';

// Each case is ~20 requests: a sixth of the run count keeps npm test at a few seconds.
const RUNS = Math.max(20, Math.floor(Number(process.env.GRENIER_FUZZ_RUNS ?? 300) / 6));
const REGION = 'garage';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

const pct = (s: string): string => uriEncodeBytes(Buffer.from(s, 'utf8'));

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => !d.isDirectory())
    .map((d) => relative(dir, join(d.parentPath, d.name)));
}

// Keys of a given UTF-8 byte length, made of 1-, 2- and 3-byte characters.
const keyOfBytes = (n: number) =>
  fc.array(fc.constantFrom('a', 'é', '€', '/', '.'), { minLength: 0, maxLength: 8 }).map((seed) => {
    let k = '';
    for (let i = 0; Buffer.byteLength(k) < n; i++) {
      const c = seed.length ? seed[i % seed.length]! : 'a';
      k += Buffer.byteLength(k + c) <= n ? c : 'a';
    }
    return k;
  });
const segment = fc.constantFrom('..', '.', '', 'a', 'é', '%2e%2e', '%00', '\u0000', '%', '%zz', '+', ' ', '?', '#', '\\..\\', '~', '\r\n', '\ud800', '😀');
const key = fc.oneof(
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 }),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 40 }),
  fc.array(segment, { minLength: 1, maxLength: 8 }).map((s) => s.join('/')),
  fc.constantFrom(1023, 1024, 1025, 2000, 3000).chain(keyOfBytes),
);

test('fuzz: object keys through a live S3 server: 2xx/4xx/503 in S3 XML, round trip, nothing outside data_dir', async () => {
  const env = await testEnv();
  const srv = createS3Server(env.store, { region: REGION });
  await new Promise<void>((ok) => srv.listen(0, '127.0.0.1', ok));
  const port = (srv.address() as AddressInfo).port;
  const { id, secret } = env.accessKey;

  const send = (method: string, rawPath: string, rawQuery = '', body = '', extra: Record<string, string> = {}): Promise<Answer> => {
    const amz = formatAmzDate(Date.now());
    const headers: Record<string, string> = { host: `127.0.0.1:${port}`, 'x-amz-date': amz, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD', ...extra };
    const signed = Object.keys(headers).sort();
    const scope = `${amz.slice(0, 8)}/${REGION}/s3/aws4_request`;
    const canonical = canonicalRequest(method, canonicalUri(rawPath), canonicalQuery(parseQuery(rawQuery)), headers, signed, 'UNSIGNED-PAYLOAD');
    const sig = signHex(deriveSigningKey(secret, amz.slice(0, 8), REGION, 's3'), stringToSign(amz, scope, canonical));
    headers.authorization = `AWS4-HMAC-SHA256 Credential=${id}/${scope}, SignedHeaders=${signed.join(';')}, Signature=${sig}`;
    headers['content-length'] = String(Buffer.byteLength(body));
    return new Promise((ok, fail) => {
      const req = request({ host: '127.0.0.1', port, method, path: rawQuery ? `${rawPath}?${rawQuery}` : rawPath, headers }, (res) => {
        const parts: Buffer[] = [];
        res.on('data', (c: Buffer) => parts.push(c));
        res.on('end', () => ok({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(parts).toString('utf8') }));
        res.on('error', fail);
      });
      req.on('error', fail);
      req.end(body);
    });
  };

  const check = (what: string, a: Answer, method: string): void => {
    const ok = (a.status >= 200 && a.status < 300) || (a.status >= 400 && a.status < 500) || a.status === 503 || a.status === 501; // 501: not implemented here
    assert.ok(ok, `${what}: status ${a.status} ${a.body.slice(0, 300)}`);
    if (a.status >= 400 && method !== 'HEAD' && a.status !== 431) {
      assert.equal(a.headers['content-type'], 'application/xml', `${what}: ${a.status} without S3 XML`);
      const doc = parseXml(a.body);
      assert.equal(doc.name, 'Error');
      assert.ok(doc.children.some((c) => c.name === 'Code' && c.text !== ''), `${what}: no Code`);
    }
  };

  try {
    assert.equal((await send('PUT', '/fuzz')).status, 200);
    assert.equal((await send('PUT', '/fuzzv')).status, 200);
    const vers = '<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>';
    assert.equal((await send('PUT', '/fuzzv', 'versioning=', vers)).status, 200);
    const rss0 = process.memoryUsage().rss;

    await fc.assert(
      fc.asyncProperty(key, fc.constantFrom('encoded', 'raw', 'slash-encoded'), fc.constantFrom('fuzz', 'fuzzv'), async (k, mode, bucket) => {
        // raw: as typed, where the HTTP client allows it (printable ASCII, no ?/#/%/space).
        const enc =
          mode === 'raw' && /^[\x21-\x7e]*$/.test(k) && !/[?#%]/.test(k)
            ? k
            : mode === 'slash-encoded'
              ? pct(k)
              : k.split('/').map(pct).join('/');
        const path = `/${bucket}/${enc}`;
        const copySource = `${bucket}/${k.split('/').map(pct).join('/')}`;
        const put = await send('PUT', path, '', 'x');
        check('PUT', put, 'PUT');
        const get = await send('GET', path);
        check('GET', get, 'GET');
        if (put.status === 200) {
          assert.equal(get.status, 200, `stored key does not read back: ${get.body.slice(0, 200)}`);
          assert.equal(get.body, 'x');
        }
        check('HEAD', await send('HEAD', path), 'HEAD');
        check('Copy', await send('PUT', `/${bucket}/copy-target`, '', '', { 'x-amz-copy-source': copySource }), 'PUT');
        check('CopyTo', await send('PUT', path, '', '', { 'x-amz-copy-source': `${bucket}/copy-target` }), 'PUT');
        check('PutTagging', await send('PUT', path, 'tagging=', '<Tagging><TagSet><Tag><Key>a</Key><Value>b</Value></Tag></TagSet></Tagging>'), 'PUT');
        check('GetTagging', await send('GET', path, 'tagging='), 'GET');
        const mpu = await send('POST', path, 'uploads=');
        check('CreateMultipartUpload', mpu, 'POST');
        const upload = /<UploadId>([^<]+)<\/UploadId>/.exec(mpu.body)?.[1];
        if (upload) {
          check('UploadPart', await send('PUT', path, `partNumber=1&uploadId=${pct(upload)}`, 'p'), 'PUT');
          check('ListParts', await send('GET', path, `uploadId=${pct(upload)}`), 'GET');
          check('AbortMultipartUpload', await send('DELETE', path, `uploadId=${pct(upload)}`), 'DELETE');
        }
        for (const p of ['prefix', 'start-after']) check(`List ${p}`, await send('GET', `/${bucket}`, `list-type=2&${p}=${pct(k)}`), 'GET');
        check('ListV1 marker', await send('GET', `/${bucket}`, `marker=${pct(k)}`), 'GET');
        check('ListVersions', await send('GET', `/${bucket}`, `versions=&key-marker=${pct(k)}&prefix=${pct(k)}`), 'GET');
        check('ListUploads', await send('GET', `/${bucket}`, `uploads=&key-marker=${pct(k)}`), 'GET');
        const delBody = `<Delete><Object><Key>${k.replace(/&/g, '&amp;').replace(/</g, '&lt;')}</Key></Object></Delete>`;
        check('DeleteObjects', await send('POST', `/${bucket}`, 'delete=', delBody), 'POST');
        check('DELETE', await send('DELETE', path), 'DELETE');
        check('DELETE again', await send('DELETE', path), 'DELETE');
        // The node still serves an ordinary request after whatever this key did.
        assert.equal((await send('GET', `/${bucket}`, 'list-type=2&max-keys=1')).status, 200);
      }),
      { numRuns: RUNS },
    );

    for (const f of filesUnder(env.dir)) assert.match(f, /^(meta|data)\//, `file outside the data and metadata dirs: ${f}`);
    const grown = process.memoryUsage().rss - rss0;
    assert.ok(grown < 256 * 1024 * 1024, `RSS grew by ${(grown / 1048576).toFixed(0)} MiB`);
  } finally {
    srv.closeAllConnections();
    await new Promise((ok) => srv.close(ok));
    await env.close();
  }
});
