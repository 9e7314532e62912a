// S3 object lock: Put/GetObjectLockConfiguration, Put/GetObjectRetention, Put/GetObjectLegalHold,
// the lock a new version gets (x-amz-object-lock-* headers, else the bucket's default retention),
// the headers GET/HEAD show, and the check that refuses deleting a locked version.
import type { S3Ctx } from '../context.ts';
import { readSmallBody, requireBucket, requireKey, sendEmpty, sendXml } from '../context.ts';
import { S3Error } from '../errors.ts';
import { child, childText, parseXml } from '../xml.ts';
import { nextTs } from '../../../table/crdt.ts';
import type { Bucket } from '../../../model/bucket.ts';
import { versionIdOf, type ObjectVersion } from '../../../model/object.ts';
import {
  RETENTION_MODES, defaultUntil, effectiveRetention, lockedBy, withRetention,
  type ObjectLockConfig, type Retention, type RetentionMode, type VersionLock,
} from '../../../model/object-lock.ts';
import { isoDate } from '../../../util/time.ts';
import { bucketAuthz, conditionContext, principalOf } from '../authz/authorize.ts';
import { decide } from '../authz/decide.ts';
import { selectVersion } from './object-read.ts';
import { requestTags } from './tagging.ts';
import type { Lww } from '../../../table/crdt.ts';
import type { TagSet } from '../../../model/tags.ts';

const LOCK_BODY_MAX = 16 * 1024;
/** AWS's bounds on a default retention period. */
const DAYS_MAX = 36_500;
const YEARS_MAX = 100;
/** Dates before 1970 or after 9999 are not dates a retention can mean. */
const DATE_MAX = Date.UTC(9999, 11, 31);

export function lockEnabled(b: Bucket): boolean {
  return b.objectLock?.v?.enabled === true;
}

function missingLockConfig(): S3Error {
  return new S3Error('InvalidRequest', 'Bucket is missing Object Lock Configuration');
}

function isMode(s: string | undefined): s is RetentionMode {
  return (RETENTION_MODES as readonly string[]).includes(s ?? '');
}

/** An ISO 8601 date-time (what S3 clients send), to ms; undefined when it is not one. */
export function parseLockDate(s: string): number | undefined {
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(\.\d{1,9})?(Z|[+-]\d{2}:?\d{2})$/.exec(s.trim());
  if (!m) return undefined;
  const t = Date.parse(`${m[1]}${(m[2] ?? '').slice(0, 4)}${m[3]}`);
  return Number.isFinite(t) && t > 0 && t <= DATE_MAX ? t : undefined;
}

/** x-amz-bypass-governance-retention: true, from a caller allowed s3:BypassGovernanceRetention
 *  (a key with the owner flag, or a policy granting it). */
export function mayBypassGovernance(ctx: S3Ctx, b: Bucket, key: string): boolean {
  if (String(ctx.req.headers['x-amz-bypass-governance-retention'] ?? '').toLowerCase() !== 'true') return false;
  return decide(
    {
      principal: principalOf(ctx, b),
      action: 's3:BypassGovernanceRetention',
      resource: `arn:aws:s3:::${ctx.bucketName ?? ''}/${key}`,
      flag: 'owner',
      context: conditionContext(ctx, 'PutObjectRetention'),
    },
    bucketAuthz(b),
  ).allow;
}

function lockDenied(why: string): S3Error {
  return new S3Error('AccessDenied', `Access Denied because object protected by object lock (${why})`);
}

/** Refuses removing version `v` for good while it is locked (DeleteObject/DeleteObjects with a
 *  versionId): legal hold and compliance always, governance unless bypassed. */
export function checkDeletable(ctx: S3Ctx, b: Bucket, key: string, v: ObjectVersion): void {
  const by = lockedBy(v, Date.now());
  if (by === undefined) return;
  if (by === 'governance' && mayBypassGovernance(ctx, b, key)) return;
  throw lockDenied(by === 'legal-hold' ? 'legal hold ON' : by === 'compliance' ? 'COMPLIANCE retention' : 'GOVERNANCE retention; send x-amz-bypass-governance-retention: true');
}

function header(ctx: S3Ctx, name: string): string | undefined {
  const v = ctx.req.headers[name];
  return Array.isArray(v) ? v.join(',') : v;
}

/** The lock registers a new version gets: the request's x-amz-object-lock-* headers, else the
 *  bucket's default retention; {} on a bucket without object lock. */
export function newVersionLock(ctx: S3Ctx, b: Bucket): VersionLock {
  const mode = header(ctx, 'x-amz-object-lock-mode');
  const date = header(ctx, 'x-amz-object-lock-retain-until-date');
  const hold = header(ctx, 'x-amz-object-lock-legal-hold');
  const cfg = b.objectLock?.v;
  if (!cfg?.enabled) {
    if (mode !== undefined || date !== undefined || hold !== undefined) throw missingLockConfig();
    return {};
  }
  const t = ctx.store.ts();
  let lock: VersionLock = {};
  if (mode !== undefined || date !== undefined) {
    if (mode === undefined || date === undefined)
      throw new S3Error('InvalidArgument', 'x-amz-object-lock-retain-until-date and x-amz-object-lock-mode must both be supplied');
    if (!isMode(mode)) throw new S3Error('InvalidArgument', `Unknown object lock mode "${mode.slice(0, 32)}": GOVERNANCE or COMPLIANCE`, { ArgumentName: 'x-amz-object-lock-mode' });
    const until = parseLockDate(date);
    if (until === undefined) throw new S3Error('InvalidArgument', 'x-amz-object-lock-retain-until-date is not an ISO 8601 date-time', { ArgumentName: 'x-amz-object-lock-retain-until-date' });
    if (until <= Date.now()) throw new S3Error('InvalidArgument', 'The retain until date must be in the future!');
    lock = withRetention(lock, { mode, until }, t);
  } else if (cfg.rule) {
    lock = withRetention(lock, { mode: cfg.rule.mode, until: defaultUntil(cfg.rule, Date.now()) }, t);
  }
  if (hold !== undefined) {
    if (hold !== 'ON' && hold !== 'OFF') throw new S3Error('InvalidArgument', 'x-amz-object-lock-legal-hold is ON or OFF', { ArgumentName: 'x-amz-object-lock-legal-hold' });
    lock.legalHold = { t, v: hold === 'ON' };
  }
  return lock;
}

/** The registers a new version gets from its request besides its ACL: tags (x-amz-tagging, or
 *  `tags` when given, e.g. a copy's source tags) and lock. Checked before any body is read. */
export function newVersionRegisters(ctx: S3Ctx, b: Bucket, tags: Lww<TagSet> | undefined = requestTags(ctx)): Partial<ObjectVersion> {
  return { ...(tags ? { tags } : {}), ...newVersionLock(ctx, b) };
}

/** The lock headers of GET/HEAD (legal hold only when it was ever set, as S3). */
export function lockHeaders(v: ObjectVersion): Record<string, string> {
  const h: Record<string, string> = {};
  const r = effectiveRetention(v, Date.now());
  if (r) {
    h['x-amz-object-lock-mode'] = r.mode;
    h['x-amz-object-lock-retain-until-date'] = isoDate(r.until);
  }
  if (v.legalHold) h['x-amz-object-lock-legal-hold'] = v.legalHold.v ? 'ON' : 'OFF';
  return h;
}

// ---------------------------------------------------------------- bucket configuration

const malformed = (why: string) => new S3Error('MalformedXML', `The XML you provided was not well-formed or did not validate against our published schema: ${why}`);

/** An ObjectLockConfiguration document → the configuration (MalformedXML / InvalidRetentionPeriod as AWS). */
export function parseLockConfiguration(xml: string): ObjectLockConfig {
  const root = parseXml(xml);
  if (root.name !== 'ObjectLockConfiguration') throw malformed(`expected ObjectLockConfiguration, not ${root.name}`);
  if (childText(root, 'ObjectLockEnabled') !== 'Enabled') throw malformed('ObjectLockEnabled must be "Enabled"');
  const rule = child(root, 'Rule');
  if (!rule) return { enabled: true };
  const dr = child(rule, 'DefaultRetention');
  if (!dr) throw malformed('a Rule needs a DefaultRetention');
  const mode = childText(dr, 'Mode');
  if (!isMode(mode)) throw malformed('Mode must be GOVERNANCE or COMPLIANCE');
  const days = childText(dr, 'Days');
  const years = childText(dr, 'Years');
  if ((days === undefined) === (years === undefined)) throw malformed('DefaultRetention needs exactly one of Days and Years');
  const raw = (days ?? years)!;
  const n = Number(raw);
  const max = days !== undefined ? DAYS_MAX : YEARS_MAX;
  if (!/^-?\d{1,10}$/.test(raw) || n <= 0 || n > max)
    throw new S3Error('InvalidRetentionPeriod', `Default retention period must be a positive integer (at most ${max} ${days !== undefined ? 'days' : 'years'})`);
  return { enabled: true, rule: days !== undefined ? { mode, days: n } : { mode, years: n } };
}

export async function PutObjectLockConfiguration(ctx: S3Ctx): Promise<void> {
  const b = requireBucket(ctx);
  const cfg = parseLockConfiguration(await readSmallBody(ctx, LOCK_BODY_MAX));
  // Enabling it later is allowed on a versioned bucket (AWS asks for a token from support; we do not).
  if (!lockEnabled(b) && b.versioning.v !== 'Enabled')
    throw new S3Error('InvalidBucketState', "Versioning must be 'Enabled' on the bucket to apply a Object Lock configuration");
  ctx.bucket = await ctx.store.buckets.insert({ ...b, objectLock: { t: nextTs(ctx.store.ts(), b.objectLock), v: cfg } });
  sendEmpty(ctx, 200);
}

export async function GetObjectLockConfiguration(ctx: S3Ctx): Promise<void> {
  const b = requireBucket(ctx);
  const cfg = b.objectLock?.v;
  if (!cfg?.enabled) throw new S3Error('ObjectLockConfigurationNotFoundError', 'Object Lock configuration does not exist for this bucket', { BucketName: ctx.bucketName ?? '' });
  const r = cfg.rule;
  sendXml(ctx, 200, 'ObjectLockConfiguration', {
    ObjectLockEnabled: 'Enabled',
    ...(r ? { Rule: { DefaultRetention: { Mode: r.mode, ...(r.days !== undefined ? { Days: r.days } : { Years: r.years }) } } } : {}),
  });
}

// ---------------------------------------------------------------- per version

async function lockedVersion(ctx: S3Ctx): Promise<{ b: Bucket; key: string; v: ObjectVersion }> {
  const b = requireBucket(ctx);
  const key = requireKey(ctx);
  if (!lockEnabled(b)) throw missingLockConfig();
  const v = selectVersion(await ctx.store.objects.get(b.id, key), key, ctx.query.get('versionId'));
  return { b, key, v };
}

function versionHeaders(v: ObjectVersion): Record<string, string> {
  return { 'x-amz-version-id': versionIdOf(v) };
}

/** A Retention document → the retention (null: an empty one, which removes a governance lock). */
function parseRetention(xml: string): Retention | null {
  const root = parseXml(xml);
  if (root.name !== 'Retention') throw malformed(`expected Retention, not ${root.name}`);
  const mode = childText(root, 'Mode');
  const date = childText(root, 'RetainUntilDate');
  if (mode === undefined && date === undefined) return null;
  if (!isMode(mode)) throw malformed('Mode must be GOVERNANCE or COMPLIANCE');
  if (date === undefined) throw malformed('a Retention with a Mode needs a RetainUntilDate');
  const until = parseLockDate(date);
  if (until === undefined) throw malformed('RetainUntilDate is not an ISO 8601 date-time');
  if (until <= Date.now()) throw new S3Error('InvalidArgument', 'The retain until date must be in the future!');
  return { mode, until };
}

export async function PutObjectRetention(ctx: S3Ctx): Promise<void> {
  const { b, key, v } = await lockedVersion(ctx);
  const next = parseRetention(await readSmallBody(ctx, LOCK_BODY_MAX));
  const now = Date.now();
  const cur = effectiveRetention(v, now);
  if (cur && cur.until > now) {
    if (cur.mode === 'COMPLIANCE') {
      // Only ever extended: no bypass for compliance.
      if (next?.mode !== 'COMPLIANCE' || next.until < cur.until) throw lockDenied('a COMPLIANCE retention can only be extended');
    } else if ((next?.mode !== 'GOVERNANCE' || next.until < cur.until) && !mayBypassGovernance(ctx, b, key)) {
      throw lockDenied('shortening, removing or changing a GOVERNANCE retention needs x-amz-bypass-governance-retention: true');
    }
  }
  const lock = withRetention(v, next, nextTs(ctx.store.ts(), v.retention));
  await ctx.store.objects.insert({ bucket: b.id, key, versions: [{ ...v, ...lock }] });
  sendEmpty(ctx, 200, versionHeaders(v));
}

export async function GetObjectRetention(ctx: S3Ctx): Promise<void> {
  const { v } = await lockedVersion(ctx);
  const r = effectiveRetention(v, Date.now());
  if (!r) throw new S3Error('NoSuchObjectLockConfiguration', 'The specified object does not have a ObjectLock configuration');
  sendXml(ctx, 200, 'Retention', { Mode: r.mode, RetainUntilDate: isoDate(r.until) }, versionHeaders(v));
}

export async function PutObjectLegalHold(ctx: S3Ctx): Promise<void> {
  const { b, key, v } = await lockedVersion(ctx);
  const root = parseXml(await readSmallBody(ctx, LOCK_BODY_MAX));
  if (root.name !== 'LegalHold') throw malformed(`expected LegalHold, not ${root.name}`);
  const status = childText(root, 'Status');
  if (status !== 'ON' && status !== 'OFF') throw malformed('Status must be ON or OFF');
  const legalHold = { t: nextTs(ctx.store.ts(), v.legalHold), v: status === 'ON' };
  await ctx.store.objects.insert({ bucket: b.id, key, versions: [{ ...v, legalHold }] });
  sendEmpty(ctx, 200, versionHeaders(v));
}

export async function GetObjectLegalHold(ctx: S3Ctx): Promise<void> {
  const { v } = await lockedVersion(ctx);
  if (!v.legalHold) throw new S3Error('NoSuchObjectLockConfiguration', 'The specified object does not have a ObjectLock configuration');
  sendXml(ctx, 200, 'LegalHold', { Status: v.legalHold.v ? 'ON' : 'OFF' }, versionHeaders(v));
}
