// S3 error codes with their HTTP status, and the S3Error thrown by every S3 handler.

const STATUS: Record<string, number> = {
  AccessDenied: 403,
  AccessForbidden: 403,
  AuthorizationHeaderMalformed: 400,
  AuthorizationQueryParametersError: 400,
  BadDigest: 400,
  BucketAlreadyExists: 409,
  BucketAlreadyOwnedByYou: 409,
  BucketNotEmpty: 409,
  EntityTooLarge: 400,
  EntityTooSmall: 400,
  ExpiredToken: 400,
  IncompleteBody: 400,
  InternalError: 500,
  InvalidAccessKeyId: 403,
  InvalidArgument: 400,
  InvalidBucketName: 400,
  InvalidDigest: 400,
  InvalidPart: 400,
  InvalidPartOrder: 400,
  InvalidRange: 416,
  InvalidRequest: 400,
  InvalidStorageClass: 400,
  InsufficientStorage: 507,
  KeyTooLongError: 400,
  MalformedPOSTRequest: 400,
  MalformedXML: 400,
  MetadataTooLarge: 400,
  MethodNotAllowed: 405,
  MissingContentLength: 411,
  MissingSecurityHeader: 400,
  NoSuchBucket: 404,
  NoSuchBucketPolicy: 404,
  NoSuchPublicAccessBlockConfiguration: 404,
  NoSuchCORSConfiguration: 404,
  NoSuchKey: 404,
  NoSuchUpload: 404,
  NoSuchVersion: 404,
  NoSuchWebsiteConfiguration: 404,
  NotImplemented: 501,
  NotModified: 304,
  PreconditionFailed: 412,
  QuotaExceeded: 403,
  RequestTimeTooSkewed: 403,
  ServiceUnavailable: 503,
  SignatureDoesNotMatch: 403,
  SlowDown: 503,
  XAmzContentSHA256Mismatch: 400,
  ConditionalRequestConflict: 409,
  InvalidURI: 400,
  IllegalVersioningConfigurationException: 400,
  InvalidLocationConstraint: 400,
  InvalidTag: 400,
  NoSuchTagSet: 404,
  InvalidBucketState: 409,
  InvalidRetentionPeriod: 400,
  ObjectLockConfigurationNotFoundError: 404,
  NoSuchObjectLockConfiguration: 404,
  NoSuchLifecycleConfiguration: 404,
};

/** Retry-After (seconds) on every 503 (too few replicas reachable, SlowDown): SDKs back off on
 *  503 anyway; this tells plain HTTP clients and proxies how long, short because a quorum comes
 *  back once failure detection or a restart is over, and an overload clears in about that time. */
export const RETRY_AFTER_SECS = 1;

export class S3Error extends Error {
  readonly code: string;
  readonly status: number;
  /** Extra elements added to the <Error> document (e.g. BucketName, Key). */
  readonly extra: Record<string, string>;
  /** Response headers that go with the error (e.g. x-amz-delete-marker, content-range). */
  headers: Record<string, string> = {};
  constructor(code: string, message: string, extra: Record<string, string> = {}) {
    super(message);
    this.name = 'S3Error';
    this.code = code;
    this.status = STATUS[code] ?? 400;
    this.extra = extra;
    if (this.status === 503) this.headers['retry-after'] = String(RETRY_AFTER_SECS);
  }
  withHeaders(h: Record<string, string>): this {
    this.headers = { ...this.headers, ...h };
    return this;
  }
}
