// Decisions for a request that names many objects (DeleteObjects): the bucket's authorization
// inputs are built once, then each named key is decided as its own DeleteObject would be, so a
// policy Deny on some keys refuses those entries only.
import type { S3Ctx } from '../context.ts';
import type { Bucket } from '../../../model/bucket.ts';
import { currentVersion, findVersion, type ObjectEntry } from '../../../model/object.ts';
import { bucketAuthz, conditionContext, principalOf } from './authorize.ts';
import { decide, type Decision } from './decide.ts';

export interface KeyDecider {
  /** The policy tests s3:ExistingObjectTag: pass the key's entry to `decide`. */
  needsEntry: boolean;
  decide(key: string, versionId: string | null, entry?: ObjectEntry): Decision;
}

const ALLOWED: Decision = { allow: true, reason: 'flags' };

/** Per-key DeleteObject / DeleteObjectVersion decisions, after the request itself was allowed. */
export function deleteDecider(ctx: S3Ctx, b: Bucket, bucketName: string): KeyDecider {
  // Without a policy nothing tells one key from another: the request's decision holds for all.
  if (!b.policy?.v) return { needsEntry: false, decide: () => ALLOWED };
  const principal = principalOf(ctx, b);
  const bz = bucketAuthz(b);
  const base = conditionContext(ctx, 'DeleteObject');
  const needsEntry = /existingobjecttag/i.test(b.policy.v.text);
  return {
    needsEntry,
    decide(key, versionId, entry) {
      const context = { ...base };
      if (versionId !== null) context['s3:versionid'] = [versionId];
      if (needsEntry) {
        const v = versionId !== null ? findVersion(entry, versionId) : currentVersion(entry);
        for (const [k, val] of v?.tags?.v ?? []) context[`s3:existingobjecttag/${k.toLowerCase()}`] = [val];
      }
      // As DeleteObject's entry in the operation table.
      return decide(
        {
          principal,
          action: versionId !== null ? 's3:DeleteObjectVersion' : 's3:DeleteObject',
          resource: `arn:aws:s3:::${bucketName}/${key}`,
          flag: 'write',
          acl: { on: 'bucket', permission: 'WRITE' },
          context,
        },
        bz,
      );
    },
  };
}
