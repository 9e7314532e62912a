// The chunk frames written by hand (protocol.ts dataFrame) are byte for byte what msgpackr wrote
// before: a node of this build and one of the previous release read each other's frames.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { CHUNK_SIZE, FrameReader, T_REQ, T_RES, encodeFrame, packr } from './protocol.ts';

/** How every frame was encoded before: msgpackr, then a copy behind the length. */
function packed(v: unknown): Buffer {
  const b = packr.pack(v);
  const out = Buffer.alloc(4 + b.length);
  out.writeUInt32BE(b.length);
  b.copy(out, 4);
  return out;
}

it('REQ/RES chunk frames: same bytes as msgpackr for every id and length width, and read back', () => {
  const ids = [0, 1, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0x10000, 0xffffffff, 2 ** 32, 2 ** 40];
  const lengths = [0, 1, 0xff, 0x100, 0xffff, 0x10000, CHUNK_SIZE];
  let n = 0;
  for (const id of ids)
    for (const len of lengths)
      for (const t of [T_REQ, T_RES] as const)
        for (const final of [false, true]) {
          const data = Buffer.alloc(len, (id + len) & 0xff);
          const got = encodeFrame({ t, id, final, data });
          assert.deepEqual(got, packed([t, id, final ? 1 : 0, data]), `t ${t} id ${id} length ${len} final ${final}`);
          const [f] = new FrameReader().push(got);
          assert.deepEqual(f, { t, id, final, data }, `decoded t ${t} id ${id} length ${len}`);
          n++;
        }
  assert.equal(n, ids.length * lengths.length * 4);
});
