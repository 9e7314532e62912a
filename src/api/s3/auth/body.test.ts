import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { Readable } from 'node:stream';
import { authenticate, decodeBody } from './index.ts';
import { checksumBase64 } from './checksums.ts';
import {
  AKID,
  SECRET,
  T2013,
  bytewise,
  collect,
  collectSettled,
  encodeSigned,
  encodeUnsigned,
  lookup,
  pieces,
  s3err,
  signingKeyOf,
  type ChunkSigning,
} from './testkit.ts';
import type { AuthResult, PayloadMode } from './types.ts';

const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');
const SCOPE = '20130524/us-east-1/s3/aws4_request';
const SEED = '4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9';
const KEY = signingKeyOf(SECRET, '20130524', 'us-east-1');
const SIGNING: ChunkSigning = { key: KEY, amzDate: '20130524T000000Z', scope: SCOPE, seed: SEED };

function fakeAuth(payload: PayloadMode): AuthResult {
  return { accessKeyId: AKID, payload, signing: { signingKey: KEY, scope: SCOPE, seedSignature: SEED, amzDate: '20130524T000000Z' } };
}
const signedAuth = (trailer = false) => fakeAuth({ kind: 'streaming-signed', trailer });
const unsignedTrailerAuth = () => fakeAuth({ kind: 'streaming-unsigned-trailer' });

async function decode(auth: AuthResult, headers: IncomingHttpHeaders, body: Readable) {
  const d = decodeBody(auth, headers, body);
  const data = await collect(d.stream);
  return { data, ...d.result() };
}

async function decodeFails(auth: AuthResult, headers: IncomingHttpHeaders, body: Readable, code: string, msg?: RegExp) {
  const d = decodeBody(auth, headers, body);
  const { data, error } = await collectSettled(d.stream);
  assert.ok(error, `expected ${code}, stream ended cleanly`);
  s3err(code, msg)(error);
  assert.throws(() => d.result());
  return data;
}

// AWS docs, "Signature Calculations for the Authorization Header: Transferring Payload in Multiple Chunks".
test('AWS example: streaming PUT of 66560 bytes, seed and chunk signatures', async () => {
  const headers: IncomingHttpHeaders = {
    host: 's3.amazonaws.com',
    'x-amz-date': '20130524T000000Z',
    'x-amz-storage-class': 'REDUCED_REDUNDANCY',
    'x-amz-content-sha256': 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD',
    'content-encoding': 'aws-chunked',
    'x-amz-decoded-content-length': '66560',
    'content-length': '66824',
    authorization:
      'AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,' +
      'SignedHeaders=content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class,' +
      `Signature=${SEED}`,
  };
  const auth = authenticate({ method: 'PUT', rawPath: '/examplebucket/chunkObject.txt', rawQuery: '', headers }, lookup, 'us-east-1', T2013);
  assert.deepEqual(auth.payload, { kind: 'streaming-signed', trailer: false });
  const object = Buffer.alloc(66560, 'a');
  const { body, signatures } = encodeSigned([object.subarray(0, 65536), object.subarray(65536)], SIGNING);
  assert.equal(body.length, 66824);
  assert.deepEqual(signatures, [
    'ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648',
    '0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497',
    'b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9',
  ]);
  const r = await decode(auth, headers, pieces(body, [1000, 30000, 65600, 66000]));
  assert.equal(r.size, 66560);
  assert.ok(r.data.equals(object));
  assert.equal(r.md5Hex, md5(object));
});

const SMALL = [Buffer.from('hello '), Buffer.from('chunked\r\nworld'), Buffer.from([0, 13, 10, 48, 59, 255])];
const SMALL_ALL = Buffer.concat(SMALL);

test('signed chunks with signed trailer decode when split at every byte offset', async () => {
  const crc = checksumBase64('crc32c', SMALL_ALL);
  const { body } = encodeSigned(SMALL, SIGNING, [['x-amz-checksum-crc32c', crc]]);
  const headers = { 'x-amz-trailer': 'x-amz-checksum-crc32c', 'x-amz-decoded-content-length': String(SMALL_ALL.length) };
  for (let i = 0; i <= body.length; i++) {
    const r = await decode(signedAuth(true), headers, pieces(body, [i]));
    assert.ok(r.data.equals(SMALL_ALL), `split at ${i}`);
    assert.equal(r.checksums.crc32c, crc);
  }
  for (let i = 0; i + 7 <= body.length; i += 3) {
    const r = await decode(signedAuth(true), headers, pieces(body, [i, i + 1, i + 7]));
    assert.ok(r.data.equals(SMALL_ALL));
  }
  const r = await decode(signedAuth(true), headers, bytewise(body));
  assert.equal(r.md5Hex, md5(SMALL_ALL));
});

test('unsigned-trailer chunks decode when split at every byte offset, extensions tolerated', async () => {
  const crc = checksumBase64('crc32', SMALL_ALL);
  const headers = { 'x-amz-trailer': 'x-amz-checksum-crc32', 'x-amz-decoded-content-length': String(SMALL_ALL.length) };
  for (const ext of ['', ';foo=bar']) {
    const body = encodeUnsigned(SMALL, [['x-amz-checksum-crc32', crc]], ext);
    for (let i = 0; i <= body.length; i++) {
      const r = await decode(unsignedTrailerAuth(), headers, pieces(body, [i]));
      assert.ok(r.data.equals(SMALL_ALL), `split at ${i}`);
      assert.deepEqual(r.checksums, { crc32: crc });
    }
    await decode(unsignedTrailerAuth(), headers, bytewise(body));
  }
});

test('signed chunks: any corrupted byte of data or signature fails, and unverified data is never emitted', async () => {
  const { body } = encodeSigned(SMALL, SIGNING);
  const firstChunkEnd = body.indexOf('\r\n', body.indexOf('\r\n') + 2) + 2;
  for (let i = 0; i < body.length; i++) {
    const bad = Buffer.from(body);
    bad[i] = bad[i]! ^ 0x01;
    const d = decodeBody(signedAuth(), {}, pieces(bad, [i, i + 1]));
    const { data, error } = await collectSettled(d.stream);
    assert.ok(error instanceof Error, `flip at ${i} accepted`);
    // whatever got out before the failure is a verified prefix: the first chunk at most
    if (i >= firstChunkEnd) assert.ok(SMALL_ALL.subarray(0, data.length).equals(data));
    else assert.equal(data.length, 0, `flip at ${i} leaked ${data.length} bytes`);
  }
});

test('signed chunks: reordered, dropped or truncated bodies fail', async () => {
  const a = encodeSigned(SMALL, SIGNING).body;
  // each chunk keeps its own valid signature, but the chain from the seed is broken by reordering
  const chunkAt = (buf: Buffer, n: number): Buffer => {
    let off = 0;
    for (let i = 0; i < n; i++) off = buf.indexOf('\r\n', buf.indexOf('\r\n', off) + 2) + 2;
    return buf.subarray(off, buf.indexOf('\r\n', buf.indexOf('\r\n', off) + 2) + 2);
  };
  const swapped = Buffer.concat([chunkAt(a, 1), chunkAt(a, 0), a.subarray(chunkAt(a, 0).length + chunkAt(a, 1).length)]);
  assert.equal(swapped.length, a.length);
  await decodeFails(signedAuth(), {}, pieces(swapped, []), 'SignatureDoesNotMatch');
  const other = encodeSigned(SMALL, { ...SIGNING, seed: 'f'.repeat(64) }).body;
  await decodeFails(signedAuth(), {}, pieces(other, []), 'SignatureDoesNotMatch');
  const drop = encodeSigned([SMALL[0]!, SMALL[2]!], SIGNING).body;
  const r = await decode(signedAuth(), {}, pieces(drop, []));
  assert.equal(r.size, SMALL[0]!.length + SMALL[2]!.length);
  await decodeFails(signedAuth(), { 'x-amz-decoded-content-length': String(SMALL_ALL.length) }, pieces(drop, []), 'IncompleteBody');
  for (const cut of [0, 5, 20, a.length - 90, a.length - 3]) {
    await decodeFails(signedAuth(), {}, pieces(a.subarray(0, cut), []), 'IncompleteBody');
  }
  // a missing final CRLF after the verified 0-chunk is tolerated
  await decode(signedAuth(), {}, pieces(a.subarray(0, a.length - 2), []));
  await decodeFails(signedAuth(), {}, pieces(Buffer.concat([a, Buffer.from('junk')]), []), 'IncompleteBody');
  const noSig = Buffer.from('5\r\nhello\r\n0\r\n\r\n');
  await decodeFails(signedAuth(), {}, pieces(noSig, []), 'SignatureDoesNotMatch');
});

test('signed trailer: tampered value, tampered or missing signature, bad checksum', async () => {
  const crc = checksumBase64('crc32c', SMALL_ALL);
  const headers = { 'x-amz-trailer': 'x-amz-checksum-crc32c' };
  const good = encodeSigned(SMALL, SIGNING, [['x-amz-checksum-crc32c', crc]]).body.toString('latin1');
  const other = checksumBase64('crc32c', 'other');
  await decodeFails(signedAuth(true), headers, pieces(Buffer.from(good.replace(crc, other), 'latin1'), []), 'SignatureDoesNotMatch', /trailer/);
  await decodeFails(signedAuth(true), headers, pieces(Buffer.from(good.replace(/(x-amz-trailer-signature:.{63})./, '$1x'), 'latin1'), []), 'SignatureDoesNotMatch');
  await decodeFails(signedAuth(true), headers, pieces(Buffer.from(good.replace(/x-amz-trailer-signature:.*\r\n/, ''), 'latin1'), []), 'SignatureDoesNotMatch');
  // correctly signed trailer carrying the wrong checksum
  const wrong = encodeSigned(SMALL, SIGNING, [['x-amz-checksum-crc32c', other]]).body;
  await decodeFails(signedAuth(true), headers, pieces(wrong, []), 'BadDigest', /CRC32C/);
});

test('unsigned trailer: bad checksum, missing or undeclared trailer, malformed value', async () => {
  const crc = checksumBase64('crc64nvme', SMALL_ALL);
  const headers = { 'x-amz-trailer': 'x-amz-checksum-crc64nvme' };
  const ok = await decode(unsignedTrailerAuth(), headers, pieces(encodeUnsigned(SMALL, [['x-amz-checksum-crc64nvme', crc]]), []));
  assert.equal(ok.checksums.crc64nvme, crc);
  await decodeFails(unsignedTrailerAuth(), headers, pieces(encodeUnsigned(SMALL, [['x-amz-checksum-crc64nvme', checksumBase64('crc64nvme', 'x')]]), []), 'BadDigest', /CRC64NVME/);
  const flipped = encodeUnsigned(SMALL, [['x-amz-checksum-crc64nvme', crc]]);
  flipped[3] = flipped[3]! ^ 0x20; // inside the first chunk's data
  await decodeFails(unsignedTrailerAuth(), headers, pieces(flipped, []), 'BadDigest');
  await decodeFails(unsignedTrailerAuth(), headers, pieces(encodeUnsigned(SMALL, []), []), 'InvalidRequest', /not sent/);
  await decodeFails(unsignedTrailerAuth(), {}, pieces(encodeUnsigned(SMALL, [['x-amz-checksum-crc64nvme', crc]]), []), 'InvalidRequest', /not declared/);
  await decodeFails(unsignedTrailerAuth(), headers, pieces(encodeUnsigned(SMALL, [['x-amz-checksum-crc64nvme', 'zz']]), []), 'InvalidRequest');
  await decodeFails(unsignedTrailerAuth(), headers, pieces(Buffer.from('zz\r\nhello\r\n'), []), 'IncompleteBody');
  await decodeFails(unsignedTrailerAuth(), headers, pieces(Buffer.from('3\r\nhello\r\n0\r\n\r\n'), []), 'IncompleteBody');
  // an (unverifiable) x-amz-trailer-signature in unsigned mode is tolerated
  const withSig = encodeUnsigned(SMALL, [['x-amz-checksum-crc64nvme', crc], ['x-amz-trailer-signature', 'ab'.repeat(32)]]);
  await decode(unsignedTrailerAuth(), headers, pieces(withSig, []));
});

test('sha256 payload: verified at the end', async () => {
  const data = randomBytes(5000);
  const sha = createHash('sha256').update(data).digest('hex');
  const r = await decode(fakeAuth({ kind: 'sha256', expected: sha }), {}, pieces(data, [100, 4000]));
  assert.ok(r.data.equals(data));
  const other = Buffer.from(data);
  other[4999] = other[4999]! ^ 1;
  await decodeFails(fakeAuth({ kind: 'sha256', expected: sha }), {}, pieces(other, [100]), 'XAmzContentSHA256Mismatch');
});

test('Content-MD5 and x-amz-checksum-* headers', async () => {
  const data = Buffer.from('The quick brown fox');
  const goodMd5 = createHash('md5').update(data).digest('base64');
  const unsigned = () => fakeAuth({ kind: 'unsigned' });
  const r = await decode(unsigned(), { 'content-md5': goodMd5, 'x-amz-checksum-sha1': checksumBase64('sha1', data) }, pieces(data, []));
  assert.equal(r.md5Hex, md5(data));
  assert.deepEqual(r.checksums, { sha1: checksumBase64('sha1', data) });
  await decodeFails(unsigned(), { 'content-md5': createHash('md5').update('x').digest('base64') }, pieces(data, []), 'BadDigest');
  assert.throws(() => decodeBody(unsigned(), { 'content-md5': 'not-md5' }, pieces(data, [])), s3err('InvalidDigest'));
  assert.throws(() => decodeBody(unsigned(), { 'content-md5': createHash('sha1').update('x').digest('base64') }, pieces(data, [])), s3err('InvalidDigest'));
  for (const alg of ['crc32', 'crc32c', 'crc64nvme', 'sha1', 'sha256'] as const) {
    const h = { [`x-amz-checksum-${alg}`]: checksumBase64(alg, data) };
    assert.equal((await decode(unsigned(), h, pieces(data, [3]))).checksums[alg], checksumBase64(alg, data));
    const bad = { [`x-amz-checksum-${alg}`]: checksumBase64(alg, 'other') };
    await decodeFails(unsigned(), bad, pieces(data, [3]), 'BadDigest', new RegExp(alg.toUpperCase()));
    assert.throws(() => decodeBody(unsigned(), { [`x-amz-checksum-${alg}`]: 'AAAA' }, pieces(data, [])), s3err('InvalidRequest'));
  }
  assert.throws(
    () => decodeBody(unsigned(), { 'x-amz-checksum-crc32': checksumBase64('crc32', data), 'x-amz-checksum-sha1': checksumBase64('sha1', data) }, pieces(data, [])),
    s3err('InvalidRequest', /single/),
  );
  assert.throws(() => decodeBody(unsigned(), { 'x-amz-trailer': 'x-amz-checksum-crc32' }, pieces(data, [])), s3err('InvalidRequest'));
  assert.throws(() => decodeBody(unsigned(), { 'x-amz-sdk-checksum-algorithm': 'MD4' }, pieces(data, [])), s3err('InvalidRequest'));
  // an algorithm requested without a value is computed and returned
  const asked = await decode(unsigned(), { 'x-amz-sdk-checksum-algorithm': 'CRC32C' }, pieces(data, []));
  assert.deepEqual(asked.checksums, { crc32c: checksumBase64('crc32c', data) });
});

test('declared lengths: shorter or longer bodies are IncompleteBody', async () => {
  const data = Buffer.from('0123456789');
  const unsigned = fakeAuth({ kind: 'unsigned' });
  assert.equal((await decode(unsigned, { 'content-length': '10' }, pieces(data, []))).size, 10);
  await decodeFails(fakeAuth({ kind: 'unsigned' }), { 'content-length': '11' }, pieces(data, []), 'IncompleteBody');
  await decodeFails(fakeAuth({ kind: 'unsigned' }), { 'content-length': '9' }, pieces(data, []), 'IncompleteBody');
  const body = encodeUnsigned([data], []);
  await decodeFails(unsignedTrailerAuth(), { 'x-amz-decoded-content-length': '11' }, pieces(body, []), 'IncompleteBody');
  await decodeFails(unsignedTrailerAuth(), { 'x-amz-decoded-content-length': '9' }, pieces(body, []), 'IncompleteBody');
  // for aws-chunked, content-length is the encoded length and is not compared with the object size
  assert.equal((await decode(unsignedTrailerAuth(), { 'content-length': String(body.length) }, pieces(body, []))).size, 10);
});

test('a source error or premature close surfaces as an S3Error on the stream', async () => {
  const src = new Readable({ read() {} });
  const d = decodeBody(fakeAuth({ kind: 'unsigned' }), {}, src);
  src.push(Buffer.from('abc'));
  setImmediate(() => src.destroy(new Error('ECONNRESET')));
  const { error } = await collectSettled(d.stream);
  s3err('IncompleteBody', /ECONNRESET/)(error);

  const src2 = new Readable({ read() {} });
  const d2 = decodeBody(fakeAuth({ kind: 'unsigned' }), {}, src2);
  setImmediate(() => src2.destroy());
  s3err('IncompleteBody')((await collectSettled(d2.stream)).error);
});

test('back-pressure: a stalled consumer stops the source from being read', async () => {
  let produced = 0;
  const total = 64 * 1024 * 1024;
  const src = new Readable({
    read() {
      if (produced >= total) return void this.push(null);
      produced += 65536;
      this.push(Buffer.alloc(65536, 1));
    },
  });
  const d = decodeBody(fakeAuth({ kind: 'unsigned' }), {}, src);
  d.stream.once('data', () => d.stream.pause());
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
  assert.ok(produced < 1024 * 1024, `read ${produced} bytes ahead of a paused consumer`);
  d.stream.destroy();
});

test('large signed body in many chunks with a trailer, split randomly', async () => {
  const chunks = Array.from({ length: 40 }, (_, i) => randomBytes(1000 + i * 997));
  const all = Buffer.concat(chunks);
  const sha = checksumBase64('sha256', all);
  const { body } = encodeSigned(chunks, SIGNING, [['x-amz-checksum-sha256', sha]]);
  const cuts = Array.from({ length: 300 }, () => Math.floor(Math.random() * body.length));
  const r = await decode(signedAuth(true), { 'x-amz-trailer': 'x-amz-checksum-sha256', 'x-amz-decoded-content-length': String(all.length) }, pieces(body, cuts));
  assert.ok(r.data.equals(all));
  assert.equal(r.checksums.sha256, sha);
});

test('sha256 payload with x-amz-checksum-sha256: one hash verifies both, each mismatch still caught', async () => {
  const data = randomBytes(70_000);
  const hex = createHash('sha256').update(data).digest('hex');
  const b64 = Buffer.from(hex, 'hex').toString('base64');
  const r = await decode(fakeAuth({ kind: 'sha256', expected: hex }), { 'x-amz-checksum-sha256': b64 }, pieces(data, [1, 65536]));
  assert.ok(r.data.equals(data));
  assert.equal(r.checksums.sha256, b64);
  const wrong = createHash('sha256').update('other').digest();
  await decodeFails(fakeAuth({ kind: 'sha256', expected: wrong.toString('hex') }), { 'x-amz-checksum-sha256': b64 }, pieces(data, [10]), 'XAmzContentSHA256Mismatch');
  await decodeFails(fakeAuth({ kind: 'sha256', expected: hex }), { 'x-amz-checksum-sha256': wrong.toString('base64') }, pieces(data, [10]), 'BadDigest', /SHA256/);
});
