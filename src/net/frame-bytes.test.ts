// The chunk frames written by hand (protocol.ts dataFrame) are byte for byte what msgpackr wrote
// before, and so are big messages packed into a buffer of their own (packMessage): a node of this
// build and one of the previous release read each other's frames.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { CHUNK_SIZE, FrameReader, T_REQ, T_RES, encodeFrame, packMessage, packr, payloadBytes } from './protocol.ts';

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

it('packMessage: a message with a big binary payload packs to the same bytes, in a buffer of its own', () => {
  const block = Buffer.alloc(CHUNK_SIZE * 16 + 5, 7);
  const cases: unknown[] = [
    ['block/put', 1, { hash: Buffer.alloc(32, 1), data: block, ref: 'v'.repeat(32) }],
    [1, block],
    // More envelope than the headroom: the packer grows its buffer, the bytes are still the same.
    [1, { data: block, note: 'x'.repeat(10_000) }],
    ['small', 2, { data: Buffer.alloc(10, 1) }],
  ];
  for (const v of cases) {
    const hint = payloadBytes((v as unknown[])[2] ?? (v as unknown[])[1]);
    assert.deepEqual(packMessage(v, hint), packr.pack(v));
  }
  const a = packMessage(['a', 1, block], block.length);
  const b = packMessage(['b', 1, Buffer.alloc(block.length, 9)], block.length);
  assert.notEqual(a.buffer, b.buffer, 'two big messages never share a buffer');
  assert.equal(a[a.length - 1], 7, 'the first message is intact after the second was packed');
  assert.ok(a.buffer.byteLength < 2 * a.length, `a ${a.length}-byte message sits in ${a.buffer.byteLength} bytes`);
});
