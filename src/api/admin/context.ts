// What every admin operation receives, and the translation of model errors into HTTP statuses
// with Garage's error code names where Garage has one.
import type { ClusterHandle } from './cluster-handle.ts';
import type { IncomingMessage } from 'node:http';
import type { Store } from '../../model/store.ts';
import type { Config } from '../../config/config.ts';
import type { FrontControl } from './cert.ts';
import { ModelError } from '../../model/errors.ts';
import { AdminError } from './http.ts';

export interface NodeRole {
  zone: string;
  capacity: number | null;
  tags: string[];
}

export interface AdminDeps {
  store: Store;
  config: Config;
  nodeId: string;
  startedAt: number;
  version: string;
  /** This node's layout role, until the layout module provides one (null: no role assigned). */
  role?: NodeRole | null;
  /** The HTTPS front, when this node runs one (certificate orders go through it). */
  front?: FrontControl;
  /** The cluster runtime (absent in unit tests that exercise only keys and buckets). */
  cluster?: ClusterHandle;
}

export interface AdminCtx {
  deps: AdminDeps;
  req: IncomingMessage;
  query: URLSearchParams;
  /** The parsed JSON body (POST operations only). */
  body: Record<string, unknown>;
}

export type Handler = (ctx: AdminCtx) => Promise<unknown>;

const STATUS: Record<string, [number, string?]> = {
  InvalidBucketName: [400],
  InvalidKey: [400],
  AmbiguousKey: [400],
  AmbiguousBucket: [400],
  NoSuchKey: [404, 'NoSuchAccessKey'],
  NoSuchBucket: [404],
  NoSuchAlias: [404],
  BucketAlreadyExists: [409],
  BucketAlreadyOwnedByYou: [409, 'BucketAlreadyExists'],
  KeyAlreadyExists: [409],
  BucketNotEmpty: [409],
  LastAlias: [409],
};

export function fromModelError(e: ModelError): AdminError {
  const [status, code] = STATUS[e.code] ?? [400];
  return new AdminError(status, code ?? e.code, e.message);
}
