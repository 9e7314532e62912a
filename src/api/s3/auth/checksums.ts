// Streaming checksum hashers for S3's flexible checksums (CRC32, CRC32C, CRC64NVME, SHA1, SHA256),
// each yielding the big-endian digest in base64 as S3 headers and trailers carry it.
import { createHash, type Hash } from 'node:crypto';
import { crc32 } from 'node:zlib';

export type ChecksumAlgorithm = 'crc32' | 'crc32c' | 'crc64nvme' | 'sha1' | 'sha256';
export const CHECKSUM_ALGORITHMS: readonly ChecksumAlgorithm[] = ['crc32', 'crc32c', 'crc64nvme', 'sha1', 'sha256'];

/** Raw digest length in bytes, used to reject malformed client values before hashing anything. */
export const CHECKSUM_BYTES: Record<ChecksumAlgorithm, number> = {
  crc32: 4,
  crc32c: 4,
  crc64nvme: 8,
  sha1: 20,
  sha256: 32,
};

export interface Hasher {
  update(data: Uint8Array): void;
  /** Big-endian digest; the hasher must not be used afterwards. */
  digest(): Buffer;
}

export function isChecksumAlgorithm(name: string): name is ChecksumAlgorithm {
  return (CHECKSUM_ALGORITHMS as readonly string[]).includes(name);
}

// Slice-by-8 tables: CRC32C is a common SDK default, so it sits on the hot upload path.
const CRC32C_TABLES: Uint32Array[] = (() => {
  const t: Uint32Array[] = [];
  for (let k = 0; k < 8; k++) t.push(new Uint32Array(256));
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let i = 0; i < 8; i++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    t[0]![n] = c >>> 0;
  }
  for (let n = 0; n < 256; n++) {
    let c = t[0]![n]!;
    for (let k = 1; k < 8; k++) {
      c = t[0]![c & 0xff]! ^ (c >>> 8);
      t[k]![n] = c >>> 0;
    }
  }
  return t;
})();

export function crc32cUpdate(crc: number, data: Uint8Array): number {
  const [t0, t1, t2, t3, t4, t5, t6, t7] = CRC32C_TABLES as [
    Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array,
  ];
  let c = ~crc >>> 0;
  let i = 0;
  const n = data.length;
  for (; i + 8 <= n; i += 8) {
    const a = (c ^ (data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24))) >>> 0;
    c =
      t7[a & 0xff]! ^ t6[(a >>> 8) & 0xff]! ^ t5[(a >>> 16) & 0xff]! ^ t4[a >>> 24]! ^
      t3[data[i + 4]!]! ^ t2[data[i + 5]!]! ^ t1[data[i + 6]!]! ^ t0[data[i + 7]!]!;
  }
  for (; i < n; i++) c = t0[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

// CRC64 kept as two 32-bit halves: BigInt arithmetic per byte is ~50x slower.
const CRC64_LO = new Uint32Array(256);
const CRC64_HI = new Uint32Array(256);
(() => {
  const polyLo = 0xac4bc9b5;
  const polyHi = 0x9a6c9329;
  for (let n = 0; n < 256; n++) {
    let lo = n;
    let hi = 0;
    for (let i = 0; i < 8; i++) {
      const bit = lo & 1;
      lo = ((lo >>> 1) | (hi << 31)) >>> 0;
      hi = hi >>> 1;
      if (bit) {
        lo = (lo ^ polyLo) >>> 0;
        hi = (hi ^ polyHi) >>> 0;
      }
    }
    CRC64_LO[n] = lo;
    CRC64_HI[n] = hi;
  }
})();

/** state is [lo, hi] of the non-inverted register. */
function crc64Update(state: [number, number], data: Uint8Array): void {
  let lo = ~state[0] >>> 0;
  let hi = ~state[1] >>> 0;
  for (let i = 0; i < data.length; i++) {
    const idx = (lo ^ data[i]!) & 0xff;
    lo = ((lo >>> 8) | (hi << 24)) ^ CRC64_LO[idx]!;
    hi = (hi >>> 8) ^ CRC64_HI[idx]!;
  }
  state[0] = ~lo >>> 0;
  state[1] = ~hi >>> 0;
}

class Crc32Hasher implements Hasher {
  private crc = 0;
  update(data: Uint8Array): void {
    this.crc = crc32(data, this.crc);
  }
  digest(): Buffer {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(this.crc >>> 0);
    return b;
  }
}

class Crc32cHasher implements Hasher {
  private crc = 0;
  update(data: Uint8Array): void {
    this.crc = crc32cUpdate(this.crc, data);
  }
  digest(): Buffer {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(this.crc);
    return b;
  }
}

class Crc64NvmeHasher implements Hasher {
  private state: [number, number] = [0, 0];
  update(data: Uint8Array): void {
    crc64Update(this.state, data);
  }
  digest(): Buffer {
    const b = Buffer.alloc(8);
    b.writeUInt32BE(this.state[1], 0);
    b.writeUInt32BE(this.state[0], 4);
    return b;
  }
}

class NodeHasher implements Hasher {
  private readonly h: Hash;
  constructor(alg: string) {
    this.h = createHash(alg);
  }
  update(data: Uint8Array): void {
    this.h.update(data);
  }
  digest(): Buffer {
    return this.h.digest();
  }
}

export function createHasher(alg: ChecksumAlgorithm): Hasher {
  switch (alg) {
    case 'crc32':
      return new Crc32Hasher();
    case 'crc32c':
      return new Crc32cHasher();
    case 'crc64nvme':
      return new Crc64NvmeHasher();
    case 'sha1':
      return new NodeHasher('sha1');
    case 'sha256':
      return new NodeHasher('sha256');
  }
}

/** One-shot checksum in S3's base64 form. */
export function checksumBase64(alg: ChecksumAlgorithm, data: Uint8Array | string): string {
  const h = createHasher(alg);
  h.update(typeof data === 'string' ? Buffer.from(data) : data);
  return h.digest().toString('base64');
}

/** Strict base64 check: S3 rejects values that do not decode to exactly the digest length. */
export function isValidChecksumValue(alg: ChecksumAlgorithm, value: string): boolean {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(value) || value.length % 4 !== 0) return false;
  return Buffer.from(value, 'base64').length === CHECKSUM_BYTES[alg];
}
