// Hashing helpers: SHA-256 for content addressing and partitions, MD5 for S3 ETags.
import { createHash, randomBytes } from 'node:crypto';

export function sha256(data: Uint8Array | string): Buffer {
  return createHash('sha256').update(data).digest();
}

export function sha256Hex(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

export function md5Hex(data: Uint8Array | string): string {
  return createHash('md5').update(data).digest('hex');
}

export function randomHex(bytes: number): string {
  return randomBytes(bytes).toString('hex');
}

/** Partition of a key: first byte of SHA-256 (ARCHITECTURE §3). */
export function partitionOf(key: Uint8Array | string): number {
  return sha256(key)[0]!;
}
