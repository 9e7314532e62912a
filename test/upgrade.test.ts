// Rolling upgrades: nodes announce their RPC protocol in the hello. Two nodes of the current
// protocol and one announcing the next (which still speaks the current one) form a cluster and
// serve each other's writes; a node of a release that dropped the current protocol is refused by
// the current nodes with a clear log line on both sides, and still talks to the next-version one.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { CreateBucketCommand, HeadBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { startCluster, checkWrites, describeFailures, sha256, waitFor, type AckedWrite, type Cluster, type ClusterNode } from './lib/cluster.ts';
import { startNode, type TestNode } from './lib/node.ts';
import { PROTOCOL_MIN, PROTOCOL_VERSION } from '../src/net/protocol.ts';

let cluster: Cluster | undefined;
let stranger: TestNode | undefined;
after(async () => {
  await stranger?.stop();
  await cluster?.stop();
});

const NEXT = `${PROTOCOL_VERSION + 1}:${PROTOCOL_MIN}`;
/** A release two steps ahead that no longer speaks the current protocol. */
const TOO_NEW = `${PROTOCOL_VERSION + 2}:${PROTOCOL_VERSION + 1}`;

test('current and next protocol versions interoperate; a node that dropped the current one is refused with a clear log line', { timeout: 180_000 }, async (t) => {
  cluster = await startCluster({ envFor: (i) => (i === 2 ? { GRENIER_TEST_PROTOCOL: NEXT } : undefined) });
  const nodes = cluster.nodes as ClusterNode[];
  await nodes[0]!.s3.send(new CreateBucketCommand({ Bucket: 'upgrade' }));
  await waitFor('bucket on every node', async () => {
    for (const n of nodes) await n.s3.send(new HeadBucketCommand({ Bucket: 'upgrade' }), { abortSignal: AbortSignal.timeout(5000) });
    return true;
  }, 10_000, 100);
  // Writes through each node (quorum 2 of 3: the next-version node takes part), read on each.
  const acked: AckedWrite[] = [];
  for (const [i, n] of nodes.entries())
    for (let k = 0; k < 3; k++) {
      const body = randomBytes(100_000);
      await n.s3.send(new PutObjectCommand({ Bucket: 'upgrade', Key: `via-${i}/${k}`, Body: body }), { abortSignal: AbortSignal.timeout(30_000) });
      acked.push({ bucket: 'upgrade', key: `via-${i}/${k}`, sha256: sha256(body), size: body.length });
    }
  const failures = await checkWrites(nodes, acked);
  assert.equal(failures.length, 0, describeFailures(failures));
  for (const n of nodes) assert.doesNotMatch(n.output(), /incompatible RPC protocol/, `node ${n.index} refused no one`);

  // A node of a release that no longer speaks the current protocol, told about all three.
  stranger = await startNode({
    rpcSecret: cluster.secret,
    replicationFactor: 3,
    createKey: false,
    wait: 'live',
    env: { GRENIER_TEST_PROTOCOL: TOO_NEW },
    extraConfig: `bootstrap_peers = ${JSON.stringify(nodes.map((n) => `${n.id}@${n.publicAddr}`))}\nrpc_ping_interval_secs = 1`,
  });
  const strangerId: string = Object.keys((await stranger.admin('GetNodeInfo', undefined, 'node=self')).success)[0]!;
  await waitFor('the current nodes log the refusal', async () => nodes.slice(0, 2).every((n) => /refusing peer with an incompatible RPC protocol.*upgrade this node/.test(n.output())), 20_000, 200);
  await waitFor('the new node logs it too', async () => /refusing peer with an incompatible RPC protocol.*upgrade the peer/.test(stranger!.output()), 20_000, 200);
  const line = nodes[0]!.output().split('\n').find((l) => /incompatible RPC protocol/.test(l))!;
  t.diagnostic(`node 0 logged: ${line.slice(0, 400)}`);
  const entry = JSON.parse(line) as { level: number; node: string; peerProtocol: { v: number; min: number }; protocol: { v: number; min: number } };
  assert.equal(entry.level, 50, 'an error line');
  assert.equal(entry.node, strangerId.slice(0, 16));
  assert.deepEqual(entry.peerProtocol, { v: PROTOCOL_VERSION + 2, min: PROTOCOL_VERSION + 1 });
  assert.deepEqual(entry.protocol, { v: PROTOCOL_VERSION, min: PROTOCOL_MIN });

  // The current nodes never count it as up; the next-version node speaks to it.
  await waitFor('the next-version node connected to the new one', async () => {
    const s = await nodes[2]!.admin('GetClusterStatus');
    return s.nodes.some((n: { id: string; isUp: boolean }) => n.id === strangerId && n.isUp);
  }, 20_000, 200);
  for (const n of nodes.slice(0, 2)) {
    const s = await n.admin('GetClusterStatus');
    const seen = s.nodes.find((x: { id: string }) => x.id === strangerId);
    assert.ok(!seen?.isUp, `node ${n.index} does not see the refused node up: ${JSON.stringify(seen)}`);
  }
  // Refusals are not repeated line after line while it redials.
  await new Promise((r) => setTimeout(r, 3000));
  const lines = nodes[0]!.output().split('\n').filter((l) => /incompatible RPC protocol/.test(l)).length;
  assert.ok(lines <= 2, `one line per peer per 10 minutes (node 0 has ${lines})`);
});
