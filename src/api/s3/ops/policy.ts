// S3 bucket policy operations (Get/Put/DeleteBucketPolicy, GetBucketPolicyStatus) and the
// PublicAccessBlock configuration (Get/Put/DeletePublicAccessBlock), stored in the bucket entry.
import type { S3Ctx } from '../context.ts';
import { readSmallBody, requireBucket, sendEmpty, sendXml } from '../context.ts';
import { S3Error } from '../errors.ts';
import { child, parseXml } from '../xml.ts';
import { nextTs } from '../../../table/crdt.ts';
import type { Bucket, PublicAccessBlock } from '../../../model/bucket.ts';
import { limitRefused } from '../../../util/metrics.ts';
import { isPublicPolicy, parsePolicy, PolicyError, POLICY_BYTES_MAX } from '../authz/policy.ts';
import { bucketIsPublic } from '../authz/decide.ts';
import { bucketAuthz } from '../authz/authorize.ts';

async function save(ctx: S3Ctx, b: Bucket, patch: Partial<Bucket>): Promise<void> {
  ctx.bucket = await ctx.store.buckets.insert({ ...b, ...patch });
}

export async function GetBucketPolicy(ctx: S3Ctx): Promise<void> {
  const p = requireBucket(ctx).policy?.v;
  if (!p) throw new S3Error('NoSuchBucketPolicy', 'The bucket policy does not exist', { BucketName: ctx.bucketName ?? '' });
  ctx.res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(p.text) });
  ctx.res.end(p.text);
}

export async function PutBucketPolicy(ctx: S3Ctx): Promise<void> {
  const b = requireBucket(ctx);
  const declared = Number(ctx.req.headers['x-amz-decoded-content-length'] ?? ctx.req.headers['content-length'] ?? 0);
  if (declared > POLICY_BYTES_MAX) {
    limitRefused.inc({ limit: 'policy_bytes_max' });
    throw new S3Error('MalformedPolicy', `Policies must be at most ${POLICY_BYTES_MAX} bytes; this one has ${declared}`);
  }
  let text: string;
  try {
    text = await readSmallBody(ctx, POLICY_BYTES_MAX);
  } catch (e) {
    if (e instanceof S3Error && e.code === 'EntityTooLarge') throw new S3Error('MalformedPolicy', `Policies must be at most ${POLICY_BYTES_MAX} bytes`);
    throw e;
  }
  let policy;
  try {
    policy = parsePolicy(text);
  } catch (e) {
    if (e instanceof PolicyError) throw new S3Error('MalformedPolicy', e.message);
    throw e;
  }
  if (b.publicAccessBlock?.v?.blockPublicPolicy && isPublicPolicy(policy))
    throw new S3Error('AccessDenied', 'Access Denied: this bucket\'s PublicAccessBlock (BlockPublicPolicy) refuses public policies');
  await save(ctx, b, { policy: { t: nextTs(ctx.store.ts(), b.policy), v: { text } } });
  sendEmpty(ctx, 204);
}

export async function DeleteBucketPolicy(ctx: S3Ctx): Promise<void> {
  const b = requireBucket(ctx);
  await save(ctx, b, { policy: { t: nextTs(ctx.store.ts(), b.policy), v: null } });
  sendEmpty(ctx, 204);
}

export async function GetBucketPolicyStatus(ctx: S3Ctx): Promise<void> {
  const b = requireBucket(ctx);
  sendXml(ctx, 200, 'PolicyStatus', { IsPublic: bucketIsPublic(bucketAuthz(b)) });
}

const PAB_FIELDS = [
  ['BlockPublicAcls', 'blockPublicAcls'],
  ['IgnorePublicAcls', 'ignorePublicAcls'],
  ['BlockPublicPolicy', 'blockPublicPolicy'],
  ['RestrictPublicBuckets', 'restrictPublicBuckets'],
] as const;

export function parsePublicAccessBlock(xml: string): PublicAccessBlock {
  const root = parseXml(xml);
  if (root.name !== 'PublicAccessBlockConfiguration') throw new S3Error('MalformedXML', `expected PublicAccessBlockConfiguration, not ${root.name}`);
  const out: PublicAccessBlock = { blockPublicAcls: false, ignorePublicAcls: false, blockPublicPolicy: false, restrictPublicBuckets: false };
  for (const c of root.children) if (!PAB_FIELDS.some(([x]) => x === c.name)) throw new S3Error('MalformedXML', `unexpected element ${c.name} in PublicAccessBlockConfiguration`);
  for (const [xmlName, field] of PAB_FIELDS) {
    const v = child(root, xmlName)?.text.trim().toLowerCase();
    if (v === undefined) continue;
    if (v !== 'true' && v !== 'false') throw new S3Error('MalformedXML', `${xmlName} must be true or false, got "${v}"`);
    out[field] = v === 'true';
  }
  return out;
}

export async function GetPublicAccessBlock(ctx: S3Ctx): Promise<void> {
  const c = requireBucket(ctx).publicAccessBlock?.v;
  if (!c) throw new S3Error('NoSuchPublicAccessBlockConfiguration', 'The public access block configuration was not found', { BucketName: ctx.bucketName ?? '' });
  sendXml(ctx, 200, 'PublicAccessBlockConfiguration', Object.fromEntries(PAB_FIELDS.map(([x, f]) => [x, c[f] ? 'true' : 'false'])));
}

export async function PutPublicAccessBlock(ctx: S3Ctx): Promise<void> {
  const b = requireBucket(ctx);
  const c = parsePublicAccessBlock(await readSmallBody(ctx, 64 * 1024));
  await save(ctx, b, { publicAccessBlock: { t: nextTs(ctx.store.ts(), b.publicAccessBlock), v: c } });
  sendEmpty(ctx, 200);
}

export async function DeletePublicAccessBlock(ctx: S3Ctx): Promise<void> {
  const b = requireBucket(ctx);
  await save(ctx, b, { publicAccessBlock: { t: nextTs(ctx.store.ts(), b.publicAccessBlock), v: null } });
  sendEmpty(ctx, 204);
}
