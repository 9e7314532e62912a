// The multipart upload table (sharded by upload id): the parts uploaded so far. Each part
// upload has its own timestamp, so a re-uploaded part number keeps the newest upload.
import { pack } from 'msgpackr';
import type { TableSchema } from '../table/schema.ts';

export interface PartInfo {
  part: number;
  ts: number;
  /** Version uuid holding this part upload's blocks. */
  version: string;
  etag: string;
  size: number;
  checksums?: Record<string, string>;
}

export interface MpuEntry {
  uploadId: string;
  bucket: string;
  key: string;
  deleted: boolean;
  /** "part number:ts" → part, so concurrent re-uploads of one part merge deterministically. */
  parts: Record<string, PartInfo>;
}

function cmpBytes(a: unknown, b: unknown): number {
  return Buffer.compare(pack(a), pack(b));
}

function identity(m: MpuEntry): [string, string, string] {
  return [m.uploadId, m.bucket, m.key];
}

/** The union of two part maps, in sorted key order (the encoding must not depend on the merge
 *  order: Merkle hashes compare bytes). Two nodes can record one part number with the same
 *  millisecond (same key): the newer upload wins, then the version uuid, then the encoding. */
function mergeParts(a: Record<string, PartInfo>, b: Record<string, PartInfo>): Record<string, PartInfo> {
  const out: Record<string, PartInfo> = {};
  for (const k of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) {
    const x = a[k];
    const y = b[k];
    out[k] = !x ? y! : !y ? x : newerPart(x, y);
  }
  return out;
}

function newerPart(x: PartInfo, y: PartInfo): PartInfo {
  if (x.ts !== y.ts) return x.ts > y.ts ? x : y;
  if (x.version !== y.version) return x.version > y.version ? x : y;
  return cmpBytes(x, y) >= 0 ? x : y;
}

export const mpuSchema: TableSchema<MpuEntry> = {
  name: 'mpu',
  replication: 'sharded',
  partitionKey: (m) => m.uploadId,
  sortKey: () => '',
  merge: (a, b) => {
    // Identity fields are set once by CreateMultipartUpload; the smaller encoding keeps the merge
    // a total order anyway.
    const base = cmpBytes(identity(a), identity(b)) <= 0 ? a : b;
    if (a.deleted || b.deleted) return { uploadId: base.uploadId, bucket: base.bucket, key: base.key, deleted: true, parts: {} };
    return { uploadId: base.uploadId, bucket: base.bucket, key: base.key, deleted: false, parts: mergeParts(a.parts, b.parts) };
  },
  isTombstone: (m) => m.deleted,
};

/** The newest upload of each part number, in part order. */
export function latestParts(m: MpuEntry): PartInfo[] {
  const best = new Map<number, PartInfo>();
  for (const p of Object.values(m.parts)) {
    const cur = best.get(p.part);
    if (!cur || p.ts > cur.ts || (p.ts === cur.ts && p.version > cur.version)) best.set(p.part, p);
  }
  return [...best.values()].sort((a, b) => a.part - b.part);
}
