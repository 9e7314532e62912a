// The S3 operations and what each asks of the permissions model: its IAM action, whether it
// addresses an object, the bucket flag and the ACL permission that grant it. S3Op is this table's
// keys: the router names only these, and ops/index.ts must give each a handler (compiler-checked).
import type { AclPermission } from '../../../model/acl.ts';
import type { Perm } from '../../../model/bucket.ts';

export interface OpAuthz {
  action: string;
  /** With ?versionId= (S3 names these actions separately). */
  versionAction?: string;
  object: boolean;
  flag: keyof Perm | 'none';
  acl?: { on: 'bucket' | 'object'; permission: AclPermission };
}

const B = (action: string, flag: OpAuthz['flag'], permission?: AclPermission): OpAuthz => ({
  action,
  object: false,
  flag,
  ...(permission ? { acl: { on: 'bucket' as const, permission } } : {}),
});
const O = (action: string, flag: OpAuthz['flag'], acl?: OpAuthz['acl'], versionAction?: string): OpAuthz => ({
  action,
  object: true,
  flag,
  ...(acl ? { acl } : {}),
  ...(versionAction ? { versionAction } : {}),
});
const bucketWrite = { on: 'bucket', permission: 'WRITE' } as const;

export const OP_AUTHZ = {
  // Their handlers decide: no bucket yet, or one named by a form whose own signature and policy
  // are checked (PostObject then asks authorize() for PutObject), or (DeleteObjects) each named
  // key as its own DeleteObject (authz/per-key.ts): AWS has no decision for the request as a
  // whole, a caller allowed on some keys only deletes those.
  ListBuckets: 'handler',
  CreateBucket: 'handler',
  PostObject: 'handler',
  DeleteObjects: 'handler',
  HeadBucket: B('s3:ListBucket', 'read', 'READ'),
  GetBucketLocation: B('s3:GetBucketLocation', 'read'),
  ListObjects: B('s3:ListBucket', 'read', 'READ'),
  ListObjectsV2: B('s3:ListBucket', 'read', 'READ'),
  ListObjectVersions: B('s3:ListBucketVersions', 'read', 'READ'),
  ListMultipartUploads: B('s3:ListBucketMultipartUploads', 'read', 'READ'),
  GetObject: O('s3:GetObject', 'read', { on: 'object', permission: 'READ' }, 's3:GetObjectVersion'),
  HeadObject: O('s3:GetObject', 'read', { on: 'object', permission: 'READ' }, 's3:GetObjectVersion'),
  ListParts: O('s3:ListMultipartUploadParts', 'read', bucketWrite),
  PutObject: O('s3:PutObject', 'write', bucketWrite),
  CopyObject: O('s3:PutObject', 'write', bucketWrite),
  CreateMultipartUpload: O('s3:PutObject', 'write', bucketWrite),
  UploadPart: O('s3:PutObject', 'write', bucketWrite),
  UploadPartCopy: O('s3:PutObject', 'write', bucketWrite),
  CompleteMultipartUpload: O('s3:PutObject', 'write', bucketWrite),
  AbortMultipartUpload: O('s3:AbortMultipartUpload', 'write', bucketWrite),
  DeleteObject: O('s3:DeleteObject', 'write', bucketWrite, 's3:DeleteObjectVersion'),
  DeleteBucket: B('s3:DeleteBucket', 'owner'),
  GetBucketVersioning: B('s3:GetBucketVersioning', 'read'),
  PutBucketVersioning: B('s3:PutBucketVersioning', 'owner'),
  GetBucketCors: B('s3:GetBucketCORS', 'read'),
  PutBucketCors: B('s3:PutBucketCORS', 'owner'),
  DeleteBucketCors: B('s3:PutBucketCORS', 'owner'),
  GetBucketWebsite: B('s3:GetBucketWebsite', 'read'),
  PutBucketWebsite: B('s3:PutBucketWebsite', 'owner'),
  DeleteBucketWebsite: B('s3:DeleteBucketWebsite', 'owner'),
  GetBucketAcl: B('s3:GetBucketAcl', 'owner', 'READ_ACP'),
  PutBucketAcl: B('s3:PutBucketAcl', 'owner', 'WRITE_ACP'),
  // An object's ACL belongs to its writer: bucket flags do not grant it (S3's object ownership).
  GetObjectAcl: O('s3:GetObjectAcl', 'none', { on: 'object', permission: 'READ_ACP' }, 's3:GetObjectVersionAcl'),
  PutObjectAcl: O('s3:PutObjectAcl', 'none', { on: 'object', permission: 'WRITE_ACP' }, 's3:PutObjectVersionAcl'),
  GetBucketPolicy: B('s3:GetBucketPolicy', 'owner'),
  PutBucketPolicy: B('s3:PutBucketPolicy', 'owner'),
  DeleteBucketPolicy: B('s3:DeleteBucketPolicy', 'owner'),
  GetBucketPolicyStatus: B('s3:GetBucketPolicyStatus', 'owner'),
  GetPublicAccessBlock: B('s3:GetBucketPublicAccessBlock', 'owner'),
  PutPublicAccessBlock: B('s3:PutBucketPublicAccessBlock', 'owner'),
  DeletePublicAccessBlock: B('s3:PutBucketPublicAccessBlock', 'owner'),
  GetBucketTagging: B('s3:GetBucketTagging', 'read'),
  PutBucketTagging: B('s3:PutBucketTagging', 'owner'),
  DeleteBucketTagging: B('s3:PutBucketTagging', 'owner'),
  GetObjectLockConfiguration: B('s3:GetBucketObjectLockConfiguration', 'read'),
  PutObjectLockConfiguration: B('s3:PutBucketObjectLockConfiguration', 'owner'),
  GetBucketLifecycleConfiguration: B('s3:GetLifecycleConfiguration', 'owner'),
  PutBucketLifecycleConfiguration: B('s3:PutLifecycleConfiguration', 'owner'),
  DeleteBucketLifecycle: B('s3:PutLifecycleConfiguration', 'owner'),
  GetObjectTagging: O('s3:GetObjectTagging', 'read', { on: 'object', permission: 'READ' }, 's3:GetObjectVersionTagging'),
  PutObjectTagging: O('s3:PutObjectTagging', 'write', undefined, 's3:PutObjectVersionTagging'),
  DeleteObjectTagging: O('s3:DeleteObjectTagging', 'write', undefined, 's3:DeleteObjectVersionTagging'),
  GetObjectAttributes: O('s3:GetObjectAttributes', 'read', { on: 'object', permission: 'READ' }, 's3:GetObjectVersionAttributes'),
  GetObjectRetention: O('s3:GetObjectRetention', 'read'),
  PutObjectRetention: O('s3:PutObjectRetention', 'write'),
  GetObjectLegalHold: O('s3:GetObjectLegalHold', 'read'),
  PutObjectLegalHold: O('s3:PutObjectLegalHold', 'write'),
} satisfies Record<string, OpAuthz | 'handler'>;

export type S3Op = keyof typeof OP_AUTHZ;

/** The checks authorize() makes for `op` before its handler runs; undefined: the handler's own. */
export function opAuthz(op: string): OpAuthz | undefined {
  const a = (OP_AUTHZ as Record<string, OpAuthz | 'handler'>)[op];
  return a === 'handler' ? undefined : a;
}
