// Garage admin API v2 CleanupIncompleteUploads: aborts a bucket's unfinished multipart uploads
// older than a given age, releasing their parts (usage and blocks) as S3's Abort does.
import { cleanupIncompleteUploads } from '../../model/uploads.ts';
import { AdminError, badRequest, str } from './http.ts';
import type { Handler } from './context.ts';

const cleanup: Handler = async (ctx) => {
  const store = ctx.deps.store;
  const bucketId = str(ctx.body, 'bucketId', true);
  const older = ctx.body.olderThanSecs;
  if (typeof older !== 'number' || !Number.isSafeInteger(older) || older < 0) throw badRequest('field "olderThanSecs" must be a non-negative integer (seconds)');
  // Ids are 64 hex characters (Garage's shape); look up nothing else.
  if (!/^[0-9a-f]{1,64}$/.test(bucketId) || !(await store.bucketById(bucketId))) throw new AdminError(404, 'NoSuchBucket', `no bucket with id "${bucketId}"`);
  return { uploadsDeleted: await cleanupIncompleteUploads(store, bucketId, older * 1000) };
};

export const UPLOAD_OPS: Record<string, Handler> = { CleanupIncompleteUploads: cleanup };
