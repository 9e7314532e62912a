// Incremental decoder for the aws-chunked body encoding: signed chunks (STREAMING-AWS4-HMAC-SHA256-PAYLOAD,
// each chunk signature chained from the previous one), unsigned chunks, and the trailer section after the last chunk.
import { createHash, type Hash } from 'node:crypto';
import { S3Error } from '../errors.ts';
import { EMPTY_SHA256, signHex, signaturesEqual } from './sigv4.ts';
import type { SigningContext } from './types.ts';

/** Longest chunk header or trailer line we accept; real ones are < 100 bytes. */
const MAX_LINE = 4096;
/** Total trailer section size limit. */
const MAX_TRAILERS = 16 * 1024;
/**
 * Signed chunk data is held back until its signature checks, so unverified bytes never reach the
 * consumer. Above this size a chunk is passed on as it arrives (still verified at its end, and a
 * failure errors the stream), so a client choosing huge chunks cannot make us buffer gigabytes.
 */
export const HOLD_LIMIT = 8 * 1024 * 1024;

export type ChunkedOptions =
  | { signed: true; trailer: boolean; signing: SigningContext }
  | { signed: false; trailer: true };

type State = 'size' | 'data' | 'data-crlf' | 'trailers' | 'done';

function malformed(msg: string): S3Error {
  return new S3Error('IncompleteBody', `Malformed aws-chunked body: ${msg}`);
}

export function chunkStringToSign(signing: SigningContext, prev: string, dataSha256Hex: string): string {
  return `AWS4-HMAC-SHA256-PAYLOAD\n${signing.amzDate}\n${signing.scope}\n${prev}\n${EMPTY_SHA256}\n${dataSha256Hex}`;
}

export function trailerStringToSign(signing: SigningContext, prev: string, canonicalTrailers: string): string {
  const h = createHash('sha256').update(canonicalTrailers).digest('hex');
  return `AWS4-HMAC-SHA256-TRAILER\n${signing.amzDate}\n${signing.scope}\n${prev}\n${h}`;
}

export class ChunkedDecoder {
  private readonly opts: ChunkedOptions;
  private readonly onData: (b: Buffer) => void;
  private state: State = 'size';
  private line: Buffer[] = [];
  private lineLen = 0;
  private remaining = 0;
  private crlfSeen = 0;
  private isLast = false;
  private chunkSig = '';
  private prevSig: string;
  private chunkHash: Hash | undefined;
  private held: Buffer[] = [];
  private heldLen = 0;
  private trailerBytes = 0;
  private trailerSignature: string | undefined;
  /** Trailer lines in arrival order, names lower-cased, values trimmed. */
  readonly trailers: [string, string][] = [];

  constructor(opts: ChunkedOptions, onData: (b: Buffer) => void) {
    this.opts = opts;
    this.onData = onData;
    this.prevSig = opts.signed ? opts.signing.seedSignature : '';
  }

  write(buf: Buffer): void {
    let i = 0;
    while (i < buf.length) {
      switch (this.state) {
        case 'size':
        case 'trailers': {
          const nl = buf.indexOf(0x0a, i);
          const end = nl < 0 ? buf.length : nl;
          this.lineLen += end - i;
          if (this.lineLen > MAX_LINE) throw malformed('chunk header line too long');
          this.line.push(buf.subarray(i, end));
          i = end;
          if (nl >= 0) {
            i++;
            let l = Buffer.concat(this.line).toString('latin1');
            this.line = [];
            this.lineLen = 0;
            if (l.endsWith('\r')) l = l.slice(0, -1);
            if (this.state === 'size') this.sizeLine(l);
            else this.trailerLine(l);
          }
          break;
        }
        case 'data': {
          const n = Math.min(this.remaining, buf.length - i);
          this.chunkData(buf.subarray(i, i + n));
          this.remaining -= n;
          i += n;
          if (this.remaining === 0) this.endChunkData();
          break;
        }
        case 'data-crlf': {
          const expected = this.crlfSeen === 0 ? 0x0d : 0x0a;
          if (buf[i] !== expected) throw malformed('chunk data not followed by CRLF (chunk size wrong?)');
          i++;
          if (++this.crlfSeen === 2) {
            this.crlfSeen = 0;
            this.state = this.isLast ? 'done' : 'size';
          }
          break;
        }
        case 'done':
          throw malformed('data after the final chunk');
      }
    }
  }

  /** Called at end of input; throws if the body stopped before the final chunk. */
  end(): void {
    if (this.state === 'done') return;
    // Tolerate a missing final CRLF: the terminating chunk was already received (and, if signed, verified).
    if (this.state === 'data-crlf' && this.isLast) return;
    if (this.state === 'trailers' && this.lineLen === 0) {
      this.finishTrailers();
      return;
    }
    throw new S3Error('IncompleteBody', 'The request body ended before the final aws-chunked chunk.');
  }

  private sizeLine(l: string): void {
    const semi = l.indexOf(';');
    const hex = semi < 0 ? l : l.slice(0, semi);
    if (!/^[0-9a-fA-F]{1,12}$/.test(hex)) throw malformed(`bad chunk size '${hex.slice(0, 40)}'`);
    const size = parseInt(hex, 16);
    if (this.opts.signed) {
      const ext = semi < 0 ? '' : l.slice(semi + 1);
      const m = /^chunk-signature=([0-9a-fA-F]{64})$/.exec(ext);
      if (!m) throw new S3Error('SignatureDoesNotMatch', 'Chunk is missing a valid chunk-signature extension.');
      this.chunkSig = m[1]!.toLowerCase();
      this.chunkHash = createHash('sha256');
    }
    this.remaining = size;
    this.isLast = size === 0;
    if (size === 0) {
      this.verifyChunk();
      // Per RFC 9112 the trailer section follows the last chunk directly; without trailers the
      // last chunk's empty data is closed by a CRLF.
      this.state = this.opts.trailer ? 'trailers' : 'data-crlf';
    } else {
      this.state = 'data';
    }
  }

  private chunkData(b: Buffer): void {
    if (b.length === 0) return;
    if (!this.opts.signed) {
      this.onData(b);
      return;
    }
    this.chunkHash!.update(b);
    this.held.push(b);
    this.heldLen += b.length;
    if (this.heldLen > HOLD_LIMIT) this.release();
  }

  private endChunkData(): void {
    this.verifyChunk();
    this.release();
    this.state = 'data-crlf';
  }

  private release(): void {
    for (const b of this.held) this.onData(b);
    this.held = [];
    this.heldLen = 0;
  }

  private verifyChunk(): void {
    if (!this.opts.signed) return;
    const s = this.opts.signing;
    const expected = signHex(s.signingKey, chunkStringToSign(s, this.prevSig, this.chunkHash!.digest('hex')));
    if (!signaturesEqual(expected, this.chunkSig)) {
      throw new S3Error('SignatureDoesNotMatch', 'The chunk signature we calculated does not match the signature you provided.');
    }
    this.prevSig = expected;
  }

  private trailerLine(l: string): void {
    this.trailerBytes += l.length + 2;
    if (this.trailerBytes > MAX_TRAILERS) throw malformed('trailer section too large');
    if (l === '') {
      this.finishTrailers();
      this.state = 'done';
      return;
    }
    const colon = l.indexOf(':');
    if (colon <= 0) throw malformed(`bad trailer line '${l.slice(0, 60)}'`);
    const name = l.slice(0, colon).trim().toLowerCase();
    const value = l.slice(colon + 1).trim();
    if (name === 'x-amz-trailer-signature') {
      if (this.trailerSignature !== undefined) throw malformed('duplicate x-amz-trailer-signature');
      this.trailerSignature = value;
      return;
    }
    if (this.trailerSignature !== undefined) throw malformed('trailer after x-amz-trailer-signature');
    this.trailers.push([name, value]);
  }

  private finishTrailers(): void {
    if (!this.opts.signed) return; // an unsigned trailer's optional signature has nothing to chain from
    const canonical = this.trailers.map(([k, v]) => `${k}:${v}\n`).join('');
    if (this.trailerSignature === undefined) {
      throw new S3Error('SignatureDoesNotMatch', 'The signed trailer is missing x-amz-trailer-signature.');
    }
    const s = this.opts.signing;
    const expected = signHex(s.signingKey, trailerStringToSign(s, this.prevSig, canonical));
    if (!signaturesEqual(expected, this.trailerSignature)) {
      throw new S3Error('SignatureDoesNotMatch', 'The trailer signature we calculated does not match the signature you provided.');
    }
  }
}
