// Decisions for a request that names many objects (DeleteObjects): the bucket's authorization
// inputs are built once, then each named key is decided as its own DeleteObject would be, so a
// policy that allows or denies some keys only decides those entries.
import type { S3Ctx } from '../context.ts';
import type { Bucket } from '../../../model/bucket.ts';
import { currentVersion, findVersion, type ObjectEntry } from '../../../model/object.ts';
import { bucketAuthz, conditionContext, principalOf } from './authorize.ts';
import { decide, type Decision } from './decide.ts';
import type { ConditionContext } from './policy.ts';

export interface KeyDecider {
  /** The policy tests s3:ExistingObjectTag: pass the key's entry to `decide`. */
  needsEntry: boolean;
  decide(key: string, versionId: string | null, entry?: ObjectEntry): Decision;
}

const ALLOWED: Decision = { allow: true, reason: 'flags' };

/** Per-key DeleteObject / DeleteObjectVersion decisions. DeleteObjects has no decision of its
 *  own (as on AWS: a caller allowed on tmp/* only, or on nothing, gets 200 and an AccessDenied
 *  entry per refused key): this is the only check its entries pass. `uniform`: the decision is
 *  the same for every key (no policy tells keys apart), known before the body is read. */
export function deleteDecider(ctx: S3Ctx, b: Bucket, bucketName: string): KeyDecider & { uniform?: Decision } {
  // The common case, as authorize() decides it: no policy (so no Deny) and the key's write flag.
  if (ctx.accessKey && !b.policy?.v && ctx.perm.write) return { needsEntry: false, uniform: ALLOWED, decide: () => ALLOWED };
  const principal = principalOf(ctx, b);
  const bz = bucketAuthz(b);
  const base = conditionContext(ctx, 'DeleteObject');
  // As DeleteObject's entry in the operation table.
  const request = (key: string, versionId: string | null, context: ConditionContext) => ({
    principal,
    action: versionId !== null ? 's3:DeleteObjectVersion' : 's3:DeleteObject',
    resource: `arn:aws:s3:::${bucketName}/${key}`,
    flag: 'write' as const,
    acl: { on: 'bucket' as const, permission: 'WRITE' as const },
    context,
  });
  // Without a policy only the flags and the bucket's ACL decide: one decision for all keys.
  if (!b.policy?.v) {
    const d = decide(request('*', null, base), bz);
    return { needsEntry: false, uniform: d, decide: () => d };
  }
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
      return decide(request(key, versionId, context), bz);
    },
  };
}
