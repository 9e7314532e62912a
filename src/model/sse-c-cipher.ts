// SSE-C's cipher: AES-256-CTR with the customer's key, a random 96-bit nonce per stream (an
// object's single body, or one upload of one part) and a 32-bit block counter. CTR keeps the
// ciphertext exactly as long as the plaintext, so block boundaries, sizes, ranges and partNumber
// reads stay what they are without encryption, and any offset decrypts on its own (counter =
// offset / 16, skip offset % 16). Integrity is the block hashes' (checked on every read), not the
// cipher's. A stream is at most 5 GiB by default, below the 64 GiB where the 32-bit counter
// would carry into the nonce; past that the 128-bit addition carries as OpenSSL's increment does,
// so a read at any offset still matches what the stream wrote.
import { createCipheriv, type Cipheriv } from 'node:crypto';
import { Transform } from 'node:stream';
import type { BlockRef } from './version.ts';

export const NONCE_BYTES = 12;

/** The keystream positioned at byte `offset` of the stream that `nonce` names. */
export function cipherAt(key: Buffer, nonce: Buffer, offset: number): Cipheriv {
  if (key.length !== 32 || nonce.length !== NONCE_BYTES) throw new Error('sse-c: a 32-byte key and a 12-byte nonce are needed');
  if (!Number.isSafeInteger(offset) || offset < 0) throw new Error(`sse-c: bad offset ${offset}`);
  const iv = Buffer.alloc(16);
  nonce.copy(iv, 0);
  // (nonce ‖ 0) + offset/16 as one 128-bit big-endian number, as CTR mode increments it.
  let carry = Math.floor(offset / 16);
  for (let i = 15; i >= 0 && carry > 0; i--) {
    const sum = iv[i]! + (carry % 256);
    iv[i] = sum & 255;
    carry = Math.floor(carry / 256) + (sum >> 8);
  }
  const c = createCipheriv('aes-256-ctr', key, iv);
  const skip = offset % 16;
  if (skip) c.update(Buffer.alloc(skip));
  return c;
}

/** Encrypts (or, CTR being symmetric, decrypts) a whole stream from its first byte. */
export async function* cryptStream(src: AsyncIterable<Buffer>, key: Buffer, nonce: Buffer): AsyncGenerator<Buffer> {
  const c = cipherAt(key, nonce, 0);
  for await (const chunk of src) yield c.update(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
}

/** Decrypts [start, end) of `data`, a whole stream held in memory (an inline object). */
export function cryptSlice(data: Buffer, start: number, end: number, key: Buffer, nonce: Buffer): Buffer {
  return cipherAt(key, nonce, start).update(data.subarray(start, end));
}

/** A transform that decrypts bytes [start, …) of the concatenation of `blocks` (object order).
 *  Each block belongs to the stream of its own nonce (`iv`, a part upload's) or else the
 *  version's; its `offset` is its place in that stream (single PUT: in the object; multipart: in
 *  its part), so the keystream restarts correctly at every part boundary. */
export function decryptBlocks(blocks: BlockRef[], start: number, key: Buffer, versionNonce: Buffer | undefined): Transform {
  const segs: { abs: number; size: number; streamOffset: number; nonce: Buffer }[] = [];
  let abs = 0;
  for (const b of blocks) {
    const nonce = b.iv ?? versionNonce;
    if (!nonce) throw new Error('sse-c: a block of an encrypted version has no nonce');
    segs.push({ abs, size: b.size, streamOffset: b.offset, nonce });
    abs += b.size;
  }
  let pos = start;
  let i = 0;
  let cur: { seg: number; c: Cipheriv } | undefined;
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      const out: Buffer[] = [];
      let at = 0;
      while (at < chunk.length) {
        while (i < segs.length && pos >= segs[i]!.abs + segs[i]!.size) i++;
        const s = segs[i];
        if (!s) return done(new Error('sse-c: more bytes than the version has'));
        if (cur?.seg !== i) cur = { seg: i, c: cipherAt(key, s.nonce, s.streamOffset + (pos - s.abs)) };
        const n = Math.min(chunk.length - at, s.abs + s.size - pos);
        out.push(cur.c.update(chunk.subarray(at, at + n)));
        at += n;
        pos += n;
      }
      done(null, out.length === 1 ? out[0] : Buffer.concat(out));
    },
  });
}
