// S3 operations: ListObjects, ListObjectsV2, ListObjectVersions. Parameter parsing and the XML
// shapes live here; the scan itself (prefix roll-up, pagination) is in ../list/scan.ts.
import type { S3Ctx } from '../context.ts';
import { sendXml } from '../context.ts';
import { S3Error } from '../errors.ts';
import { escapeXml, RawXml, type XmlValue } from '../xml.ts';
import { currentVersion, liveVersion, versionIdOf, type ObjectEntry, type ObjectVersion } from '../../../model/object.ts';
import { isoDate } from '../../../util/time.ts';
import { KEY_BYTES_MAX } from '../input-limits.ts';
import { scan, type Listed, type PageSource, type ScanResult } from '../list/scan.ts';
import { owner, ownerNames, type OwnerNames } from './owner.ts';

const MAX_KEYS = 1000;

export function parseMaxKeys(q: URLSearchParams): number {
  const raw = q.get('max-keys');
  if (raw === null) return MAX_KEYS;
  if (!/^\d+$/.test(raw.trim())) throw new S3Error('InvalidArgument', `max-keys must be a non-negative integer, got "${raw}"`, { ArgumentName: 'max-keys', ArgumentValue: raw });
  return Math.min(MAX_KEYS, Number(raw.trim()));
}

/** With encoding-type=url S3 percent-encodes names in the answer (keys may hold characters XML
 *  cannot carry); '/' stays readable as AWS does, '+' and space are encoded so that both
 *  unquote and unquote_plus style decoders get the key back. */
export function encoder(q: URLSearchParams): { url: boolean; enc: (s: string | undefined) => string | undefined } {
  const t = q.get('encoding-type');
  if (t !== null && t !== 'url') throw new S3Error('InvalidArgument', `Invalid Encoding Method specified in Request: encoding-type must be "url", got "${t}"`, { ArgumentName: 'encoding-type', ArgumentValue: t });
  const url = t === 'url';
  return { url, enc: (s) => (s === undefined || !url ? s : encodeURIComponent(s).replace(/%2F/g, '/')) };
}

function objectSource(ctx: S3Ctx, bucketId: string, prefix: string): PageSource<ObjectEntry> {
  return (q) => ctx.store.objects.range(bucketId, { prefix, ...q });
}

/** A key and what ListObjects(V2) shows of its live version (none: nothing to list). */
interface LiveEntry {
  key: string;
  live?: Listable;
}

/** The page source of ListObjects(V2): entries reduced to LiveEntry as they are read. */
function liveSource(ctx: S3Ctx, bucketId: string, prefix: string, withOwner: boolean): PageSource<LiveEntry> {
  const project = (e: ObjectEntry): LiveEntry => {
    const v = liveVersion(e);
    return { key: e.key, live: v && { ts: v.ts, etag: v.meta?.etag ?? '', size: v.meta?.size ?? 0, acl: withOwner ? v.acl : undefined } };
  };
  return (q) => ctx.store.objects.rangeMap(bucketId, { prefix, ...q }, project);
}


/** The Contents elements of a listing, serialised directly: what toXml would write for
 *  {Key, LastModified, ETag, Size, Owner?, StorageClass} per item, without building a node per
 *  key (1000 per page). Only the key, ETag and owner can hold characters to escape. */
function contents(ctx: S3Ctx, items: { key: string; item: Listable }[], names: OwnerNames | undefined, enc: (s: string) => string | undefined): RawXml {
  let x = '';
  for (const { key, item: v } of items) {
    x += `<Contents><Key>${escapeXml(enc(key)!)}</Key><LastModified>${isoDate(v.ts)}</LastModified><ETag>${escapeXml(`"${v.etag}"`)}</ETag><Size>${v.size}</Size>`;
    if (names) {
      const o = owner(ctx, v, names);
      x += `<Owner><ID>${escapeXml(String(o.ID))}</ID><DisplayName>${escapeXml(String(o.DisplayName))}</DisplayName></Owner>`;
    }
    x += '<StorageClass>STANDARD</StorageClass></Contents>';
  }
  return new RawXml(x);
}

function split<T>(r: ScanResult<T>): { items: { key: string; item: T }[]; prefixes: string[] } {
  const items: { key: string; item: T }[] = [];
  const prefixes: string[] = [];
  for (const e of r.entries) {
    if (e.kind === 'item') items.push(e);
    else prefixes.push(e.prefix);
  }
  return { items, prefixes };
}

function lastMarker<T>(e: Listed<T> | undefined): string | undefined {
  return e === undefined ? undefined : e.kind === 'item' ? e.key : e.prefix;
}

function bucketOf(ctx: S3Ctx) {
  if (!ctx.bucket) throw new S3Error('NoSuchBucket', 'The specified bucket does not exist', { BucketName: ctx.bucketName ?? '' });
  return ctx.bucket;
}

/** What ListObjects(V2) keeps of a live version until the page is written (the owner only when
 *  shown): the rest of the decoded entry (headers, grants, inline bytes, other versions) is
 *  garbage at once instead of being held, and copied by the GC, for the whole page. */
interface Listable {
  ts: number;
  etag: string;
  size: number;
  acl: ObjectVersion['acl'];
}

const live = (e: LiveEntry): Listable[] => (e.live ? [e.live] : []);

export async function ListObjects(ctx: S3Ctx): Promise<void> {
  const b = bucketOf(ctx);
  const { url, enc } = encoder(ctx.query);
  const prefix = ctx.query.get('prefix') ?? '';
  const delimiter = ctx.query.get('delimiter') ?? '';
  const marker = ctx.query.get('marker') ?? '';
  const maxKeys = parseMaxKeys(ctx.query);
  const r = await scan({
    prefix,
    delimiter,
    maxKeys,
    marker: marker === '' ? undefined : marker,
    keyOf: (e) => e.key,
    expand: live,
    fetch: liveSource(ctx, b.id, prefix, true),
  });
  const { items, prefixes } = split(r);
  const names = await ownerNames(ctx, items.map((i) => i.item));
  sendXml(ctx, 200, 'ListBucketResult', {
    Name: ctx.bucketName,
    // Verbatim: V1 clients (botocore) do not decode Prefix, as S3 and RGW do not encode it here.
    Prefix: prefix,
    Marker: enc(marker),
    MaxKeys: maxKeys,
    Delimiter: delimiter === '' ? undefined : enc(delimiter),
    IsTruncated: r.truncated,
    // S3 gives NextMarker only with a delimiter; without one the last Key is the next marker.
    NextMarker: r.truncated && delimiter !== '' ? enc(lastMarker(r.entries.at(-1))) : undefined,
    Contents: contents(ctx, items, names, enc),
    CommonPrefixes: prefixes.map((p) => ({ Prefix: enc(p) })),
    EncodingType: url ? 'url' : undefined,
  });
}

/** Continuation tokens are opaque to clients: base64url of the last key or prefix returned. */
export function encodeToken(marker: string): string {
  return Buffer.from(marker, 'utf8').toString('base64url');
}

export function decodeToken(tok: string): string {
  const bad = () => new S3Error('InvalidArgument', 'The continuation token provided is incorrect', { ArgumentName: 'continuation-token', ArgumentValue: tok });
  if (tok === '' || !/^[A-Za-z0-9_-]+$/.test(tok)) throw bad();
  const buf = Buffer.from(tok, 'base64url');
  if (buf.toString('base64url') !== tok) throw bad();
  // Our tokens hold a key or prefix: longer than a key cannot be one of ours.
  if (buf.length > KEY_BYTES_MAX) throw bad();
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(buf);
  } catch {
    throw bad();
  }
}

export async function ListObjectsV2(ctx: S3Ctx): Promise<void> {
  const b = bucketOf(ctx);
  const { url, enc } = encoder(ctx.query);
  const prefix = ctx.query.get('prefix') ?? '';
  const delimiter = ctx.query.get('delimiter') ?? '';
  const maxKeys = parseMaxKeys(ctx.query);
  const token = ctx.query.get('continuation-token');
  const startAfter = ctx.query.get('start-after');
  const fetchOwner = ctx.query.get('fetch-owner') === 'true';
  // The token wins over start-after: it already lies after it. An empty token (sent by clients
  // that always pass one) is no position: the listing starts at the beginning or start-after.
  const marker = token !== null && token !== '' ? decodeToken(token) : startAfter !== null && startAfter !== '' ? startAfter : undefined;
  const r = await scan({ prefix, delimiter, maxKeys, marker, keyOf: (e) => e.key, expand: live, fetch: liveSource(ctx, b.id, prefix, fetchOwner) });
  const { items, prefixes } = split(r);
  const names = fetchOwner ? await ownerNames(ctx, items.map((i) => i.item)) : undefined;
  const last = lastMarker(r.entries.at(-1));
  sendXml(ctx, 200, 'ListBucketResult', {
    Name: ctx.bucketName,
    Prefix: enc(prefix),
    MaxKeys: maxKeys,
    KeyCount: r.entries.length,
    Delimiter: delimiter === '' ? undefined : enc(delimiter),
    IsTruncated: r.truncated,
    ContinuationToken: token ?? undefined,
    NextContinuationToken: r.truncated && last !== undefined ? encodeToken(last) : undefined,
    StartAfter: startAfter === null ? undefined : enc(startAfter),
    Contents: contents(ctx, items, names, enc),
    CommonPrefixes: prefixes.map((p) => ({ Prefix: enc(p) })),
    EncodingType: url ? 'url' : undefined,
  });
}

interface VersionItem {
  v: ObjectVersion;
  latest: boolean;
}

/** Complete versions of a key, newest first (the order S3 lists them in). In a bucket that never
 *  had versioning, a DELETE leaves a "null" delete marker internally; S3 shows nothing there. */
export function versionsOf(e: ObjectEntry, hideNullMarkers = false): VersionItem[] {
  const cur = currentVersion(e);
  const out: VersionItem[] = [];
  for (let i = e.versions.length - 1; i >= 0; i--) {
    const v = e.versions[i]!;
    if (hideNullMarkers && v.deleteMarker && v.nullVersion) continue;
    if (v.state === 'complete') out.push({ v, latest: v === cur });
  }
  return out;
}

export async function ListObjectVersions(ctx: S3Ctx): Promise<void> {
  const b = bucketOf(ctx);
  const { url, enc } = encoder(ctx.query);
  const prefix = ctx.query.get('prefix') ?? '';
  const delimiter = ctx.query.get('delimiter') ?? '';
  const maxKeys = parseMaxKeys(ctx.query);
  const keyMarker = ctx.query.get('key-marker') ?? '';
  const versionIdMarker = ctx.query.get('version-id-marker') ?? '';
  if (versionIdMarker !== '' && keyMarker === '')
    throw new S3Error('InvalidArgument', 'A version-id marker cannot be specified without a key marker.', { ArgumentName: 'version-id-marker', ArgumentValue: versionIdMarker });
  let marker: string | undefined;
  let resumeIn: { key: string; drop: (items: VersionItem[]) => VersionItem[] } | undefined;
  if (versionIdMarker !== '') {
    resumeIn = {
      key: keyMarker,
      drop: (items) => {
        const i = items.findIndex((x) => versionIdOf(x.v) === versionIdMarker);
        // An unknown version id (e.g. since deleted) cannot be placed: resume after the key.
        return i < 0 ? [] : items.slice(i + 1);
      },
    };
  } else if (keyMarker !== '') marker = keyMarker;
  const r = await scan({ prefix, delimiter, maxKeys, marker, resumeIn, keyOf: (e) => e.key, expand: (e) => versionsOf(e, b.versioning.v === null), fetch: objectSource(ctx, b.id, prefix) });
  const body: [string, XmlValue][] = [
    ['Name', ctx.bucketName],
    ['Prefix', enc(prefix)],
    ['KeyMarker', enc(keyMarker)],
    ['VersionIdMarker', versionIdMarker],
    ['MaxKeys', maxKeys],
    ['Delimiter', delimiter === '' ? undefined : enc(delimiter)],
    ['IsTruncated', r.truncated],
  ];
  const last = r.entries.at(-1);
  if (r.truncated && last) {
    body.push(['NextKeyMarker', enc(lastMarker(last))]);
    if (last.kind === 'item') body.push(['NextVersionIdMarker', versionIdOf(last.item.v)]);
  }
  const names = await ownerNames(ctx, r.entries.flatMap((e) => (e.kind === 'item' ? [e.item.v] : [])));
  for (const e of r.entries) {
    if (e.kind !== 'item') continue;
    const { v, latest } = e.item;
    const common = { Key: enc(e.key), VersionId: versionIdOf(v), IsLatest: latest, LastModified: isoDate(v.ts) };
    if (v.deleteMarker) body.push(['DeleteMarker', { ...common, Owner: owner(ctx, v, names) }]);
    else
      body.push([
        'Version',
        { ...common, ETag: `"${v.meta?.etag ?? ''}"`, Size: v.meta?.size ?? 0, Owner: owner(ctx, v, names), StorageClass: 'STANDARD' },
      ]);
  }
  for (const e of r.entries) if (e.kind === 'prefix') body.push(['CommonPrefixes', { Prefix: enc(e.prefix) }]);
  if (url) body.push(['EncodingType', 'url']);
  sendOrderedXml(ctx, 'ListVersionsResult', body);
}

/** Like sendXml, but children keep the given order even when names repeat non-adjacently
 *  (Version and DeleteMarker interleave in key order). */
function sendOrderedXml(ctx: S3Ctx, root: string, children: [string, XmlValue][]): void {
  const out = ['<?xml version="1.0" encoding="UTF-8"?>', `<${root} xmlns="http://s3.amazonaws.com/doc/2006-03-01/">`];
  const emit = (name: string, v: XmlValue): void => {
    if (v === undefined || v === null) return;
    if (Array.isArray(v)) for (const x of v) emit(name, x);
    else if (typeof v === 'object') {
      out.push(`<${name}>`);
      for (const [k, c] of Object.entries(v)) emit(k, c);
      out.push(`</${name}>`);
    } else out.push(`<${name}>${escapeXml(String(v))}</${name}>`);
  };
  for (const [k, v] of children) emit(k, v);
  out.push(`</${root}>`);
  const xml = out.join('');
  ctx.res.writeHead(200, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(xml) });
  ctx.res.end(xml);
}
