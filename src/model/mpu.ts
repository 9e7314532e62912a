// The multipart upload table (sharded by upload id): the parts uploaded so far. Each part
// upload has its own timestamp, so a re-uploaded part number keeps the newest upload.
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

export const mpuSchema: TableSchema<MpuEntry> = {
  name: 'mpu',
  replication: 'sharded',
  partitionKey: (m) => m.uploadId,
  sortKey: () => '',
  merge: (a, b) => {
    if (a.deleted || b.deleted) return { ...a, deleted: true, parts: {} };
    return { ...a, parts: { ...a.parts, ...b.parts } };
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
