// The one check that the access key a request proved may act now: it exists (not deleted) and has
// not expired. Signed requests (header, presigned) and PostObject's signed forms all go through it.
import type { AccessKey } from '../../../model/key.ts';
import { keyExpired } from '../../../model/key.ts';
import { S3Error } from '../errors.ts';

export function requireUsableKey(key: AccessKey | undefined, now: number): AccessKey {
  if (!key || key.deleted.v) throw new S3Error('InvalidAccessKeyId', 'The AWS access key Id you provided does not exist in our records.');
  if (keyExpired(key, now)) throw new S3Error('AccessDenied', 'Access Denied: this access key has expired (an admin can extend it: UpdateKey "expiration" or "neverExpires").');
  return key;
}
