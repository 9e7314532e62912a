// Sealing of certificate private keys before they enter the replicated certificate table:
// AES-256-GCM under a key derived by HKDF from the cluster's rpc_secret, with the host as
// associated data so a sealed key cannot be moved to another host's entry.
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

const IV = 12;
const TAG = 16;

export function certKeyFromSecret(rpcSecretHex: string): Buffer {
  return Buffer.from(hkdfSync('sha256', Buffer.from(rpcSecretHex, 'hex'), 'grenier', 'grenier/front/certificate-keys/v1', 32));
}

/** iv ‖ tag ‖ ciphertext */
export function sealKey(key: Buffer, host: string, pem: string): Buffer {
  const iv = randomBytes(IV);
  const c = createCipheriv('aes-256-gcm', key, iv);
  c.setAAD(Buffer.from(host, 'utf8'));
  const ct = Buffer.concat([c.update(pem, 'utf8'), c.final()]);
  return Buffer.concat([iv, c.getAuthTag(), ct]);
}

/** Throws if the data was altered, sealed for another host or under another secret. */
export function openKey(key: Buffer, host: string, sealed: Uint8Array): string {
  const b = Buffer.from(sealed);
  if (b.length < IV + TAG) throw new Error('sealed key too short');
  const d = createDecipheriv('aes-256-gcm', key, b.subarray(0, IV));
  d.setAAD(Buffer.from(host, 'utf8'));
  d.setAuthTag(b.subarray(IV, IV + TAG));
  return Buffer.concat([d.update(b.subarray(IV + TAG)), d.final()]).toString('utf8');
}
