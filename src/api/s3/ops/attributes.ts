// GetObjectAttributes: a version's ETag, checksum, parts (multipart objects, paged with
// x-amz-max-parts / x-amz-part-number-marker), storage class and size, without its data.
import type { S3Ctx } from '../context.ts';
import { requireBucket, requireKey, sendXml } from '../context.ts';
import { S3Error } from '../errors.ts';
import type { XmlNode } from '../xml.ts';
import type { ObjectVersion } from '../../../model/object.ts';
import { versionIdOf } from '../../../model/object.ts';
import type { BlockRef } from '../../../model/version.ts';
import { httpDate } from '../../../util/time.ts';
import { selectVersion } from './object-read.ts';
import { checkKeyFor, requestKey } from '../sse-c.ts';

const ATTRIBUTES = ['ETag', 'Checksum', 'ObjectParts', 'StorageClass', 'ObjectSize'] as const;
type Attribute = (typeof ATTRIBUTES)[number];
const MAX_PARTS = 1000;
const PART_NUMBER_MAX = 10_000;

/** x-amz-object-attributes: a comma-separated list (repeated headers are joined by Node). */
export function parseAttributes(raw: string | string[] | undefined): Set<Attribute> {
  const s = Array.isArray(raw) ? raw.join(',') : (raw ?? '');
  const names = s.split(',').map((x) => x.trim()).filter((x) => x !== '');
  if (names.length === 0) throw new S3Error('InvalidArgument', 'The x-amz-object-attributes header specifying the attributes to be retrieved is either missing or empty', { ArgumentName: 'x-amz-object-attributes' });
  const out = new Set<Attribute>();
  for (const n of names) {
    const a = ATTRIBUTES.find((x) => x.toLowerCase() === n.toLowerCase());
    if (!a) throw new S3Error('InvalidArgument', `Invalid attribute name specified: ${n.slice(0, 64)}`, { ArgumentName: 'x-amz-object-attributes', ArgumentValue: n.slice(0, 64) });
    out.add(a);
  }
  return out;
}

function intHeader(ctx: S3Ctx, name: string, dflt: number, max: number): number {
  const v = ctx.req.headers[name];
  if (v === undefined) return dflt;
  const s = String(v).trim();
  if (!/^\d{1,10}$/.test(s)) throw new S3Error('InvalidArgument', `${name} must be a non-negative integer`, { ArgumentName: name, ArgumentValue: s.slice(0, 32) });
  return Math.min(Number(s), max);
}

/** Part number → size, in part order, from a block list sorted by (part, offset). */
export function partSizes(blocks: readonly BlockRef[]): [number, number][] {
  const out: [number, number][] = [];
  for (const b of blocks) {
    const last = out.at(-1);
    if (last && last[0] === b.part) last[1] += b.size;
    else out.push([b.part, b.size]);
  }
  return out;
}

async function blocksOf(ctx: S3Ctx, v: ObjectVersion): Promise<BlockRef[]> {
  if (v.blocks) return v.blocks;
  if (v.inline) return [{ part: 1, offset: 0, hash: Buffer.alloc(0), size: v.inline.length }];
  const ve = await ctx.store.versions.get(v.uuid, '');
  if (!ve || ve.deleted) throw new S3Error('InternalError', 'the object has no block list');
  return ve.blocks;
}

/** Checksum elements from the version's stored x-amz-checksum-* headers (ChecksumSHA256 …). */
function checksums(v: ObjectVersion): XmlNode | undefined {
  const out: XmlNode = {};
  for (const [k, val] of v.meta?.headers ?? []) {
    if (!k.startsWith('x-amz-checksum-') || k === 'x-amz-checksum-type') continue;
    out[`Checksum${k.slice('x-amz-checksum-'.length).toUpperCase()}`] = val;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

export async function GetObjectAttributes(ctx: S3Ctx): Promise<void> {
  const b = requireBucket(ctx);
  const key = requireKey(ctx);
  const want = parseAttributes(ctx.req.headers['x-amz-object-attributes']);
  const maxParts = intHeader(ctx, 'x-amz-max-parts', MAX_PARTS, MAX_PARTS);
  const marker = intHeader(ctx, 'x-amz-part-number-marker', 0, PART_NUMBER_MAX);
  const v = selectVersion(await ctx.store.objects.get(b.id, key), key, ctx.query.get('versionId'));
  checkKeyFor(v.ssec, requestKey(ctx)); // an SSE-C object's attributes only with its key, as S3
  const meta = v.meta!;
  const body: XmlNode = {};
  if (want.has('ETag')) body.ETag = meta.etag;
  if (want.has('Checksum')) body.Checksum = checksums(v);
  if (want.has('ObjectParts') && v.multipart) {
    const parts = partSizes(await blocksOf(ctx, v));
    const after = parts.filter(([n]) => n > marker);
    const page = after.slice(0, maxParts);
    const truncated = after.length > page.length;
    body.ObjectParts = {
      PartsCount: parts.length,
      PartNumberMarker: marker,
      ...(truncated ? { NextPartNumberMarker: page.at(-1)?.[0] ?? marker } : {}),
      MaxParts: maxParts,
      IsTruncated: truncated,
      Part: page.map(([n, size]) => ({ PartNumber: n, Size: size })),
    };
  }
  if (want.has('StorageClass')) body.StorageClass = 'STANDARD';
  if (want.has('ObjectSize')) body.ObjectSize = meta.size;
  const h: Record<string, string> = { 'last-modified': httpDate(v.ts) };
  if (b.versioning.v !== null || !v.nullVersion) h['x-amz-version-id'] = versionIdOf(v);
  sendXml(ctx, 200, 'GetObjectAttributesResponse', body, h);
}
