// The one place an S3 request is allowed or refused, as a pure function: an explicit Deny in the
// bucket policy wins; then any allow (the key's bucket flags, a policy Allow, an ACL grant);
// otherwise the default deny. Anonymous callers only get what a policy or ACL makes public.
import type { PublicAccessBlock, Perm } from '../../../model/bucket.ts';
import type { AclPermission, Grant, ObjectAcl } from '../../../model/acl.ts';
import { ALL_USERS, AUTHENTICATED_USERS, isPublicGrant } from '../../../model/acl.ts';
import { isPublicPolicy, statementApplies, type ConditionContext, type Policy, type PolicyPrincipal } from './policy.ts';

/** `listed`: the key has an entry in the bucket's per-key flags (an operator's grant), which then
 *  also bounds what ACLs and policies can give it. */
export type Principal = { kind: 'anonymous' } | { kind: 'key'; id: string; name: string; flags: Perm; listed?: boolean };

export interface AuthzRequest {
  principal: Principal;
  /** IAM action, e.g. s3:GetObject. */
  action: string;
  /** arn:aws:s3:::bucket or arn:aws:s3:::bucket/key. */
  resource: string;
  /** The bucket flag that grants the action ('none': no flag does). */
  flag: keyof Perm | 'none';
  /** The ACL permission that grants it, on the bucket's or the object's ACL. */
  acl?: { on: 'bucket' | 'object'; permission: AclPermission };
  context: ConditionContext;
}

export interface BucketAuthz {
  owner: string | null;
  /** Effective grants (the default ACL already expanded). */
  grants: Grant[];
  policy?: Policy;
  pab: PublicAccessBlock | null;
}

/** 'handler': authorize() left the decision to the op's handler (DeleteObjects, per key). */
export type Reason = 'explicit-deny' | 'flags' | 'flags-ceiling' | 'policy' | 'acl' | 'owner-acp' | 'default-deny' | 'handler';

export interface Decision {
  allow: boolean;
  reason: Reason;
  /** The statement (Sid, else its 1-based index) that decided, for policy reasons. */
  statement?: string;
}

/** Actions on the policy itself: the bucket owner keeps them whatever the policy says, so a
 *  policy can never lock its owner out (as AWS does for the account root). */
const POLICY_ADMIN = new Set(['s3:getbucketpolicy', 's3:putbucketpolicy', 's3:deletebucketpolicy']);

const COVERS: Record<AclPermission, AclPermission[]> = {
  READ: ['READ', 'FULL_CONTROL'],
  WRITE: ['WRITE', 'FULL_CONTROL'],
  READ_ACP: ['READ_ACP', 'FULL_CONTROL'],
  WRITE_ACP: ['WRITE_ACP', 'FULL_CONTROL'],
  FULL_CONTROL: ['FULL_CONTROL'],
};

function policyPrincipal(p: Principal): PolicyPrincipal {
  return p.kind === 'anonymous' ? p : { kind: 'key', id: p.id, name: p.name };
}

function isOwner(p: Principal, owner: string | null): boolean {
  return p.kind === 'key' && ((owner !== null && p.id === owner) || p.flags.owner);
}

function grantMatches(g: Grant, p: Principal): boolean {
  if (g.grantee.type === 'user') return p.kind === 'key' && g.grantee.id === p.id;
  if (g.grantee.uri === ALL_USERS) return true;
  return g.grantee.uri === AUTHENTICATED_USERS && p.kind === 'key';
}

function aclAllows(grants: Grant[], p: Principal, need: AclPermission, ignorePublic: boolean): boolean {
  const ok = COVERS[need];
  return grants.some((g) => ok.includes(g.permission) && !(ignorePublic && isPublicGrant(g)) && grantMatches(g, p));
}

/** A key "of the bucket's account" (RestrictPublicBuckets): its owner or a key with any flag. */
function inAccount(p: Principal, owner: string | null): boolean {
  return p.kind === 'key' && (p.id === owner || p.flags.read || p.flags.write || p.flags.owner);
}

/** Decides one request. `object` is the addressed version's ACL when the action is checked
 *  against an object ACL (the caller loads it only when nothing else allowed the request). */
export function decide(r: AuthzRequest, b: BucketAuthz, object?: ObjectAcl): Decision {
  const pr = { principal: policyPrincipal(r.principal), action: r.action, resource: r.resource, context: r.context };
  const statements = b.policy?.statements ?? [];
  const label = (i: number) => statements[i]!.sid || String(i + 1);
  const ownerOfBucket = isOwner(r.principal, b.owner);
  // 1. An explicit Deny beats every allow.
  if (!(ownerOfBucket && POLICY_ADMIN.has(r.action.toLowerCase()))) {
    const deny = statements.findIndex((s) => s.effect === 'Deny' && statementApplies(s, pr));
    if (deny >= 0) return { allow: false, reason: 'explicit-deny', statement: label(deny) };
  }
  // 2. The key's bucket flags (the operator's grants).
  if (r.principal.kind === 'key' && r.flag !== 'none' && r.principal.flags[r.flag]) return { allow: true, reason: 'flags' };
  // 2b. The flags are also a ceiling for a key the operator listed on the bucket: a flag turned off
  //     (a write-only backup key, a revoked owner) is not given back by its own object's ACL or a policy.
  if (r.principal.kind === 'key' && r.principal.listed && r.flag !== 'none') return { allow: false, reason: 'flags-ceiling' };
  if (ownerOfBucket && POLICY_ADMIN.has(r.action.toLowerCase())) return { allow: true, reason: 'owner-acp' };
  // 3. A policy Allow; with RestrictPublicBuckets a public policy only serves the bucket's own keys.
  const restricted = b.pab?.restrictPublicBuckets === true && b.policy !== undefined && isPublicPolicy(b.policy) && !inAccount(r.principal, b.owner);
  if (!restricted) {
    const allow = statements.findIndex((s) => s.effect === 'Allow' && statementApplies(s, pr));
    if (allow >= 0) return { allow: true, reason: 'policy', statement: label(allow) };
  }
  // 4. ACL grants (public ones ignored under IgnorePublicAcls); owners may always read and write
  //    the ACL of what they own.
  if (r.acl) {
    const ignorePublic = b.pab?.ignorePublicAcls === true;
    const acl = r.acl.on === 'bucket' ? { owner: b.owner, grants: b.grants } : object;
    if (acl) {
      if (aclAllows(acl.grants, r.principal, r.acl.permission, ignorePublic)) return { allow: true, reason: 'acl' };
      const acp = r.acl.permission === 'READ_ACP' || r.acl.permission === 'WRITE_ACP';
      if (acp && r.principal.kind === 'key' && acl.owner !== null && r.principal.id === acl.owner) return { allow: true, reason: 'owner-acp' };
    }
  }
  return { allow: false, reason: 'default-deny' };
}

/** GetBucketPolicyStatus: public through the policy or through a public ACL grant. */
export function bucketIsPublic(b: BucketAuthz): boolean {
  if (b.policy && isPublicPolicy(b.policy) && b.pab?.restrictPublicBuckets !== true) return true;
  return b.pab?.ignorePublicAcls !== true && b.grants.some(isPublicGrant);
}
