// S3 bucket operations: list, create, head, delete, location, versioning.
import type { S3Ctx } from '../context.ts';
import { need, readSmallBody, requireBucket, sendEmpty, sendXml } from '../context.ts';
import { S3Error } from '../errors.ts';
import { childText, escapeXml, parseXml } from '../xml.ts';
import { isoDate } from '../../../util/time.ts';
import { bucketAliases, createBucket, deleteBucket } from '../../../model/bucket-ops.ts';
import type { AccessKey } from '../../../model/key.ts';
import { cannedGrants, sameGrants } from '../../../model/acl.ts';
import { bucketGrants } from '../authz/authorize.ts';
import { requestedGrants } from './acl.ts';

/** The caller's key; these operations are refused to anonymous requests before they run. */
function signer(ctx: S3Ctx): AccessKey {
  if (!ctx.accessKey) throw new S3Error('AccessDenied', 'Access Denied: the request is anonymous');
  return ctx.accessKey;
}

export async function ListBuckets(ctx: S3Ctx): Promise<void> {
  const key = signer(ctx);
  const rows: { Name: string; CreationDate: string }[] = [];
  for (const b of await ctx.store.liveBuckets()) {
    const p = b.keys[key.id]?.v;
    if (!p || !(p.read || p.write || p.owner)) continue;
    for (const name of bucketAliases(b)) rows.push({ Name: name, CreationDate: isoDate(b.created) });
  }
  rows.sort((a, b) => (a.Name < b.Name ? -1 : 1));
  const { max, after, prefix } = listBucketsParams(ctx);
  const chosen = rows.filter((r) => r.Name.startsWith(prefix) && (after === undefined || r.Name > after));
  const page = chosen.slice(0, max);
  const more = chosen.length > page.length;
  sendXml(ctx, 200, 'ListAllMyBucketsResult', {
    Owner: { ID: key.id, DisplayName: key.name.v },
    Buckets: { Bucket: page },
    ...(more ? { ContinuationToken: Buffer.from(page[page.length - 1]!.Name).toString('base64url') } : {}),
    ...(prefix !== '' ? { Prefix: prefix } : {}),
  });
}

const MAX_BUCKETS_MAX = 10_000;

/** ListBuckets paging: max-buckets (1..10000, default all), continuation-token (the last name of
 *  the previous page, base64url: opaque to clients), prefix. */
function listBucketsParams(ctx: S3Ctx): { max: number; after?: string; prefix: string } {
  const m = ctx.query.get('max-buckets');
  if (m !== null && (!/^\d{1,5}$/.test(m) || Number(m) < 1 || Number(m) > MAX_BUCKETS_MAX))
    throw new S3Error('InvalidArgument', `max-buckets must be an integer between 1 and ${MAX_BUCKETS_MAX}`, { ArgumentName: 'max-buckets', ArgumentValue: m });
  const t = ctx.query.get('continuation-token');
  let after: string | undefined;
  if (t !== null && t !== '') {
    after = Buffer.from(t, 'base64url').toString();
    if (t.length > 1024 || Buffer.from(after).toString('base64url') !== t)
      throw new S3Error('InvalidArgument', 'The continuation token provided is incorrect', { ArgumentName: 'continuation-token' });
  }
  return { max: m === null ? Infinity : Number(m), after, prefix: ctx.query.get('prefix') ?? '' };
}

export async function CreateBucket(ctx: S3Ctx): Promise<void> {
  const name = ctx.bucketName!;
  const key = signer(ctx);
  // The creator owns the bucket; x-amz-acl / x-amz-grant-* set its ACL (default: private).
  const grants = (await requestedGrants(ctx, key.id, key.id)) ?? cannedGrants('private', key.id, null);
  const lockHeader = String(ctx.req.headers['x-amz-bucket-object-lock-enabled'] ?? 'false').toLowerCase();
  if (lockHeader !== 'true' && lockHeader !== 'false') throw new S3Error('InvalidArgument', 'x-amz-bucket-object-lock-enabled is true or false', { ArgumentName: 'x-amz-bucket-object-lock-enabled' });
  const lockAtCreate = lockHeader === 'true';
  const body = await readSmallBody(ctx, 64 * 1024);
  if (body.trim() !== '') {
    const doc = parseXml(body);
    if (doc.name !== 'CreateBucketConfiguration') throw new S3Error('MalformedXML', 'expected CreateBucketConfiguration');
    const loc = childText(doc, 'LocationConstraint');
    if (loc && loc !== ctx.settings.region)
      throw new S3Error('InvalidLocationConstraint', `The specified location-constraint "${loc}" is not valid; this cluster's region is "${ctx.settings.region}".`);
  }
  const existing = await ctx.store.bucketByName(name);
  if (existing) {
    // Like us-east-1: re-creating your own bucket succeeds, unless it asks for another ACL.
    if (existing.keys[key.id]?.v.owner && sameGrants(bucketGrants(existing), grants)) {
      sendEmpty(ctx, 200, { location: `/${name}` });
      return;
    }
    throw new S3Error('BucketAlreadyExists', 'The requested bucket name is not available.', { BucketName: name });
  }
  if (!key.allowCreateBucket.v) throw new S3Error('AccessDenied', `Access Denied: key ${key.id} may not create buckets`);
  const b = await createBucket(ctx.store, name, key, { tenant: { rootDomains: [ctx.settings.rootDomain, ctx.settings.webRootDomain] } });
  // Recorded after creation: until then bucketOwner() already names the creator (its owner flag).
  const t = ctx.store.ts();
  const acl = sameGrants(grants, cannedGrants('private', key.id, null)) ? {} : { acl: { t, v: grants } };
  // x-amz-bucket-object-lock-enabled: object lock on, which needs (and turns on) versioning.
  const lock = lockAtCreate ? { objectLock: { t, v: { enabled: true as const } }, versioning: { t, v: 'Enabled' as const } } : {};
  await ctx.store.buckets.insert({ ...b, owner: { t, v: key.id }, ...acl, ...lock });
  sendEmpty(ctx, 200, { location: `/${name}` });
}

export async function HeadBucket(ctx: S3Ctx): Promise<void> {
  requireBucket(ctx);
  sendEmpty(ctx, 200, { 'x-amz-bucket-region': ctx.settings.region });
}

export async function DeleteBucket(ctx: S3Ctx): Promise<void> {
  await deleteBucket(ctx.store, requireBucket(ctx));
  sendEmpty(ctx, 204);
}

export async function GetBucketLocation(ctx: S3Ctx): Promise<void> {
  requireBucket(ctx);
  // S3 puts the region as the text of the root element, which toXml does not model.
  const xml = `<?xml version="1.0" encoding="UTF-8"?><LocationConstraint xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${escapeXml(ctx.settings.region)}</LocationConstraint>`;
  ctx.res.writeHead(200, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(xml) });
  ctx.res.end(xml);
}

export async function GetBucketVersioning(ctx: S3Ctx): Promise<void> {
  const b = requireBucket(ctx);
  sendXml(ctx, 200, 'VersioningConfiguration', { Status: b.versioning.v ?? undefined });
}

export async function PutBucketVersioning(ctx: S3Ctx): Promise<void> {
  const b = requireBucket(ctx);
  need(ctx, 'owner');
  const doc = parseXml(await readSmallBody(ctx, 64 * 1024));
  if (doc.name !== 'VersioningConfiguration') throw new S3Error('MalformedXML', 'expected VersioningConfiguration');
  const status = childText(doc, 'Status');
  if (status !== 'Enabled' && status !== 'Suspended')
    throw new S3Error('IllegalVersioningConfigurationException', 'The Versioning element must be specified; Status is Enabled or Suspended.');
  if (childText(doc, 'MfaDelete') === 'Enabled') throw new S3Error('NotImplemented', 'MFA delete is not supported');
  if (status === 'Suspended' && b.objectLock?.v?.enabled)
    throw new S3Error('InvalidBucketState', 'An Object Lock configuration is present on this bucket, so the versioning state cannot be changed.');
  await ctx.store.buckets.insert({ ...b, versioning: { t: ctx.store.ts(), v: status } });
  sendEmpty(ctx, 200);
}
