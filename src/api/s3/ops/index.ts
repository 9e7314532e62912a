// The operation registry: each S3 operation (authz/actions.ts S3Op) → its handler. The table must
// name every S3Op and nothing else (compiler-checked), so a routed operation always has one.
import type { Handler } from '../context.ts';
import type { S3Op } from '../authz/actions.ts';
import * as bucket from './bucket.ts';
import * as object from './object.ts';
import * as list from './list.ts';
import * as config from './bucket-config.ts';
import * as multipart from './multipart.ts';
import * as post from './post.ts';
import * as acl from './acl.ts';
import * as policy from './policy.ts';
import * as tagging from './tagging.ts';
import * as attributes from './attributes.ts';
import * as objectLock from './object-lock.ts';
import * as lifecycle from './lifecycle.ts';

export const HANDLERS: Readonly<Record<string, Handler>> = {
  ListBuckets: bucket.ListBuckets,
  CreateBucket: bucket.CreateBucket,
  PostObject: post.PostObject,
  HeadBucket: bucket.HeadBucket,
  GetBucketLocation: bucket.GetBucketLocation,
  ListObjects: list.ListObjects,
  ListObjectsV2: list.ListObjectsV2,
  ListObjectVersions: list.ListObjectVersions,
  ListMultipartUploads: multipart.ListMultipartUploads,
  GetObject: object.GetObject,
  HeadObject: object.HeadObject,
  ListParts: multipart.ListParts,
  PutObject: object.PutObject,
  CopyObject: object.CopyObject,
  CreateMultipartUpload: multipart.CreateMultipartUpload,
  UploadPart: multipart.UploadPart,
  UploadPartCopy: multipart.UploadPartCopy,
  CompleteMultipartUpload: multipart.CompleteMultipartUpload,
  AbortMultipartUpload: multipart.AbortMultipartUpload,
  DeleteObject: object.DeleteObject,
  DeleteObjects: object.DeleteObjects,
  DeleteBucket: bucket.DeleteBucket,
  GetBucketVersioning: bucket.GetBucketVersioning,
  PutBucketVersioning: bucket.PutBucketVersioning,
  GetBucketCors: config.GetBucketCors,
  PutBucketCors: config.PutBucketCors,
  DeleteBucketCors: config.DeleteBucketCors,
  GetBucketWebsite: config.GetBucketWebsite,
  PutBucketWebsite: config.PutBucketWebsite,
  DeleteBucketWebsite: config.DeleteBucketWebsite,
  GetBucketAcl: acl.GetBucketAcl,
  PutBucketAcl: acl.PutBucketAcl,
  GetObjectAcl: acl.GetObjectAcl,
  PutObjectAcl: acl.PutObjectAcl,
  GetBucketPolicy: policy.GetBucketPolicy,
  PutBucketPolicy: policy.PutBucketPolicy,
  DeleteBucketPolicy: policy.DeleteBucketPolicy,
  GetBucketPolicyStatus: policy.GetBucketPolicyStatus,
  GetPublicAccessBlock: policy.GetPublicAccessBlock,
  PutPublicAccessBlock: policy.PutPublicAccessBlock,
  DeletePublicAccessBlock: policy.DeletePublicAccessBlock,
  GetBucketTagging: tagging.GetBucketTagging,
  PutBucketTagging: tagging.PutBucketTagging,
  DeleteBucketTagging: tagging.DeleteBucketTagging,
  GetObjectLockConfiguration: objectLock.GetObjectLockConfiguration,
  PutObjectLockConfiguration: objectLock.PutObjectLockConfiguration,
  GetBucketLifecycleConfiguration: lifecycle.GetBucketLifecycleConfiguration,
  PutBucketLifecycleConfiguration: lifecycle.PutBucketLifecycleConfiguration,
  DeleteBucketLifecycle: lifecycle.DeleteBucketLifecycle,
  GetObjectTagging: tagging.GetObjectTagging,
  PutObjectTagging: tagging.PutObjectTagging,
  DeleteObjectTagging: tagging.DeleteObjectTagging,
  GetObjectAttributes: attributes.GetObjectAttributes,
  GetObjectRetention: objectLock.GetObjectRetention,
  PutObjectRetention: objectLock.PutObjectRetention,
  GetObjectLegalHold: objectLock.GetObjectLegalHold,
  PutObjectLegalHold: objectLock.PutObjectLegalHold,
} satisfies Record<S3Op, Handler>;
