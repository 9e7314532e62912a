// Who may talk to us and who they are: TLS 1.3 keyed by a PSK derived from the cluster secret
// (only members finish the handshake), then each side signs the session's exported keying
// material with its node key, so a node id cannot be claimed without its private key nor replayed.
import { createPrivateKey, createPublicKey, hkdfSync, sign, verify, type KeyObject } from 'node:crypto';
import type { TLSSocket, TlsOptions, ConnectionOptions } from 'node:tls';
import { NODE_ID_RE, type NodeId } from './types.ts';

export const PSK_IDENTITY = 'grenier-rpc-v1';
const EKM_LABEL = 'grenier-node-auth';
// Both suites hash with SHA-256, which is what OpenSSL uses for callback-provided TLS 1.3 PSKs.
const CIPHERS = 'TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256';
const SPKI_ED25519_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

export type Role = 'client' | 'server';

export function derivePsk(rpcSecret: string): Buffer {
  if (!/^[0-9a-fA-F]{64}$/.test(rpcSecret)) throw new Error('rpc_secret must be 64 hex characters');
  return Buffer.from(hkdfSync('sha256', Buffer.from(rpcSecret, 'hex'), 'grenier rpc', 'grenier tls1.3 psk v1', 32));
}

export function serverTlsOptions(psk: Buffer): TlsOptions {
  return {
    minVersion: 'TLSv1.3',
    maxVersion: 'TLSv1.3',
    ciphers: CIPHERS,
    // An unknown identity gets no key and the handshake fails.
    pskCallback: (_socket: TLSSocket, identity: string) => (identity === PSK_IDENTITY ? psk : null),
  };
}

export function clientTlsOptions(psk: Buffer): ConnectionOptions {
  return {
    minVersion: 'TLSv1.3',
    maxVersion: 'TLSv1.3',
    ciphers: CIPHERS,
    pskCallback: () => ({ psk, identity: PSK_IDENTITY }),
    // No certificate exists to check: the PSK binder authenticates the server.
    checkServerIdentity: () => undefined,
  };
}

export function publicKeyFromId(id: NodeId): KeyObject {
  if (!NODE_ID_RE.test(id)) throw new Error('node id must be 64 lowercase hex characters');
  return createPublicKey({ key: Buffer.concat([SPKI_ED25519_PREFIX, Buffer.from(id, 'hex')]), format: 'der', type: 'spki' });
}

export function idFromPrivateKey(key: KeyObject): NodeId {
  const der = createPublicKey(key).export({ format: 'der', type: 'spki' });
  return der.subarray(der.length - 32).toString('hex');
}

export function loadPrivateKey(pem: string): KeyObject {
  const key = createPrivateKey(pem);
  if (key.asymmetricKeyType !== 'ed25519') throw new Error('node key must be ed25519');
  return key;
}

/** The role byte stops a peer from reflecting our own signature back at us on the same session. */
function signedBytes(socket: TLSSocket, role: Role): Buffer {
  return Buffer.concat([socket.exportKeyingMaterial(32, EKM_LABEL, Buffer.alloc(0)), Buffer.from(role === 'client' ? 'c' : 's')]);
}

export function signHello(socket: TLSSocket, role: Role, key: KeyObject): Buffer {
  return sign(null, signedBytes(socket, role), key);
}

/** True iff `sig` was made on this very session, by the key of `id`, in role `role`. */
export function verifyHello(socket: TLSSocket, role: Role, id: string, sig: Buffer): boolean {
  let pub: KeyObject;
  try {
    pub = publicKeyFromId(id);
  } catch {
    return false;
  }
  try {
    return verify(null, signedBytes(socket, role), pub, sig);
  } catch {
    return false;
  }
}
