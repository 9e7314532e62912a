// Peer transport between Grenier nodes: authenticated TLS 1.3 connections, multiplexed
// prioritised RPC, pings, reconnection and peer gossip. This is the only entry point of net/.
export { NetApp } from './netapp.ts';
export { NetError } from './types.ts';
export type { NodeId, Handler, PeerInfo, NetOptions, CallOptions, Priority } from './types.ts';
