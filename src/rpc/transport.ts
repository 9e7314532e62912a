// What the RPC layer needs from a network: the real TLS transport (net/) and the seeded
// simulated network used by replication tests both provide it.

export type NodeId = string;

export type Handler = (from: NodeId, endpoint: string, msg: unknown) => Promise<unknown>;

export interface CallOptions {
  timeoutMs?: number;
  priority?: 'high' | 'normal' | 'background';
}

export interface PeerView {
  id: NodeId;
  addr?: string;
  connected: boolean;
  rttMs?: number;
  lastSeen?: number;
}

export interface Transport {
  readonly id: NodeId;
  register(endpoint: string, h: Handler): void;
  call(to: NodeId, endpoint: string, msg: unknown, opts?: CallOptions): Promise<unknown>;
  peers(): PeerView[];
}

/** An error a remote handler threw, carried back to the caller. */
export class RemoteError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'RemoteError';
    this.code = code;
  }
}
