// Object bodies of the fault runs: each write's bytes are a function of (bucket, key, write id)
// only — a header naming them, then bytes from a PRNG seeded by their hash — so a read tells
// which write it returned and whether every byte is right, without keeping the bodies.
import { createHash } from 'node:crypto';
import { FastPrng } from '../../lib/files.ts';

const MAGIC = 'grenier-fault ';

function digestOf(bucket: string, key: string, writeId: number): Buffer {
  return createHash('sha256').update(`${bucket}/${key}#${writeId}`).digest();
}

/** The body of write `writeId` to bucket/key, `size` bytes (at least the header's length). */
export function bodyFor(bucket: string, key: string, writeId: number, size: number): Buffer {
  const d = digestOf(bucket, key, writeId);
  // The header names the key too (by hash), so a short body of another key is not taken for it.
  const head = Buffer.from(`${MAGIC}${writeId} ${size} ${d.subarray(0, 6).toString('hex')}\n`);
  const n = Math.max(size, head.length);
  const out = Buffer.allocUnsafe(n);
  head.copy(out);
  new FastPrng(d.readUInt32BE(0)).bytes(n - head.length).copy(out, head.length);
  return out;
}

export type Decoded = { writeId: number; size: number; ok: true } | { ok: false; why: string; writeId?: number };

/** Which write a body is, and whether it is exactly that write's bytes for bucket/key. */
export function decodeBody(bucket: string, key: string, body: Buffer): Decoded {
  const nl = body.indexOf(10);
  const head = nl > 0 && nl < 64 ? body.subarray(0, nl).toString('latin1') : '';
  const m = /^grenier-fault (\d+) (\d+) [0-9a-f]{12}$/.exec(head);
  if (!m) return { ok: false, why: `no header (${body.length} bytes, starts ${JSON.stringify(body.subarray(0, 24).toString('latin1'))})` };
  const writeId = Number(m[1]);
  const size = Number(m[2]);
  if (body.length !== Math.max(size, nl + 1)) return { ok: false, writeId, why: `write ${writeId}: ${body.length} bytes, want ${size}` };
  const want = bodyFor(bucket, key, writeId, size);
  if (!want.equals(body)) {
    let i = 0;
    while (i < body.length && body[i] === want[i]) i++;
    return { ok: false, writeId, why: `write ${writeId}: bytes differ from offset ${i} of ${size}` };
  }
  return { ok: true, writeId, size };
}
