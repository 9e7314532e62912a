// S3 ACL operations (Get/PutBucketAcl, Get/PutObjectAcl) and the ACL a new bucket or object gets
// from its request (x-amz-acl, x-amz-grant-*), with PublicAccessBlock's BlockPublicAcls applied.
import type { S3Ctx } from '../context.ts';
import { readSmallBody, requireBucket, requireKey, sendEmpty } from '../context.ts';
import { S3Error } from '../errors.ts';
import { child, children, escapeXml, parseXml, type XmlElement } from '../xml.ts';
import { nextTs } from '../../../table/crdt.ts';
import { bucketOwner, type Bucket } from '../../../model/bucket.ts';
import {
  ALL_USERS, AUTHENTICATED_USERS, GRANTS_MAX, PERMISSIONS, cannedGrants, isCannedAcl, isPublicGrant,
  type AclPermission, type Grant, type GroupUri, type ObjectAcl,
} from '../../../model/acl.ts';
import type { Lww } from '../../../table/crdt.ts';
import { findVersion, currentVersion, type ObjectVersion } from '../../../model/object.ts';
import { bucketGrants, versionAcl } from '../authz/authorize.ts';

const ACL_BODY_MAX = 64 * 1024;
const GRANT_HEADERS: [string, AclPermission][] = [
  ['x-amz-grant-read', 'READ'],
  ['x-amz-grant-write', 'WRITE'],
  ['x-amz-grant-read-acp', 'READ_ACP'],
  ['x-amz-grant-write-acp', 'WRITE_ACP'],
  ['x-amz-grant-full-control', 'FULL_CONTROL'],
];
const GROUPS: string[] = [ALL_USERS, AUTHENTICATED_USERS];

function headerValue(ctx: S3Ctx, name: string): string | undefined {
  const v = ctx.req.headers[name];
  return Array.isArray(v) ? v.join(',') : v;
}

function unresolvableEmail(email: string): S3Error {
  return new S3Error('UnresolvableGrantByEmailAddress', `The e-mail address you provided (${email}) does not match any account on record; grant to an access key id instead.`);
}

/** A grant to a key must name an existing key (S3: InvalidArgument). */
async function checkGrantees(ctx: S3Ctx, grants: Grant[]): Promise<void> {
  if (grants.length > GRANTS_MAX) throw new S3Error('InvalidArgument', `An ACL may have at most ${GRANTS_MAX} grants`);
  for (const id of new Set(grants.flatMap((g) => (g.grantee.type === 'user' ? [g.grantee.id] : [])))) {
    if (!(await ctx.store.key(id))) throw new S3Error('InvalidArgument', `Invalid id: no access key "${id}" exists`, { ArgumentName: 'CanonicalUser/ID', ArgumentValue: id });
  }
}

/** x-amz-grant-*: comma-separated id="…", uri="…" or emailAddress="…". */
function parseGrantHeader(value: string, permission: AclPermission): Grant[] {
  const out: Grant[] = [];
  for (const part of value.split(',')) {
    const m = /^\s*(id|uri|emailAddress)\s*=\s*"?([^"]*)"?\s*$/i.exec(part);
    if (!m) throw new S3Error('InvalidArgument', `Invalid grant header value "${part.trim()}": use id="<access key id>" or uri="<group URI>"`, { ArgumentName: 'x-amz-grant' });
    const kind = m[1]!.toLowerCase();
    const v = m[2]!.trim();
    if (kind === 'emailaddress') throw unresolvableEmail(v);
    if (kind === 'uri') {
      if (!GROUPS.includes(v)) throw new S3Error('InvalidArgument', `Invalid group uri "${v}"`, { ArgumentName: 'uri', ArgumentValue: v });
      out.push({ grantee: { type: 'group', uri: v as GroupUri }, permission });
    } else out.push({ grantee: { type: 'user', id: v }, permission });
  }
  return out;
}

/** The grants a request's ACL headers ask for, or undefined when it has none. `owner` is who
 *  will own the resource, `ofBucket` the bucket owner (for bucket-owner-* canned ACLs). */
export async function requestedGrants(ctx: S3Ctx, owner: string | null, ofBucket: string | null): Promise<Grant[] | undefined> {
  const canned = headerValue(ctx, 'x-amz-acl');
  const explicit = GRANT_HEADERS.filter(([h]) => ctx.req.headers[h] !== undefined);
  if (canned !== undefined && explicit.length > 0) throw new S3Error('InvalidRequest', 'Specifying both Canned ACLs and Header Grants is not allowed');
  if (canned !== undefined) {
    const c = canned.trim();
    if (!isCannedAcl(c)) throw new S3Error('InvalidArgument', `Invalid canned ACL "${c}"`, { ArgumentName: 'x-amz-acl', ArgumentValue: c });
    return cannedGrants(c, owner, ofBucket);
  }
  if (explicit.length === 0) return undefined;
  const grants = explicit.flatMap(([h, p]) => parseGrantHeader(headerValue(ctx, h)!, p));
  await checkGrantees(ctx, grants);
  return grants;
}

/** BlockPublicAcls: a request that would set a public ACL is refused (403), as AWS. */
export function checkBlockPublicAcls(b: Bucket, grants: Grant[]): void {
  if (b.publicAccessBlock?.v?.blockPublicAcls && grants.some(isPublicGrant))
    throw new S3Error('AccessDenied', 'Access Denied: this bucket\'s PublicAccessBlock (BlockPublicAcls) refuses public ACLs');
}

/** The ACL register a new object version gets: the writer owns it; grants from the request's
 *  headers, else private. */
export async function newObjectAcl(ctx: S3Ctx, b: Bucket): Promise<Lww<ObjectAcl>> {
  const ofBucket = bucketOwner(b);
  const owner = ctx.accessKey?.id ?? ofBucket ?? '';
  const grants = (await requestedGrants(ctx, owner, ofBucket)) ?? cannedGrants('private', owner, null);
  checkBlockPublicAcls(b, grants);
  return { t: ctx.store.ts(), v: { owner, grants } };
}

// ---------------------------------------------------------------- XML

async function displayName(ctx: S3Ctx, id: string): Promise<string> {
  return (await ctx.store.key(id))?.name.v ?? id;
}

async function aclXml(ctx: S3Ctx, owner: string | null, grants: Grant[]): Promise<string> {
  const out = ['<?xml version="1.0" encoding="UTF-8"?><AccessControlPolicy xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'];
  if (owner !== null) out.push(`<Owner><ID>${escapeXml(owner)}</ID><DisplayName>${escapeXml(await displayName(ctx, owner))}</DisplayName></Owner>`);
  out.push('<AccessControlList>');
  // Group grants first: clients compare lists in that order (see cannedGrants).
  const ordered = [...grants.filter(isPublicGrant), ...grants.filter((g) => !isPublicGrant(g))];
  for (const g of ordered) {
    const xsi = 'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"';
    const grantee =
      g.grantee.type === 'group'
        ? `<Grantee ${xsi} xsi:type="Group"><URI>${escapeXml(g.grantee.uri)}</URI></Grantee>`
        : `<Grantee ${xsi} xsi:type="CanonicalUser"><ID>${escapeXml(g.grantee.id)}</ID><DisplayName>${escapeXml(await displayName(ctx, g.grantee.id))}</DisplayName></Grantee>`;
    out.push(`<Grant>${grantee}<Permission>${g.permission}</Permission></Grant>`);
  }
  out.push('</AccessControlList></AccessControlPolicy>');
  return out.join('');
}

function sendAcl(ctx: S3Ctx, xml: string): void {
  ctx.res.writeHead(200, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(xml) });
  ctx.res.end(xml);
}

const malformed = (why: string) => new S3Error('MalformedACLError', `The XML you provided was not well-formed or did not validate against our published schema: ${why}`);

/** AccessControlPolicy XML → grants. The grantee's type is read from what it contains (ID, URI
 *  or EmailAddress), which is what xsi:type says. */
export function parseAclXml(xml: string): Grant[] {
  const root = parseXml(xml);
  if (root.name !== 'AccessControlPolicy') throw malformed(`the root element must be AccessControlPolicy, not ${root.name}`);
  const list = child(root, 'AccessControlList');
  if (!list) throw malformed('AccessControlPolicy needs an AccessControlList');
  const gs = children(list, 'Grant');
  if (gs.length > GRANTS_MAX) throw new S3Error('InvalidArgument', `An ACL may have at most ${GRANTS_MAX} grants`);
  return gs.map((g: XmlElement): Grant => {
    const who = child(g, 'Grantee');
    const perm = child(g, 'Permission')?.text.trim() ?? '';
    if (!who) throw malformed('a Grant needs a Grantee');
    if (!(PERMISSIONS as readonly string[]).includes(perm)) throw malformed(`invalid Permission "${perm}"`);
    const permission = perm as AclPermission;
    const id = child(who, 'ID')?.text.trim();
    const uri = child(who, 'URI')?.text.trim();
    const email = child(who, 'EmailAddress')?.text.trim();
    if (id) return { grantee: { type: 'user', id }, permission };
    if (uri) {
      if (!GROUPS.includes(uri)) throw new S3Error('InvalidArgument', `Invalid group uri "${uri}"`, { ArgumentName: 'URI', ArgumentValue: uri });
      return { grantee: { type: 'group', uri: uri as GroupUri }, permission };
    }
    if (email) throw unresolvableEmail(email);
    throw malformed('a Grantee needs an ID or a URI');
  });
}

/** The grants a PutBucketAcl/PutObjectAcl sets: the canned/grant headers or the XML body. */
async function grantsToSet(ctx: S3Ctx, owner: string | null, ofBucket: string | null): Promise<Grant[]> {
  const fromHeaders = await requestedGrants(ctx, owner, ofBucket);
  const body = await readSmallBody(ctx, ACL_BODY_MAX);
  if (fromHeaders && body.trim() !== '') throw new S3Error('UnexpectedContent', 'This request does not support content when ACL headers are given');
  if (fromHeaders) return fromHeaders;
  if (body.trim() === '') throw new S3Error('MissingSecurityHeader', 'Your request was missing a required header: x-amz-acl, x-amz-grant-* or an AccessControlPolicy body');
  const grants = parseAclXml(body);
  await checkGrantees(ctx, grants);
  return grants;
}

// ---------------------------------------------------------------- operations

export async function GetBucketAcl(ctx: S3Ctx): Promise<void> {
  const b = requireBucket(ctx);
  sendAcl(ctx, await aclXml(ctx, bucketOwner(b), bucketGrants(b)));
}

export async function PutBucketAcl(ctx: S3Ctx): Promise<void> {
  const b = requireBucket(ctx);
  const owner = bucketOwner(b);
  const grants = await grantsToSet(ctx, owner, owner);
  checkBlockPublicAcls(b, grants);
  ctx.bucket = await ctx.store.buckets.insert({ ...b, acl: { t: nextTs(ctx.store.ts(), b.acl), v: grants } });
  sendEmpty(ctx, 200);
}

/** The version GetObjectAcl/PutObjectAcl address (404s as GetObject). */
async function aclVersion(ctx: S3Ctx, b: Bucket, key: string): Promise<ObjectVersion> {
  const o = await ctx.store.objects.get(b.id, key);
  const vid = ctx.query.get('versionId');
  const v = vid !== null ? findVersion(o, vid) : currentVersion(o);
  if (vid !== null && !v) throw new S3Error('NoSuchVersion', 'The specified version does not exist.', { Key: key, VersionId: vid });
  if (!v || v.deleteMarker) throw new S3Error('NoSuchKey', 'The specified key does not exist.', { Key: key });
  return v;
}

export async function GetObjectAcl(ctx: S3Ctx): Promise<void> {
  const b = requireBucket(ctx);
  const v = await aclVersion(ctx, b, requireKey(ctx));
  const acl = versionAcl(b, v);
  const h: Record<string, string> = b.versioning.v !== null ? { 'x-amz-version-id': v.nullVersion ? 'null' : v.uuid } : {};
  const xml = await aclXml(ctx, acl.owner, acl.grants);
  ctx.res.writeHead(200, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(xml), ...h });
  ctx.res.end(xml);
}

export async function PutObjectAcl(ctx: S3Ctx): Promise<void> {
  const b = requireBucket(ctx);
  const key = requireKey(ctx);
  const v = await aclVersion(ctx, b, key);
  const cur = versionAcl(b, v);
  const grants = await grantsToSet(ctx, cur.owner, bucketOwner(b));
  checkBlockPublicAcls(b, grants);
  // Only the ACL register changes: same version, same timestamp (Last-Modified stays).
  const acl = { t: nextTs(ctx.store.ts(), v.acl), v: { owner: cur.owner, grants } };
  await ctx.store.objects.insert({ bucket: b.id, key, versions: [{ ...v, acl }] });
  const h: Record<string, string> = b.versioning.v !== null ? { 'x-amz-version-id': v.nullVersion ? 'null' : v.uuid } : {};
  sendEmpty(ctx, 200, h);
}
