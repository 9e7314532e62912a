// The operation registry: S3 operation name → handler.
import type { Handler } from '../context.ts';
import * as bucket from './bucket.ts';
import * as object from './object.ts';
import * as list from './list.ts';
import * as config from './bucket-config.ts';
import * as multipart from './multipart.ts';
import * as post from './post.ts';

export const HANDLERS: Record<string, Handler> = {
  ...bucket,
  ...object,
  ...list,
  ...config,
  ...multipart,
  ...post,
} as unknown as Record<string, Handler>;
