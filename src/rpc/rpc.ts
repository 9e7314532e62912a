// Calls over a Transport: local short-circuit, deadlines, checked peer payloads, and peer
// preference by RTT. Endpoints are declared typed once (schema.ts Endpoint: call, all, quorum).
import type { Clock } from '../util/time.ts';
import type { CallOptions, Handler, NodeId, PeerView, Transport } from './transport.ts';
import type { Check } from './schema.ts';
import { limitRefused } from '../util/metrics.ts';
import { BurstLog } from '../net/admission.ts';
import { QuorumError } from './quorum.ts';

export { QuorumError };

export class Rpc {
  readonly transport: Transport;
  readonly clock: Clock;
  readonly id: NodeId;
  private readonly handlers = new Map<string, Handler>();
  /** Zone of each node, for same-zone preference (filled from the layout). */
  zoneOf: (id: NodeId) => string | undefined = () => undefined;

  constructor(transport: Transport, clock: Clock) {
    this.transport = transport;
    this.clock = clock;
    this.id = transport.id;
  }

  /**
   * One declaration per endpoint: what comes from a peer is checked by `check` (shape, sizes,
   * counts) before `handle` sees it; a bad payload is answered with a BadRequest error, never
   * run. Calls to self skip the check (the payload was built here).
   */
  endpoint<T>(endpoint: string, check: Check<T>, handle: (from: NodeId, msg: T) => Promise<unknown>): void {
    this.handlers.set(endpoint, (from, _e, msg) => handle(from, msg as T));
    this.transport.register(endpoint, async (from, _e, msg) => {
      let m: T;
      try {
        m = check(msg, endpoint);
      } catch (e) {
        limitRefused.inc({ limit: 'rpc_payload_schema' });
        this.refusedLog.hit({ endpoint, node: from.slice(0, 16), err: (e as Error).message.slice(0, 300) });
        throw e;
      }
      return handle(from, m);
    });
  }

  /** One log line per burst of refused payloads, whoever sends them. */
  private readonly refusedLog = new BurstLog('rpc: malformed peer payloads refused');

  async call<T>(to: NodeId, endpoint: string, msg: unknown, opts: CallOptions = {}): Promise<T> {
    if (to === this.id) {
      const h = this.handlers.get(endpoint);
      if (!h) throw new Error(`no local handler for ${endpoint}`);
      return (await h(this.id, endpoint, msg)) as T;
    }
    return (await this.transport.call(to, endpoint, msg, { timeoutMs: 30_000, ...opts })) as T;
  }

  peer(id: NodeId): PeerView | undefined {
    return this.transport.peers().find((p) => p.id === id);
  }

  isUp(id: NodeId): boolean {
    return id === this.id || this.peer(id)?.connected === true;
  }

  /** Orders nodes by preference for reads: self, then same zone, then up nodes by RTT, then the rest. */
  preferred(nodes: NodeId[]): NodeId[] {
    const myZone = this.zoneOf(this.id);
    const peers = new Map(this.transport.peers().map((p) => [p.id, p]));
    const score = (n: NodeId): number => {
      if (n === this.id) return -1;
      const p = peers.get(n);
      if (!p?.connected) return 1e12;
      const sameZone = myZone !== undefined && this.zoneOf(n) === myZone;
      return (sameZone ? 0 : 1e6) + (p.rttMs ?? 1e5);
    };
    return [...nodes].sort((a, b) => score(a) - score(b) || (a < b ? -1 : 1));
  }
}
