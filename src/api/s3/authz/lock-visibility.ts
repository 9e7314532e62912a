// Which object-lock headers a GET/HEAD may show: x-amz-object-lock-mode and -retain-until-date
// only to a caller allowed s3:GetObjectRetention, -legal-hold only with s3:GetObjectLegalHold
// (as AWS); being allowed to read the object is not enough.
import type { S3Ctx } from '../context.ts';
import type { Bucket } from '../../../model/bucket.ts';
import type { ObjectVersion } from '../../../model/object.ts';
import { bucketAuthz, conditionContext, principalOf } from './authorize.ts';
import { decide } from './decide.ts';

export interface LockVisibility {
  retention: boolean;
  legalHold: boolean;
}

export const NO_LOCK_HEADERS: LockVisibility = { retention: false, legalHold: false };

export function lockVisibility(ctx: S3Ctx, b: Bucket, bucketName: string, key: string, v: ObjectVersion): LockVisibility {
  // Nothing to show: no decision to make (the common GET).
  if (v.retention === undefined && v.compliance === undefined && v.legalHold === undefined) return NO_LOCK_HEADERS;
  const principal = principalOf(ctx, b);
  const bz = bucketAuthz(b);
  const context = conditionContext(ctx, 'GetObjectRetention');
  for (const [k, val] of v.tags?.v ?? []) context[`s3:existingobjecttag/${k.toLowerCase()}`] = [val];
  // As GetObjectRetention's and GetObjectLegalHold's entries in the operation table (no ACL grants them).
  const may = (action: string) => decide({ principal, action, resource: `arn:aws:s3:::${bucketName}/${key}`, flag: 'read', context }, bz).allow;
  return { retention: may('s3:GetObjectRetention'), legalHold: may('s3:GetObjectLegalHold') };
}
