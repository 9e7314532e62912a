// Cuts a byte stream into fixed-size blocks without holding more than one block (plus the
// bounded in-flight writes) in memory.
import type { Readable } from 'node:stream';

/** Yields blocks of exactly `size` bytes (the last may be shorter; an empty stream yields none). */
export async function* chunk(stream: Readable | AsyncIterable<Buffer>, size: number): AsyncGenerator<Buffer> {
  let parts: Buffer[] = [];
  let have = 0;
  for await (const c of stream as AsyncIterable<Buffer>) {
    let buf = Buffer.isBuffer(c) ? c : Buffer.from(c);
    while (buf.length > 0) {
      const take = Math.min(size - have, buf.length);
      parts.push(buf.subarray(0, take));
      have += take;
      buf = buf.subarray(take);
      if (have === size) {
        yield parts.length === 1 ? parts[0]! : Buffer.concat(parts, have);
        parts = [];
        have = 0;
      }
    }
  }
  if (have > 0) yield parts.length === 1 ? parts[0]! : Buffer.concat(parts, have);
}
