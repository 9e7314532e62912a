// GET/HEAD ?partNumber=N: the byte range of part N of a completed multipart object (from its block
// list, whose blocks carry their part number) and the part count S3 returns as x-amz-mp-parts-count.
import type { ObjectVersion } from '../../../model/object.ts';
import type { BlockRef } from '../../../model/version.ts';
import type { Store } from '../../../model/store.ts';
import { S3Error } from '../errors.ts';

/** S3's part numbers: 1 to 10,000. */
export const PART_NUMBER_MAX = 10_000;

export function parsePartNumber(raw: string): number {
  if (!/^[0-9]{1,5}$/.test(raw) || Number(raw) < 1 || Number(raw) > PART_NUMBER_MAX)
    throw new S3Error('InvalidArgument', `Part number must be an integer between 1 and ${PART_NUMBER_MAX}, inclusive`, { ArgumentName: 'partNumber', ArgumentValue: raw.slice(0, 16) });
  return Number(raw);
}

export interface PartRange {
  start: number;
  /** Exclusive. */
  end: number;
  /** Parts of the object (undefined for an object not uploaded in parts). */
  count: number | undefined;
}

/** Where part `n` lies in a block list sorted by (part, offset), and how many parts there are. */
export function partRangeOf(blocks: readonly BlockRef[], n: number): { start: number; end: number; count: number } | undefined {
  let pos = 0;
  let start = -1;
  let end = -1;
  const parts = new Set<number>();
  for (const b of blocks) {
    parts.add(b.part);
    if (b.part === n) {
      if (start < 0) start = pos;
      end = pos + b.size;
    }
    pos += b.size;
  }
  return start < 0 ? undefined : { start, end, count: parts.size };
}

function invalidPart(n: number): S3Error {
  return new S3Error('InvalidPart', `The requested part number ${n} does not exist in this object.`, { PartNumber: String(n) });
}

/** The range of part `n` of `v`; an object not uploaded in parts has one part, the whole object. */
export async function partRange(store: Store, v: ObjectVersion, n: number): Promise<PartRange> {
  const size = v.meta?.size ?? 0;
  if (!v.multipart) {
    if (n !== 1) throw invalidPart(n);
    return { start: 0, end: size, count: undefined };
  }
  let blocks = v.blocks;
  if (!blocks) {
    const ve = await store.versions.get(v.uuid, '');
    if (!ve || ve.deleted) throw new S3Error('InternalError', 'the object has no block list');
    blocks = ve.blocks;
  }
  const r = partRangeOf(blocks, n);
  if (!r) throw invalidPart(n);
  return r;
}
