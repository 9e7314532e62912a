// S3 access control lists as stored on buckets and object versions: grants, canned ACLs, and the
// LWW register an object version's ACL lives in (PutObjectAcl replaces it; the version stays).
import { mergeLww, type Lww } from '../table/crdt.ts';

export const PERMISSIONS = ['READ', 'WRITE', 'READ_ACP', 'WRITE_ACP', 'FULL_CONTROL'] as const;
export type AclPermission = (typeof PERMISSIONS)[number];

export const ALL_USERS = 'http://acs.amazonaws.com/groups/global/AllUsers';
export const AUTHENTICATED_USERS = 'http://acs.amazonaws.com/groups/global/AuthenticatedUsers';
export type GroupUri = typeof ALL_USERS | typeof AUTHENTICATED_USERS;

/** A grantee is an access key (S3's canonical user id is the access key id) or one of two groups. */
export type Grantee = { type: 'user'; id: string } | { type: 'group'; uri: GroupUri };

export interface Grant {
  grantee: Grantee;
  permission: AclPermission;
}

/** An object version's ACL: its owner (the key that wrote it) and the grants. */
export interface ObjectAcl {
  owner: string;
  grants: Grant[];
}

export const CANNED_ACLS = ['private', 'public-read', 'public-read-write', 'authenticated-read', 'bucket-owner-read', 'bucket-owner-full-control'] as const;
export type CannedAcl = (typeof CANNED_ACLS)[number];

/** At most this many grants in one ACL (AWS: 100). */
export const GRANTS_MAX = 100;

export function isCannedAcl(s: string): s is CannedAcl {
  return (CANNED_ACLS as readonly string[]).includes(s);
}

/** The grants a canned ACL stands for. Group grants come first, then the owner's: that is the
 *  order S3 clients (and the ceph suite) expect back. bucketOwner matters only for bucket-owner-*. */
export function cannedGrants(canned: CannedAcl, owner: string | null, bucketOwner: string | null): Grant[] {
  const user = (id: string | null, permission: AclPermission): Grant[] => (id === null ? [] : [{ grantee: { type: 'user', id }, permission }]);
  const group = (uri: GroupUri, permission: AclPermission): Grant => ({ grantee: { type: 'group', uri }, permission });
  const full = user(owner, 'FULL_CONTROL');
  switch (canned) {
    case 'private':
      return full;
    case 'public-read':
      return [group(ALL_USERS, 'READ'), ...full];
    case 'public-read-write':
      return [group(ALL_USERS, 'READ'), group(ALL_USERS, 'WRITE'), ...full];
    case 'authenticated-read':
      return [group(AUTHENTICATED_USERS, 'READ'), ...full];
    case 'bucket-owner-read':
      return bucketOwner === null || bucketOwner === owner ? full : [...full, ...user(bucketOwner, 'READ')];
    case 'bucket-owner-full-control':
      return bucketOwner === null || bucketOwner === owner ? full : [...full, ...user(bucketOwner, 'FULL_CONTROL')];
  }
}

/** Grants to AllUsers or AuthenticatedUsers are what S3 (and PublicAccessBlock) calls public. */
export function isPublicGrant(g: Grant): boolean {
  return g.grantee.type === 'group';
}

export function sameGrants(a: Grant[], b: Grant[]): boolean {
  const key = (g: Grant) => `${g.permission} ${g.grantee.type === 'user' ? 'u:' + g.grantee.id : 'g:' + g.grantee.uri}`;
  const ka = a.map(key).sort();
  const kb = b.map(key).sort();
  return ka.length === kb.length && ka.every((k, i) => k === kb[i]);
}

/** The newer of two forms of an object version's ACL register (either may be absent). */
export function newerObjectAcl(a: Lww<ObjectAcl> | undefined, b: Lww<ObjectAcl> | undefined): Lww<ObjectAcl> | undefined {
  if (!a) return b;
  if (!b) return a;
  return mergeLww(a, b);
}
