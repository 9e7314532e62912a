// S3 bucket operations: list, create, head, delete, location, versioning.
import type { S3Ctx } from '../context.ts';
import { need, readSmallBody, requireBucket, sendEmpty, sendXml } from '../context.ts';
import { S3Error } from '../errors.ts';
import { childText, escapeXml, parseXml } from '../xml.ts';
import { isoDate } from '../../../util/time.ts';
import { bucketAliases, createBucket, deleteBucket } from '../../../model/bucket-ops.ts';

export async function ListBuckets(ctx: S3Ctx): Promise<void> {
  const rows: { Name: string; CreationDate: string }[] = [];
  for (const b of await ctx.store.liveBuckets()) {
    const p = b.keys[ctx.accessKey.id]?.v;
    if (!p || !(p.read || p.write || p.owner)) continue;
    for (const name of bucketAliases(b)) rows.push({ Name: name, CreationDate: isoDate(b.created) });
  }
  rows.sort((a, b) => (a.Name < b.Name ? -1 : 1));
  sendXml(ctx, 200, 'ListAllMyBucketsResult', {
    Owner: { ID: ctx.accessKey.id, DisplayName: ctx.accessKey.name.v },
    Buckets: { Bucket: rows },
  });
}

export async function CreateBucket(ctx: S3Ctx): Promise<void> {
  const name = ctx.bucketName!;
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
    // Like us-east-1: re-creating your own bucket succeeds.
    if (existing.keys[ctx.accessKey.id]?.v.owner) {
      sendEmpty(ctx, 200, { location: `/${name}` });
      return;
    }
    throw new S3Error('BucketAlreadyExists', 'The requested bucket name is not available.', { BucketName: name });
  }
  if (!ctx.accessKey.allowCreateBucket.v) throw new S3Error('AccessDenied', `Access Denied: key ${ctx.accessKey.id} may not create buckets`);
  await createBucket(ctx.store, name, ctx.accessKey, { tenant: { rootDomains: [ctx.settings.rootDomain, ctx.settings.webRootDomain] } });
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
  await ctx.store.buckets.insert({ ...b, versioning: { t: ctx.store.ts(), v: status } });
  sendEmpty(ctx, 200);
}
