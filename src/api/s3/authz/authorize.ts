// Feeds decide() from an S3 request: who is asking, the action and resource, the condition keys,
// the bucket's owner/ACL/policy/public access block and, only when nothing else allowed the
// request, the addressed object version's ACL.
import type { S3Ctx } from '../context.ts';
import { S3Error } from '../errors.ts';
import { bucketOwner, type Bucket } from '../../../model/bucket.ts';
import { cannedGrants, type Grant, type ObjectAcl } from '../../../model/acl.ts';
import { currentVersion, findVersion, type ObjectVersion } from '../../../model/object.ts';
import { requestOrigin } from '../forwarded.ts';
import { log } from '../../../util/log.ts';
import { decide, type AuthzRequest, type BucketAuthz, type Decision, type Principal } from './decide.ts';
import { OP_AUTHZ, opAuthz } from './actions.ts';
import { parsePolicy, type ConditionContext, type Policy } from './policy.ts';
import { parseTaggingHeader } from '../ops/tagging.ts';
import type { TagSet } from '../../../model/tags.ts';

const NO_FLAGS = { read: false, write: false, owner: false };

/** Parsed policies by text: a stored policy was validated at Put, parsing it again per request
 *  would be waste. Bounded; cleared when full. */
const parsed = new Map<string, Policy | null>();
const PARSED_MAX = 256;

function policyOf(b: Bucket): Policy | undefined {
  const text = b.policy?.v?.text;
  if (text === undefined) return undefined;
  let p = parsed.get(text);
  if (p === undefined) {
    try {
      p = parsePolicy(text);
    } catch (e) {
      // Only a peer could have stored it: without its Denies, nothing it allowed applies either.
      log.warn({ bucket: b.id, err: (e as Error).message }, 'stored bucket policy does not parse; ignored');
      p = null;
    }
    if (parsed.size >= PARSED_MAX) parsed.clear();
    parsed.set(text, p);
  }
  return p ?? undefined;
}

/** The bucket's grants as S3 shows them: the stored ACL, else the owner's FULL_CONTROL. */
export function bucketGrants(b: Bucket): Grant[] {
  return b.acl?.v ?? cannedGrants('private', bucketOwner(b), null);
}

export function bucketAuthz(b: Bucket): BucketAuthz {
  const policy = policyOf(b);
  return { owner: bucketOwner(b), grants: bucketGrants(b), pab: b.publicAccessBlock?.v ?? null, ...(policy ? { policy } : {}) };
}

/** A version's ACL; versions written before ACLs belong to the bucket owner, privately. */
export function versionAcl(b: Bucket, v: ObjectVersion): ObjectAcl {
  if (v.acl) return v.acl.v;
  const owner = bucketOwner(b);
  return { owner: owner ?? '', grants: cannedGrants('private', owner, null) };
}

export function principalOf(ctx: S3Ctx, b: Bucket): Principal {
  const k = ctx.accessKey;
  if (!k) return { kind: 'anonymous' };
  return { kind: 'key', id: k.id, name: k.name.v, flags: b.keys[k.id]?.v ?? NO_FLAGS, listed: b.keys[k.id] !== undefined };
}

function header(ctx: S3Ctx, name: string): string[] | undefined {
  const v = ctx.req.headers[name];
  return v === undefined ? undefined : Array.isArray(v) ? v : [v];
}

/** The condition keys a policy may test, from the request. */
export function conditionContext(ctx: S3Ctx, op: string): ConditionContext {
  const q = ctx.query;
  const origin = requestOrigin(ctx.req);
  const c: ConditionContext = {
    'aws:sourceip': origin.clientIp ? [origin.clientIp] : undefined,
    'aws:securetransport': [String(origin.secure)],
    'aws:principaltype': [ctx.accessKey ? 'User' : 'Anonymous'],
    'aws:currenttime': [new Date().toISOString()],
    'aws:epochtime': [String(Math.floor(Date.now() / 1000))],
    'aws:useragent': header(ctx, 'user-agent'),
    'aws:referer': header(ctx, 'referer'),
    's3:x-amz-acl': header(ctx, 'x-amz-acl'),
    's3:x-amz-copy-source': header(ctx, 'x-amz-copy-source'),
    's3:x-amz-metadata-directive': header(ctx, 'x-amz-metadata-directive'),
    's3:x-amz-storage-class': header(ctx, 'x-amz-storage-class'),
    's3:x-amz-content-sha256': header(ctx, 'x-amz-content-sha256'),
    's3:x-amz-server-side-encryption': header(ctx, 'x-amz-server-side-encryption'),
    's3:x-amz-server-side-encryption-customer-algorithm': header(ctx, 'x-amz-server-side-encryption-customer-algorithm'),
  };
  for (const g of ['read', 'write', 'read-acp', 'write-acp', 'full-control']) c[`s3:x-amz-grant-${g}`] = header(ctx, `x-amz-grant-${g}`);
  if (ctx.accessKey) {
    c['aws:username'] = [ctx.accessKey.name.v];
    c['aws:userid'] = [ctx.accessKey.id];
    c['s3:signatureversion'] = ['AWS4-HMAC-SHA256'];
    c['s3:authtype'] = [ctx.req.headers.authorization ? 'REST-HEADER' : 'REST-QUERY-STRING'];
  }
  const vid = q.get('versionId');
  if (vid !== null) c['s3:versionid'] = [vid];
  // s3:RequestObjectTag/<key> and s3:RequestObjectTagKeys from x-amz-tagging (an invalid header
  // gives none here; the handler refuses it).
  const tags = requestTagsOf(ctx);
  if (tags.length > 0) {
    for (const [k, val] of tags) c[`s3:requestobjecttag/${k.toLowerCase()}`] = [val];
    c['s3:requestobjecttagkeys'] = tags.map(([k]) => k);
  }
  if (op.startsWith('List')) {
    for (const [k, name] of [['prefix', 's3:prefix'], ['delimiter', 's3:delimiter'], ['max-keys', 's3:max-keys']] as const) {
      const v = q.get(k);
      if (v !== null) c[name] = [v];
    }
  }
  return c;
}

function requestTagsOf(ctx: S3Ctx): TagSet {
  try {
    return parseTaggingHeader(ctx.req.headers['x-amz-tagging']) ?? [];
  } catch {
    return [];
  }
}

function request(ctx: S3Ctx, b: Bucket, bucketName: string, op: string, key: string | undefined, context: ConditionContext): AuthzRequest {
  const spec = opAuthz(op) ?? { action: `s3:${op}`, object: false, flag: 'owner' as const };
  const versioned = ctx.query.get('versionId') !== null && spec.versionAction !== undefined;
  const resource = spec.object ? `arn:aws:s3:::${bucketName}/${key ?? '*'}` : `arn:aws:s3:::${bucketName}`;
  return {
    principal: principalOf(ctx, b),
    action: versioned ? spec.versionAction! : spec.action,
    resource,
    flag: spec.flag,
    ...(spec.acl ? { acl: spec.acl } : {}),
    context,
  };
}

function denied(d: Decision): S3Error {
  return new S3Error('AccessDenied', d.reason === 'explicit-deny' ? `Access Denied (by bucket policy statement ${d.statement})` : 'Access Denied');
}

/** The version an object request addresses, if it exists (delete markers count as absent). */
async function addressedVersion(ctx: S3Ctx, b: Bucket, key: string): Promise<ObjectVersion | undefined> {
  const o = await ctx.store.objects.get(b.id, key);
  const vid = ctx.query.get('versionId');
  const v = vid !== null && vid !== '' ? findVersion(o, vid) : vid === null ? currentVersion(o) : undefined;
  return v && !v.deleteMarker ? v : undefined;
}

/** Allows the request or throws AccessDenied. On success ctx.perm also shows the flag the
 *  operation needs, so handlers' own need() checks agree with what was decided here. */
export async function authorize(ctx: S3Ctx, op: string): Promise<Decision> {
  const b = ctx.bucket!;
  const name = ctx.bucketName!;
  // A client that names the owner it expects is refused when the bucket is someone else's.
  const expectedOwner = ctx.req.headers['x-amz-expected-bucket-owner'];
  if (typeof expectedOwner === 'string' && expectedOwner !== bucketOwner(b))
    throw new S3Error('AccessDenied', 'Access Denied: the bucket is not owned by the x-amz-expected-bucket-owner account');
  // An op whose handler decides (DeleteObjects: each entry, authz/per-key.ts) has no decision here.
  if ((OP_AUTHZ as Record<string, unknown>)[op] === 'handler') return { allow: true, reason: 'handler' };
  // The common case, decided as decide() would without building its inputs: no policy (so no
  // Deny) and the key holds the flag the operation needs.
  const flag = opAuthz(op)?.flag;
  if (ctx.accessKey && !b.policy?.v && flag && flag !== 'none' && ctx.perm[flag]) return { allow: true, reason: 'flags' };
  const context = conditionContext(ctx, op);
  // s3:ExistingObjectTag/<key>: the addressed version's tags, read only for a policy that tests them.
  if (ctx.key !== undefined && opAuthz(op)?.object && /existingobjecttag/i.test(b.policy?.v?.text ?? '')) {
    const v = await addressedVersion(ctx, b, ctx.key);
    for (const [k, val] of v?.tags?.v ?? []) context[`s3:existingobjecttag/${k.toLowerCase()}`] = [val];
  }
  const bz = bucketAuthz(b);
  const r = request(ctx, b, name, op, ctx.key, context);
  let d = decide(r, bz);
  if (!d.allow && d.reason !== 'explicit-deny' && r.acl?.on === 'object' && ctx.key !== undefined) {
    const v = await addressedVersion(ctx, b, ctx.key);
    if (v) d = decide(r, bz, versionAcl(b, v));
    else if (op === 'GetObject' || op === 'HeadObject') {
      // A missing key: 404 for who may list it (s3:prefix = the key), else 403, as S3.
      const list = decide({ ...request(ctx, b, name, 'ListObjects', undefined, { ...context, 's3:prefix': [ctx.key] }) }, bz);
      if (list.allow) return list;
    }
  }
  if (!d.allow) throw denied(d);
  if (flag && flag !== 'none' && !ctx.perm[flag]) ctx.perm = { ...ctx.perm, [flag]: true };
  return d;
}

/** CopyObject / UploadPartCopy: may the caller read the source version? */
export async function authorizeCopySource(ctx: S3Ctx, src: Bucket, srcName: string, key: string, v: ObjectVersion, versionId?: string): Promise<void> {
  const context = conditionContext(ctx, 'GetObject');
  const bz = bucketAuthz(src);
  const r: AuthzRequest = {
    principal: principalOf(ctx, src),
    action: versionId !== undefined ? 's3:GetObjectVersion' : 's3:GetObject',
    resource: `arn:aws:s3:::${srcName}/${key}`,
    flag: 'read',
    acl: { on: 'object', permission: 'READ' },
    context,
  };
  const d = decide(r, bz, versionAcl(src, v));
  if (!d.allow) throw new S3Error('AccessDenied', `Access Denied: the copy source ${srcName}/${key} may not be read by this caller`);
}
