// Tests of frame encoding and of the reader's refusal of malformed input.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CHUNK_SIZE, FrameReader, MAX_FRAME, ProtocolError, T_CANCEL, T_HELLO, T_PING, T_REQ, T_RES, T_RETIRE, encodeFrame, packr, type Frame } from './protocol.ts';

const raw = (v: unknown): Buffer => {
  const b = packr.pack(v);
  const out = Buffer.alloc(4 + b.length);
  out.writeUInt32BE(b.length);
  b.copy(out, 4);
  return out;
};

describe('net/protocol', () => {
  const frames: Frame[] = [
    { t: T_HELLO, hello: { v: 1, id: 'a'.repeat(64), addr: '127.0.0.1:1', port: 1, sig: Buffer.alloc(64, 1) } },
    { t: T_HELLO, hello: { v: 1, id: 'b'.repeat(64), addr: undefined, port: 3901, sig: Buffer.alloc(64, 2) } },
    { t: T_REQ, id: 1, final: false, data: Buffer.alloc(CHUNK_SIZE, 7) },
    { t: T_RES, id: 2 ** 40, final: true, data: Buffer.from('x') },
    { t: T_PING, nonce: 5 },
    { t: T_CANCEL, id: 9 },
    { t: T_RETIRE },
  ];

  it('round-trips frames, whatever the split of the byte stream', () => {
    const bytes = Buffer.concat(frames.map(encodeFrame));
    for (const step of [1, 3, 1000, 70000, bytes.length]) {
      const r = new FrameReader();
      const got: Frame[] = [];
      for (let i = 0; i < bytes.length; i += step) got.push(...r.push(bytes.subarray(i, i + step)));
      assert.deepEqual(got, frames, `split every ${step} bytes`);
    }
  });

  it('refuses malformed frames with a ProtocolError', () => {
    const len = (n: number): Buffer => {
      const b = Buffer.alloc(4);
      b.writeUInt32BE(n);
      return b;
    };
    const bad: [string, Buffer][] = [
      ['oversized', len(MAX_FRAME + 1)],
      ['empty', len(0)],
      ['bad msgpack', Buffer.concat([len(1), Buffer.from([0xc1])])],
      ['trailing bytes', Buffer.concat([len(3), Buffer.from([0x01, 0x02, 0x03])])],
      ['not an array', raw({ t: 1 })],
      ['unknown type', raw([42, 1])],
      ['string id', raw([T_REQ, '1', 1, Buffer.alloc(1)])],
      ['negative id', raw([T_RES, -1, 1, Buffer.alloc(1)])],
      ['bad final flag', raw([T_REQ, 1, 2, Buffer.alloc(1)])],
      ['data not bytes', raw([T_REQ, 1, 1, 'abc'])],
      ['hello without sig', raw([T_HELLO, { v: 1, id: 'a', port: 1 }])],
      ['ping without nonce', raw([T_PING])],
    ];
    for (const [what, bytes] of bad) assert.throws(() => new FrameReader().push(bytes), ProtocolError, what);
  });
});
