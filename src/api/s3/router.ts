// S3 request routing: finds the bucket (virtual-host or path style) and key, names the
// operation from method + subresources, authenticates, checks permissions, dispatches.
import type { IncomingMessage } from 'node:http';
import { S3Error } from './errors.ts';
import { OP_AUTHZ, type S3Op } from './authz/actions.ts';

/** Subresources S3 defines that Grenier does not implement: answered 501 in S3 XML. */
export const UNSUPPORTED_BUCKET = [
  'encryption', 'logging', 'notification', 'replication',
  'accelerate', 'requestPayment', 'ownershipControls', 'analytics', 'metrics',
  'inventory', 'intelligent-tiering',
];
export const UNSUPPORTED_OBJECT = ['torrent', 'restore', 'select', 'renameObject'];

export interface Target {
  bucketName?: string;
  key?: string;
}

/** Splits host + raw path into bucket and key. Keys are percent-decoded; "//" in keys is kept. */
export function target(host: string | undefined, rawPath: string, rootDomain: string | undefined): Target {
  let path: string;
  try {
    path = decodeURIComponent(rawPath);
  } catch {
    throw new S3Error('InvalidURI', 'Couldn\'t parse the specified URI.');
  }
  const h = (host ?? '').replace(/:\d+$/, '').toLowerCase();
  const root = rootDomain?.replace(/^\./, '').toLowerCase();
  if (root && h.endsWith('.' + root)) {
    const bucketName = h.slice(0, -root.length - 1);
    const key = path.slice(1);
    return key === '' ? { bucketName } : { bucketName, key };
  }
  const rest = path.slice(1);
  if (rest === '') return {};
  const slash = rest.indexOf('/');
  if (slash < 0) return { bucketName: rest };
  const key = rest.slice(slash + 1);
  const bucketName = rest.slice(0, slash);
  return key === '' ? { bucketName } : { bucketName, key };
}

/** What the router names: an operation of the table, a CORS preflight, or a refusal. */
export type RoutedOp = S3Op | 'Options' | 'NotImplemented';

/** The S3 operation name for a request (used for dispatch and metrics). */
export function operation(req: IncomingMessage, t: Target, q: URLSearchParams): RoutedOp {
  const m = req.method ?? 'GET';
  const has = (k: string) => q.has(k);
  if (m === 'OPTIONS') return 'Options';
  if (!t.bucketName) {
    if (m === 'GET') return 'ListBuckets';
    throw new S3Error('MethodNotAllowed', `${m} is not allowed on the service`);
  }
  if (t.key === undefined) {
    if (m !== 'POST' && UNSUPPORTED_BUCKET.some(has)) return 'NotImplemented';
    switch (m) {
      case 'GET':
        if (has('location')) return 'GetBucketLocation';
        if (has('acl')) return 'GetBucketAcl';
        if (has('policy')) return 'GetBucketPolicy';
        if (has('policyStatus')) return 'GetBucketPolicyStatus';
        if (has('publicAccessBlock')) return 'GetPublicAccessBlock';
        if (has('versioning')) return 'GetBucketVersioning';
        if (has('cors')) return 'GetBucketCors';
        if (has('website')) return 'GetBucketWebsite';
        if (has('tagging')) return 'GetBucketTagging';
        if (has('object-lock')) return 'GetObjectLockConfiguration';
        if (has('lifecycle')) return 'GetBucketLifecycleConfiguration';
        if (has('uploads')) return 'ListMultipartUploads';
        if (has('versions')) return 'ListObjectVersions';
        if (q.get('list-type') === '2') return 'ListObjectsV2';
        return 'ListObjects';
      case 'HEAD':
        return 'HeadBucket';
      case 'PUT':
        if (has('versioning')) return 'PutBucketVersioning';
        if (has('acl')) return 'PutBucketAcl';
        if (has('policy')) return 'PutBucketPolicy';
        if (has('publicAccessBlock')) return 'PutPublicAccessBlock';
        if (has('cors')) return 'PutBucketCors';
        if (has('website')) return 'PutBucketWebsite';
        if (has('tagging')) return 'PutBucketTagging';
        if (has('object-lock')) return 'PutObjectLockConfiguration';
        if (has('lifecycle')) return 'PutBucketLifecycleConfiguration';
        return 'CreateBucket';
      case 'DELETE':
        if (has('cors')) return 'DeleteBucketCors';
        if (has('policy')) return 'DeleteBucketPolicy';
        if (has('publicAccessBlock')) return 'DeletePublicAccessBlock';
        if (has('website')) return 'DeleteBucketWebsite';
        if (has('tagging')) return 'DeleteBucketTagging';
        if (has('lifecycle')) return 'DeleteBucketLifecycle';
        return 'DeleteBucket';
      case 'POST':
        if (has('delete')) return 'DeleteObjects';
        if ((req.headers['content-type'] ?? '').startsWith('multipart/form-data')) return 'PostObject';
        return 'NotImplemented';
    }
    throw new S3Error('MethodNotAllowed', `${m} is not allowed on a bucket`);
  }
  if (UNSUPPORTED_OBJECT.some(has)) return 'NotImplemented';
  switch (m) {
    case 'GET':
      if (has('acl')) return 'GetObjectAcl';
      if (has('tagging')) return 'GetObjectTagging';
      if (has('attributes')) return 'GetObjectAttributes';
      if (has('retention')) return 'GetObjectRetention';
      if (has('legal-hold')) return 'GetObjectLegalHold';
      return has('uploadId') ? 'ListParts' : 'GetObject';
    case 'HEAD':
      return 'HeadObject';
    case 'PUT':
      if (has('acl')) return 'PutObjectAcl';
      if (has('tagging')) return 'PutObjectTagging';
      if (has('retention')) return 'PutObjectRetention';
      if (has('legal-hold')) return 'PutObjectLegalHold';
      if (has('uploadId') || has('partNumber'))
        return req.headers['x-amz-copy-source'] ? 'UploadPartCopy' : 'UploadPart';
      return req.headers['x-amz-copy-source'] ? 'CopyObject' : 'PutObject';
    case 'POST':
      if (has('uploads')) return 'CreateMultipartUpload';
      if (has('uploadId')) return 'CompleteMultipartUpload';
      return 'NotImplemented';
    case 'DELETE':
      if (has('tagging')) return 'DeleteObjectTagging';
      return has('uploadId') ? 'AbortMultipartUpload' : 'DeleteObject';
  }
  throw new S3Error('MethodNotAllowed', `${m} is not allowed on an object`);
}

/** Which bucket flag each operation needs ('none' = checked by the handler), from OP_AUTHZ. */
export const PERMISSION: Record<string, 'read' | 'write' | 'owner' | 'none'> = {
  ...Object.fromEntries(Object.entries(OP_AUTHZ).map(([op, a]) => [op, a === 'handler' ? 'none' : a.flag])),
  NotImplemented: 'none',
  Options: 'none',
};
