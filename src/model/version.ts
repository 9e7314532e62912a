// The version table (sharded by version uuid): the ordered block list of an object version.
// Blocks are keyed "part:offset" so parts uploaded in any order merge into one ordered list.
import type { TableSchema } from '../table/schema.ts';

export interface BlockRef {
  part: number;
  offset: number;
  hash: Buffer;
  size: number;
}

export interface VersionEntry {
  uuid: string;
  deleted: boolean;
  blocks: BlockRef[];
}

function blockKey(b: BlockRef): string {
  return `${b.part}:${b.offset}`;
}

export function sortBlocks(bs: BlockRef[]): BlockRef[] {
  return bs.sort((x, y) => x.part - y.part || x.offset - y.offset);
}

export const versionSchema: TableSchema<VersionEntry> = {
  name: 'version',
  replication: 'sharded',
  partitionKey: (v) => v.uuid,
  sortKey: () => '',
  merge: (a, b) => {
    const deleted = a.deleted || b.deleted;
    if (deleted) return { uuid: a.uuid, deleted: true, blocks: [] };
    const m = new Map<string, BlockRef>();
    for (const x of [...a.blocks, ...b.blocks]) m.set(blockKey(x), x);
    return { uuid: a.uuid, deleted, blocks: sortBlocks([...m.values()]) };
  },
  isTombstone: (v) => v.deleted,
};
