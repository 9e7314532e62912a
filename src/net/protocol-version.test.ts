// The RPC protocol version in the hello: what is compatible, how it travels, how it is announced.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  FrameReader,
  PROTOCOL_MIN,
  PROTOCOL_VERSION,
  ProtocolError,
  T_HELLO,
  announcedProtocol,
  encodeFrame,
  incompatibility,
  packr,
  protocolOf,
} from './protocol.ts';

const raw = (v: unknown): Buffer => {
  const b = packr.pack(v);
  const out = Buffer.alloc(4 + b.length);
  out.writeUInt32BE(b.length);
  b.copy(out, 4);
  return out;
};
const hello = (extra: Record<string, unknown>) => ({ v: 1, id: 'a'.repeat(64), addr: undefined, port: 1, sig: Buffer.alloc(64, 1), ...extra });

test('compatible when each side speaks a version the other accepts (a rolling upgrade runs N and N+1)', () => {
  const cur = { v: 1, min: 1 };
  assert.equal(incompatibility(cur, { v: 1, min: 1 }), undefined);
  assert.equal(incompatibility(cur, { v: 2, min: 1 }), undefined, 'the next release still speaks 1');
  assert.equal(incompatibility({ v: 2, min: 1 }, cur), undefined);
  // A release that dropped protocol 1: this node is the one to upgrade.
  assert.match(incompatibility(cur, { v: 3, min: 2 })!, /peer speaks RPC protocol 3 \(and back to 2\); this node speaks 1 \(and back to 1\): upgrade this node/);
  // An old peer this node no longer speaks to: the peer is the one to upgrade.
  assert.match(incompatibility({ v: 3, min: 2 }, cur)!, /upgrade the peer/);
});

test('the hello carries the version and the oldest accepted; an old hello without it means exactly its version', () => {
  const [f] = new FrameReader().push(encodeFrame({ t: T_HELLO, hello: hello({ v: 2, min: 1 }) as never }));
  assert.ok(f && f.t === T_HELLO);
  assert.deepEqual(protocolOf(f.hello), { v: 2, min: 1 });
  const [old] = new FrameReader().push(raw([T_HELLO, hello({ v: 1 })]));
  assert.ok(old && old.t === T_HELLO);
  assert.deepEqual(protocolOf(old.hello), { v: 1, min: 1 });
  for (const bad of [{ v: 1, min: 2 }, { v: 1, min: -1 }, { v: 1.5 }, { v: 70000 }, { v: 1, min: 'x' }]) {
    assert.throws(() => new FrameReader().push(raw([T_HELLO, hello(bad)])), ProtocolError, JSON.stringify(bad));
  }
});

test('a node announces its build\'s protocol; GRENIER_TEST_PROTOCOL announces another (upgrade tests)', () => {
  assert.deepEqual(announcedProtocol({}), { v: PROTOCOL_VERSION, min: PROTOCOL_MIN });
  assert.deepEqual(announcedProtocol({ GRENIER_TEST_PROTOCOL: '2' }), { v: 2, min: PROTOCOL_MIN });
  assert.deepEqual(announcedProtocol({ GRENIER_TEST_PROTOCOL: '3:3' }), { v: 3, min: 3 });
  assert.throws(() => announcedProtocol({ GRENIER_TEST_PROTOCOL: '1:2' }), /GRENIER_TEST_PROTOCOL/);
  assert.throws(() => announcedProtocol({ GRENIER_TEST_PROTOCOL: 'x' }), /GRENIER_TEST_PROTOCOL/);
});
