// The operation registry: S3 operation name → handler.
import type { Handler } from '../context.ts';
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

export const HANDLERS: Record<string, Handler> = {
  ...bucket,
  ...object,
  ...list,
  ...config,
  ...multipart,
  ...post,
  ...acl,
  ...policy,
  ...tagging,
  ...attributes,
  ...objectLock,
  ...lifecycle,
} as unknown as Record<string, Handler>;
