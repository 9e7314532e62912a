// The transport of a node alone (no cluster): no peers, so every call is to itself and the Rpc
// layer answers it from its own handlers; a call elsewhere fails as to an unreachable node.
import { randomBytes } from 'node:crypto';
import { RemoteError, type Handler, type NodeId, type PeerView, type Transport } from './transport.ts';

export class LocalTransport implements Transport {
  /** A random node id: nothing is ever queued for it (a node alone queues nothing). */
  readonly id: NodeId = randomBytes(32).toString('hex');
  register(_endpoint: string, _h: Handler): void {}
  call(to: NodeId): Promise<unknown> {
    return Promise.reject(new RemoteError('Unreachable', `no cluster: node ${to.slice(0, 8)} is not reachable`));
  }
  peers(): PeerView[] {
    return [];
  }
}
