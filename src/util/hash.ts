// Hashing helpers: SHA-256 for content addressing and partitions, MD5 for S3 ETags.
import { createHash, randomBytes } from 'node:crypto';
import { hashPool } from './hash-pool.ts';

export function sha256(data: Uint8Array | string): Buffer {
  return createHash('sha256').update(data).digest();
}

/** SHA-256 of a block, in a hash worker when it is large (hash-pool.ts); inline again if the worker dies. */
export function sha256Block(data: Uint8Array): Promise<Buffer> {
  return hashPool().digestOrInline('sha256', data);
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
