// Public types of the peer transport, kept apart so every net module can share them without cycles.
import { GrenierError } from '../util/errors.ts';

export type NodeId = string; // 64 hex chars = raw ed25519 public key

export type Handler = (from: NodeId, endpoint: string, msg: unknown) => Promise<unknown>;

export type Priority = 'high' | 'normal' | 'background';

export interface CallOptions {
  timeoutMs?: number;
  priority?: Priority;
}

export interface PeerInfo {
  id: NodeId;
  addr: string | undefined;
  connected: boolean;
  rttMs: number | undefined;
  lastSeen: number | undefined;
  lastError?: string;
}

export interface NetOptions {
  nodeKeyPem: string; // ed25519 private key (PKCS8 PEM)
  rpcSecret: string; // 64 hex chars, the cluster secret
  bindAddr: string; // "host:port" ("[::]:3901"); port 0 allowed in tests
  publicAddr?: string; // what we tell others to dial
  bootstrapPeers: string[]; // "<id>@<host:port>" or "host:port" (id learned on connect)
  pingIntervalMs?: number; // default 10 s; tests lower it
  gossipIntervalMs?: number; // default 30 s; peers are also exchanged on every new connection
  reconnectMinMs?: number; // default 1 s
  reconnectMaxMs?: number; // default 10 s (the redial back-off's ceiling)
  handshakeTimeoutMs?: number; // TLS + hello, from accept, default 10 s
  pendingHandshakesMax?: number; // accepted sockets not yet authenticated, default 64
  connectionsPerIpMax?: number; // accepted sockets from one address, default 16
  messageBytesMax?: number; // one RPC message (request or response), default MAX_MESSAGE
  knownPeersMax?: number; // peers kept for dialling, default 256
  defaultTimeoutMs?: number; // call deadline when the caller gives none, default 30 s
}

/**
 * Failure of a call. `remote` tells whether the peer's handler threw (code is then the
 * handler's error code, or 'RemoteError'); local codes: Timeout, NoConnection,
 * ConnectionClosed, TooLarge, NoHandler, Stopped.
 */
export class NetError extends GrenierError {
  readonly remote: boolean;
  constructor(code: string, message: string, remote = false) {
    super(code, message);
    this.name = 'NetError';
    this.remote = remote;
  }
}

export const NODE_ID_RE = /^[0-9a-f]{64}$/;
