// Property-based fuzzing of aws-chunked framing (ChunkedDecoder) and of trailing checksums through
// decodeBody: random chunk sizes, extensions, trailers, split points, truncation, byte flips and huge
// hex sizes. Only typed S3 errors may come out, and a signed body never yields an unverified byte.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { S3Error } from '../errors.ts';
import { ChunkedDecoder, type ChunkedOptions } from './chunked.ts';
import { decodeBody } from './body.ts';
import { CHECKSUM_ALGORITHMS, CHECKSUM_BYTES, checksumBase64, isValidChecksumValue } from './checksums.ts';
import { collectSettled, encodeSigned, encodeUnsigned, pieces, signingKeyOf, type ChunkSigning } from './testkit.ts';
import type { AuthResult } from './types.ts';

const RUNS = Number(process.env.GRENIER_FUZZ_RUNS ?? 300);
const SCOPE = '20130524/us-east-1/s3/aws4_request';
const SEED = '4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9';
const KEY = signingKeyOf('wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', '20130524', 'us-east-1');
const SIGNING: ChunkSigning = { key: KEY, amzDate: '20130524T000000Z', scope: SCOPE, seed: SEED };
const SIGNED_OPTS = (trailer: boolean): ChunkedOptions => ({
  signed: true,
  trailer,
  signing: { signingKey: KEY, scope: SCOPE, seedSignature: SEED, amzDate: '20130524T000000Z' },
});

/** Feeds `body` cut at `cuts`; returns what was emitted and the error thrown, which must be an S3Error. */
function run(opts: ChunkedOptions, body: Buffer, cuts: number[]): { out: Buffer; error: S3Error | undefined; trailers: [string, string][] } {
  const out: Buffer[] = [];
  const d = new ChunkedDecoder(opts, (b) => out.push(Buffer.from(b)));
  let error: S3Error | undefined;
  try {
    const bounds = [0, ...cuts.filter((c) => c > 0 && c < body.length).sort((a, b) => a - b), body.length];
    for (let i = 0; i + 1 < bounds.length; i++) d.write(body.subarray(bounds[i]!, bounds[i + 1]!));
    d.end();
  } catch (e) {
    if (!(e instanceof S3Error)) throw new Error(`non-S3 error escaped: ${(e as Error)?.stack ?? String(e)}`);
    assert.ok(e.status >= 400 && e.status < 500, `${e.code} ${e.status}`);
    error = e;
  }
  return { out: Buffer.concat(out), error, trailers: d.trailers };
}

const chunks = fc.array(fc.uint8Array({ minLength: 1, maxLength: 300 }).map((a) => Buffer.from(a)), { maxLength: 6 });
const trailerName = fc.stringMatching(/^x-amz-[a-z0-9-]{1,20}$/).filter((n) => n !== 'x-amz-trailer-signature');
const trailers = fc.array(fc.tuple(trailerName, fc.stringMatching(/^[A-Za-z0-9+/=]{0,40}$/)), { maxLength: 3 });
const cuts = fc.array(fc.nat({ max: 4000 }), { maxLength: 8 });

/** Lengths at which a signed body may stop emitting: the ends of whole chunks. */
const chunkEnds = (cs: Buffer[]): number[] => cs.reduce<number[]>((acc, c) => [...acc, acc.at(-1)! + c.length], [0]);

test('fuzz: signed and unsigned aws-chunked bodies decode back exactly, split anywhere', () => {
  fc.assert(
    fc.property(chunks, fc.option(trailers, { nil: undefined }), cuts, fc.boolean(), (cs, tr, cut, signed) => {
      const data = Buffer.concat(cs);
      if (signed) {
        const { body } = encodeSigned(cs, SIGNING, tr);
        const r = run(SIGNED_OPTS(tr !== undefined), body, cut);
        assert.equal(r.error, undefined, r.error?.message);
        assert.deepEqual(r.out, data);
        assert.deepEqual(r.trailers, tr ?? []);
      } else {
        const r = run({ signed: false, trailer: true }, encodeUnsigned(cs, tr ?? []), cut);
        assert.equal(r.error, undefined, r.error?.message);
        assert.deepEqual(r.out, data);
        assert.deepEqual(r.trailers, tr ?? []);
      }
    }),
    { numRuns: RUNS },
  );
});

test('fuzz: truncated or byte-flipped signed bodies fail with an S3Error and emit only verified chunks', () => {
  fc.assert(
    fc.property(
      chunks,
      fc.option(trailers, { nil: undefined }),
      cuts,
      fc.nat(),
      fc.oneof(fc.constant(undefined), fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 }))),
      (cs, tr, cut, truncAt, flip) => {
        const data = Buffer.concat(cs);
        let { body } = encodeSigned(cs, SIGNING, tr);
        body = Buffer.from(body);
        if (flip) body[flip[0] % body.length] ^= flip[1];
        else body = body.subarray(0, truncAt % body.length);
        const r = run(SIGNED_OPTS(tr !== undefined), body, cut);
        // Output is always a prefix of the real data made of whole chunks, whatever the damage.
        assert.ok(chunkEnds(cs).includes(r.out.length), `emitted ${r.out.length} bytes, not a chunk boundary`);
        assert.deepEqual(r.out, data.subarray(0, r.out.length));
        // A flip may be harmless only where the framing ignores case (hex digits, signature hex).
        if (r.error === undefined) assert.deepEqual(r.out, data);
      },
    ),
    { numRuns: RUNS },
  );
});

test('fuzz: garbage, huge hex sizes and odd extensions give only S3Errors', () => {
  const line = fc.oneof(
    fc.stringMatching(/^[0-9a-fA-F]{1,16}$/),
    fc.constantFrom('ffffffffffff', 'fffffffffffff', '0000000000000', '-1', '0x10', ' 10', '10 ', ''),
  );
  const ext = fc.oneof(
    fc.constant(''),
    fc.stringMatching(/^[0-9a-f]{64}$/).map((s) => `;chunk-signature=${s}`),
    fc.string({ maxLength: 80 }).map((s) => `;${s}`),
    fc.nat({ max: 6000 }).map((n) => ';' + 'x'.repeat(n)),
  );
  const frame = fc.tuple(line, ext, fc.constantFrom('\r\n', '\n', '\r', ''), fc.uint8Array({ maxLength: 64 })).map(([l, e, nl, d]) =>
    Buffer.concat([Buffer.from(l + e + nl, 'latin1'), Buffer.from(d)]),
  );
  const body = fc.oneof(
    fc.array(frame, { maxLength: 6 }).map((f) => Buffer.concat(f)),
    fc.uint8Array({ maxLength: 2000 }).map((a) => Buffer.from(a)),
  );
  fc.assert(
    fc.property(body, cuts, fc.nat({ max: 2 }), (b, cut, mode) => {
      const opts: ChunkedOptions = mode === 0 ? { signed: false, trailer: true } : SIGNED_OPTS(mode === 2);
      const r = run(opts, b, cut);
      if (mode !== 0) assert.equal(r.out.length, 0, 'a signed body emitted bytes without a valid signature');
    }),
    { numRuns: RUNS },
  );
});

test('fuzz: a 12-hex-digit chunk size with little data is an IncompleteBody, not a buffer of 256 TiB', () => {
  fc.assert(
    fc.property(fc.stringMatching(/^[1-9a-f][0-9a-f]{11}$/), fc.uint8Array({ maxLength: 100000 }), (hex, d) => {
      const r = run({ signed: false, trailer: true }, Buffer.concat([Buffer.from(`${hex}\r\n`), Buffer.from(d)]), []);
      assert.equal(r.error?.code, 'IncompleteBody');
      assert.equal(r.out.length, d.length);
    }),
    { numRuns: Math.min(RUNS, 50) },
  );
});

// ---------------------------------------------------------------- trailing checksums (decodeBody)

function auth(kind: 'signed' | 'unsigned'): AuthResult {
  return {
    accessKeyId: 'AKID',
    payload: kind === 'signed' ? { kind: 'streaming-signed', trailer: true } : { kind: 'streaming-unsigned-trailer' },
    signing: { signingKey: KEY, scope: SCOPE, seedSignature: SEED, amzDate: '20130524T000000Z' },
  };
}

test('fuzz: trailing checksums: the right value passes, any other value or name is a 4xx S3Error', async () => {
  const alg = fc.constantFrom(...CHECKSUM_ALGORITHMS);
  const value = fc.oneof(
    fc.constant(undefined), // the correct one
    fc.string({ maxLength: 60 }),
    fc.uint8Array({ minLength: 0, maxLength: 40 }).map((a) => Buffer.from(a).toString('base64')),
  );
  const declared = fc.oneof(fc.constant(undefined), fc.string({ maxLength: 40 }), fc.constantFrom('x-amz-checksum-crc32', 'x-amz-checksum-md5', 'x-amz-checksum-crc32,x-amz-checksum-sha1'));
  await fc.assert(
    fc.asyncProperty(chunks, alg, value, declared, fc.boolean(), cuts, async (cs, a, v, decl, signed, cut) => {
      const data = Buffer.concat(cs);
      const good = checksumBase64(a, data);
      const name = `x-amz-checksum-${a}`;
      const tr: [string, string][] = [[name, v ?? good]];
      const raw = signed ? encodeSigned(cs, SIGNING, tr).body : encodeUnsigned(cs, tr);
      const headers = {
        'x-amz-trailer': decl ?? name,
        'x-amz-decoded-content-length': String(data.length),
        'content-encoding': 'aws-chunked',
      };
      let error: unknown;
      let out: Buffer | undefined;
      try {
        const d = decodeBody(auth(signed ? 'signed' : 'unsigned'), headers, pieces(raw, cut));
        const s = await collectSettled(d.stream);
        error = s.error;
        out = s.data;
      } catch (e) {
        error = e; // header problems are thrown before any byte is read
      }
      if (error !== undefined) {
        assert.ok(error instanceof S3Error, `non-S3 error: ${(error as Error)?.stack}`);
        assert.ok(error.status >= 400 && error.status < 500);
      }
      const valueOk = (v ?? good) === good;
      const declOk = decl === undefined || decl.trim().toLowerCase() === name;
      if (valueOk && declOk) assert.equal(error, undefined, (error as Error | undefined)?.message);
      if (!valueOk) assert.ok(error !== undefined, `wrong ${a} checksum ${JSON.stringify(v)} accepted`);
      if (error === undefined) assert.deepEqual(out, data);
    }),
    { numRuns: RUNS },
  );
});

test('fuzz: isValidChecksumValue accepts exactly the base64 strings of the digest length', () => {
  fc.assert(
    fc.property(fc.constantFrom(...CHECKSUM_ALGORITHMS), fc.oneof(fc.string({ maxLength: 60 }), fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a).toString('base64'))), (a, v) => {
      const ok = isValidChecksumValue(a, v);
      const canonical = Buffer.from(v, 'base64');
      if (ok) assert.equal(canonical.length, CHECKSUM_BYTES[a]);
      if (canonical.length === CHECKSUM_BYTES[a] && canonical.toString('base64') === v) assert.ok(ok, v);
    }),
    { numRuns: RUNS },
  );
});
