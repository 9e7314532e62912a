// decodeBody: turns a raw request body into the object's bytes according to how it was authenticated
// (plain, sha256-verified, aws-chunked signed/unsigned with trailers) while checking every digest the client sent.
// The MD5 and SHA-256 of a large body run in a hash worker (util/hash-pool.ts) while the body is read.
import type { IncomingHttpHeaders } from 'node:http';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { S3Error } from '../errors.ts';
import { ChunkedDecoder } from './chunked.ts';
import {
  CHECKSUM_ALGORITHMS,
  createHasher,
  isChecksumAlgorithm,
  isValidChecksumValue,
  type ChecksumAlgorithm,
  type Hasher,
} from './checksums.ts';
import type { AuthResult, DecodedBody } from './types.ts';
import { hashPool, STREAM_OFFLOAD_BYTES, type HashAlg, type StreamHasher } from '../../../util/hash-pool.ts';

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v.join(',') : v;
}

function parseLength(v: string | undefined, name: string): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d{1,16}$/.test(v.trim())) throw new S3Error('InvalidArgument', `${name} must be a non-negative integer.`, { ArgumentName: name });
  return Number(v.trim());
}

function algorithmFromName(v: string, what: string): ChecksumAlgorithm {
  const alg = v.trim().toLowerCase();
  if (!isChecksumAlgorithm(alg)) {
    throw new S3Error('InvalidRequest', `${what}: unsupported checksum algorithm '${v}'. Use CRC32, CRC32C, CRC64NVME, SHA1 or SHA256.`);
  }
  return alg;
}

/** What the headers promise about the body, validated before any byte is read. */
interface BodyChecks {
  md5?: string; // base64, from Content-MD5
  headerChecksum?: { alg: ChecksumAlgorithm; value: string };
  trailerChecksums: ChecksumAlgorithm[];
  compute: Set<ChecksumAlgorithm>;
  decodedLength?: number;
}

function readChecks(auth: AuthResult, headers: IncomingHttpHeaders): BodyChecks {
  const checks: BodyChecks = { trailerChecksums: [], compute: new Set() };
  const md5 = header(headers, 'content-md5');
  if (md5 !== undefined) {
    const m = md5.trim();
    if (!/^[A-Za-z0-9+/]{22}==$/.test(m)) throw new S3Error('InvalidDigest', 'The Content-MD5 you specified was invalid.');
    checks.md5 = m;
  }
  const present = CHECKSUM_ALGORITHMS.filter((a) => headers[`x-amz-checksum-${a}`] !== undefined);
  if (present.length > 1) {
    throw new S3Error('InvalidRequest', 'Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.');
  }
  if (present.length === 1) {
    const alg = present[0]!;
    const value = header(headers, `x-amz-checksum-${alg}`)!.trim();
    if (!isValidChecksumValue(alg, value)) {
      throw new S3Error('InvalidRequest', `Value for x-amz-checksum-${alg} header is invalid.`);
    }
    checks.headerChecksum = { alg, value };
    checks.compute.add(alg);
  }
  const trailer = header(headers, 'x-amz-trailer');
  if (trailer !== undefined && trailer.trim() !== '') {
    const streamingTrailer =
      (auth.payload.kind === 'streaming-signed' && auth.payload.trailer) || auth.payload.kind === 'streaming-unsigned-trailer';
    if (!streamingTrailer) {
      throw new S3Error('InvalidRequest', 'x-amz-trailer requires a STREAMING-*-TRAILER x-amz-content-sha256.');
    }
    for (const name of trailer.split(',').map((s) => s.trim().toLowerCase()).filter((s) => s !== '')) {
      if (!name.startsWith('x-amz-checksum-')) continue;
      const alg = algorithmFromName(name.slice('x-amz-checksum-'.length), 'x-amz-trailer');
      if (!checks.trailerChecksums.includes(alg)) checks.trailerChecksums.push(alg);
      checks.compute.add(alg);
    }
    if (checks.headerChecksum !== undefined || checks.trailerChecksums.length > 1) {
      throw new S3Error('InvalidRequest', 'Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.');
    }
  }
  for (const h of ['x-amz-sdk-checksum-algorithm', 'x-amz-checksum-algorithm']) {
    const v = header(headers, h);
    if (v !== undefined && v.trim() !== '') checks.compute.add(algorithmFromName(v, h));
  }
  const streaming = auth.payload.kind === 'streaming-signed' || auth.payload.kind === 'streaming-unsigned-trailer';
  checks.decodedLength = parseLength(
    header(headers, 'x-amz-decoded-content-length') ?? (streaming ? undefined : header(headers, 'content-length')),
    streaming ? 'x-amz-decoded-content-length' : 'Content-Length',
  );
  return checks;
}

class BodyDecoder extends Transform {
  private readonly auth: AuthResult;
  private readonly checks: BodyChecks;
  private readonly chunked: ChunkedDecoder | undefined;
  /** MD5 always, SHA-256 for a signed payload hash or an x-amz-checksum-sha256: one pass each. */
  private readonly hash: StreamHasher;
  private readonly hashesSha256: boolean;
  private readonly hashers = new Map<ChecksumAlgorithm, Hasher>();
  size = 0;
  done: { md5Hex: string; size: number; checksums: Record<string, string> } | undefined;

  constructor(auth: AuthResult, checks: BodyChecks) {
    super();
    this.auth = auth;
    this.checks = checks;
    const p = auth.payload;
    // One SHA-256 pass serves both the signed payload hash and an x-amz-checksum-sha256 (none for
    // UNSIGNED-PAYLOAD or a streaming payload whose chunks carry their own signatures).
    this.hashesSha256 = p.kind === 'sha256' || checks.compute.has('sha256');
    for (const alg of checks.compute) if (alg !== 'sha256') this.hashers.set(alg, createHasher(alg));
    const algs: HashAlg[] = this.hashesSha256 ? ['md5', 'sha256'] : ['md5'];
    this.hash = hashPool().stream(algs, checks.decodedLength === undefined || checks.decodedLength >= STREAM_OFFLOAD_BYTES);
    const onData = (b: Buffer): void => this.data(b);
    if (p.kind === 'streaming-signed') {
      this.chunked = new ChunkedDecoder({ signed: true, trailer: p.trailer, signing: auth.signing }, onData);
    } else if (p.kind === 'streaming-unsigned-trailer') {
      this.chunked = new ChunkedDecoder({ signed: false, trailer: true }, onData);
    }
  }

  private data(b: Buffer): void {
    this.size += b.length;
    if (this.checks.decodedLength !== undefined && this.size > this.checks.decodedLength) {
      throw new S3Error('IncompleteBody', `The body is longer than the declared length ${this.checks.decodedLength}.`);
    }
    this.hash.update(b);
    for (const h of this.hashers.values()) h.update(b);
    this.push(b);
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    try {
      if (this.chunked) this.chunked.write(chunk);
      else this.data(chunk);
      // A worker behind by its bound of batches holds the next read (bounded copies in flight).
      const wait = this.hash.ready();
      if (wait) wait.then(() => cb(), (e: unknown) => cb(e as Error));
      else cb();
    } catch (e) {
      cb(e as Error);
    }
  }

  override _flush(cb: TransformCallback): void {
    // 'end' (and so result()) waits for the digests.
    let digests: Promise<Record<HashAlg, Buffer>>;
    try {
      this.chunked?.end();
      digests = this.hash.digest();
    } catch (e) {
      cb(e as Error);
      return;
    }
    digests.then(
      (d) => {
        try {
          this.finish(d);
          cb();
        } catch (e) {
          cb(e as Error);
        }
      },
      (e: unknown) => cb(e as Error),
    );
  }

  override _destroy(err: Error | null, cb: (error: Error | null) => void): void {
    this.hash.abort();
    cb(err);
  }

  private finish(digests: Record<HashAlg, Buffer>): void {
    const { checks } = this;
    if (checks.decodedLength !== undefined && this.size !== checks.decodedLength) {
      throw new S3Error(
        'IncompleteBody',
        `You did not provide the number of bytes specified by the Content-Length HTTP header (${this.size} of ${checks.decodedLength}).`,
      );
    }
    const checksums: Record<string, string> = {};
    for (const alg of checks.compute) checksums[alg] = alg === 'sha256' ? digests.sha256!.toString('base64') : this.hashers.get(alg)!.digest().toString('base64');
    const p = this.auth.payload;
    if (p.kind === 'sha256') {
      const got = digests.sha256!.toString('hex');
      if (got !== p.expected) {
        throw new S3Error('XAmzContentSHA256Mismatch', "The provided 'x-amz-content-sha256' header does not match what was computed.", {
          ClientComputedContentSHA256: p.expected,
          S3ComputedContentSHA256: got,
        });
      }
    }
    const md5 = digests.md5;
    if (checks.md5 !== undefined && md5.toString('base64') !== checks.md5) {
      throw new S3Error('BadDigest', 'The Content-MD5 you specified did not match what we received.', {
        ExpectedDigest: checks.md5,
        CalculatedDigest: md5.toString('base64'),
      });
    }

    const claimed: [ChecksumAlgorithm, string][] = [];
    if (checks.headerChecksum) claimed.push([checks.headerChecksum.alg, checks.headerChecksum.value]);
    const trailers = this.chunked?.trailers ?? [];
    for (const alg of checks.trailerChecksums) {
      const t = trailers.find(([k]) => k === `x-amz-checksum-${alg}`);
      if (t === undefined) {
        throw new S3Error('InvalidRequest', `The trailer x-amz-checksum-${alg} declared in x-amz-trailer was not sent.`);
      }
    }
    for (const [name, value] of trailers) {
      if (!name.startsWith('x-amz-checksum-')) continue;
      const alg = name.slice('x-amz-checksum-'.length);
      if (!isChecksumAlgorithm(alg) || !checks.trailerChecksums.includes(alg)) {
        throw new S3Error('InvalidRequest', `Trailer ${name} was not declared in x-amz-trailer.`);
      }
      if (!isValidChecksumValue(alg, value)) throw new S3Error('InvalidRequest', `Value for ${name} trailing header is invalid.`);
      claimed.push([alg, value]);
    }
    for (const [alg, value] of claimed) {
      if (checksums[alg] !== value) {
        throw new S3Error('BadDigest', `The ${alg.toUpperCase()} you specified did not match the calculated checksum.`, {
          Algorithm: alg.toUpperCase(),
          ExpectedChecksum: value,
          CalculatedChecksum: checksums[alg]!,
        });
      }
    }
    this.done = { md5Hex: md5.toString('hex'), size: this.size, checksums };
  }
}

function asS3Error(e: unknown): S3Error {
  if (e instanceof S3Error) return e;
  const err = new S3Error('IncompleteBody', `The request body could not be read: ${(e as Error)?.message ?? String(e)}`);
  (err as { cause?: unknown }).cause = e;
  return err;
}

/**
 * Header problems (malformed Content-MD5 or checksum values, conflicting checksums) throw
 * synchronously so the caller can answer before reading the body; body problems error the stream.
 * `body` stays owned by the caller: on error we stop reading it but do not destroy it, so an
 * error response can still be written on the same connection.
 */
export function decodeBody(auth: AuthResult, headers: IncomingHttpHeaders, body: Readable): DecodedBody {
  const checks = readChecks(auth, headers);
  const dec = new BodyDecoder(auth, checks);
  const onError = (e: unknown): void => {
    dec.destroy(asS3Error(e));
  };
  body.on('error', onError);
  // A body that closes without 'end' (client went away) must not look like a clean EOF.
  const onClose = (): void => {
    if (!body.readableEnded && !dec.destroyed) dec.destroy(new S3Error('IncompleteBody', 'The request body was closed before it ended.'));
  };
  body.on('close', onClose);
  dec.on('close', () => {
    body.off('error', onError);
    body.off('close', onClose);
    body.unpipe(dec);
  });
  body.pipe(dec);
  return {
    stream: dec,
    result() {
      if (dec.done === undefined) throw new Error('decodeBody: result() called before the stream ended successfully');
      return dec.done;
    },
  };
}
