// The version table (sharded by version uuid): the ordered block list of an object version.
// Blocks are keyed "part:offset" so parts uploaded in any order merge into one ordered list.
import { pack } from 'msgpackr';
import type { TableSchema } from '../table/schema.ts';

export interface BlockRef {
  part: number;
  offset: number;
  hash: Buffer;
  size: number;
  /** SSE-C: the nonce of the stream this block belongs to, when it is not the version's own
   *  (each upload of a multipart part has its own); `offset` is then the place in that part. */
  iv?: Buffer;
}

/** What an SSE-C version keeps to check the customer's key (never the key: a salted
 *  HMAC-SHA256 of it) and, for a single-stream body, the nonce it was encrypted with
 *  (model/sse-c-cipher.ts). Set once when the version is made, like its data. */
export interface SseCRecord {
  alg: 'AES256';
  salt: Buffer;
  mac: Buffer;
  iv?: Buffer;
}

/** Which multipart Complete wrote a completed upload's block list (its object version's timestamp
 *  and etag). Two nodes may complete one upload with different part lists: the object merge keeps
 *  the later completion (ts, then etag) and so does this table, so the data matches the version. */
export interface Completion {
  ts: number;
  etag: string;
}

export interface VersionEntry {
  uuid: string;
  deleted: boolean;
  blocks: BlockRef[];
  completion?: Completion;
}

function blockKey(b: BlockRef): string {
  return `${b.part}:${b.offset}`;
}

export function sortBlocks(bs: BlockRef[]): BlockRef[] {
  return bs.sort((x, y) => x.part - y.part || x.offset - y.offset);
}

function cmpBytes(a: unknown, b: unknown): number {
  return Buffer.compare(pack(a), pack(b));
}

/** Orders completions as the object merge orders two completed forms of one version. */
export function cmpCompletion(a: Completion | undefined, b: Completion | undefined): number {
  if (!a || !b) return (a ? 1 : 0) - (b ? 1 : 0);
  return a.ts - b.ts || (a.etag < b.etag ? -1 : a.etag > b.etag ? 1 : 0);
}

function mergeVersionEntry(a: VersionEntry, b: VersionEntry): VersionEntry {
  if (a.deleted || b.deleted) return { uuid: a.uuid, deleted: true, blocks: [] };
  const c = cmpCompletion(a.completion, b.completion);
  // A later completion replaces the block list of an earlier one (never a mix of two part lists).
  if (c !== 0) return c > 0 ? a : b;
  // Same writer (or parts uploaded in pieces): the union, one block per position, ties by encoding.
  const m = new Map<string, BlockRef>();
  for (const x of [...a.blocks, ...b.blocks]) {
    const k = blockKey(x);
    const cur = m.get(k);
    m.set(k, cur && cmpBytes(cur, x) >= 0 ? cur : x);
  }
  const out: VersionEntry = { uuid: a.uuid, deleted: false, blocks: sortBlocks([...m.values()]) };
  if (a.completion) out.completion = a.completion;
  return out;
}

export const versionSchema: TableSchema<VersionEntry> = {
  name: 'version',
  replication: 'sharded',
  partitionKey: (v) => v.uuid,
  sortKey: () => '',
  merge: mergeVersionEntry,
  isTombstone: (v) => v.deleted,
};
