// Gossiped peer addresses from a buggy peer: bounded by knownPeersMax, never passed on as
// hearsay, and forgotten after a few failed dials instead of being dialled forever.
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { NetApp } from './index.ts';
import { T_REQ, T_RES, encodeFrame, packr } from './protocol.ts';
import { RawPeer, connectedTo, newKey, newSecret, startNode, waitFor } from './testkit.ts';

const nodes: NetApp[] = [];
after(async () => {
  await Promise.all(nodes.map((n) => n.stop()));
});

describe('net: gossip bounds', () => {
  it('600 gossiped garbage peers (one frame): at most knownPeersMax kept, not passed on, forgotten after failed dials', async () => {
    const secret = newSecret();
    const a = await startNode(secret, { knownPeersMax: 50, reconnectMinMs: 20, reconnectMaxMs: 60 });
    nodes.push(a);
    const k = newKey();
    const raw = await RawPeer.connect(a.address().port, secret);
    raw.sendHello({ id: k.id, sig: raw.sign('client', k.key) });
    await waitFor('raw peer up', () => connectedTo(a, k.id));
    // Port 1 on loopback refuses at once: every dial of these fails.
    const peers = Array.from({ length: 600 }, () => ({ id: newKey().id, addr: '127.0.0.1:1' }));
    raw.send(encodeFrame({ t: T_REQ, id: 1, final: true, data: packr.pack(['__net/peers', 2, { peers }]) }));
    await waitFor('gossip answered', () => raw.frames.some((f) => f.t === T_RES && f.id === 1));
    assert.ok(a.peers().length <= 50, `${a.peers().length} peers kept`);
    // Asked again, the node passes on only what it reached (the raw peer's own entry is excluded).
    raw.send(encodeFrame({ t: T_REQ, id: 2, final: true, data: packr.pack(['__net/peers', 2, { peers: [] }]) }));
    await waitFor('second gossip answered', () => raw.frames.some((f) => f.t === T_RES && f.id === 2));
    const res = raw.frames.find((f) => f.t === T_RES && f.id === 2)!;
    const [ok, list] = packr.unpack((res as { data: Buffer }).data) as [number, { peers: unknown[] }];
    assert.equal(ok, 1);
    assert.deepEqual(list.peers, [], 'hearsay is not gossiped on');
    await waitFor('unreachable hearsay forgotten', () => a.peers().every((p) => p.id === k.id), 10_000);
    raw.destroy();
  });
});
