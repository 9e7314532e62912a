// S3 operations: Get/Put/DeleteBucketLifecycleConfiguration — XML ⇄ the bucket's lifecycle
// register, validated as AWS does (MalformedXML for schema errors, InvalidArgument for values),
// so the lifecycle worker (model/lifecycle-worker.ts) can trust what is stored.
import type { S3Ctx } from '../context.ts';
import { need, readSmallBody, requireBucket, sendEmpty, sendXml } from '../context.ts';
import { S3Error } from '../errors.ts';
import { children, parseXml, type XmlElement, type XmlNode } from '../xml.ts';
import { atMostOne, leaf, malformed } from './bucket-config.ts';
import { nextTs } from '../../../table/crdt.ts';
import { randomUUID } from 'node:crypto';
import { LIFECYCLE_ID_CHARS_MAX, LIFECYCLE_RULES_MAX, type LifecycleConfig, type LifecycleFilter, type LifecycleRule } from '../../../model/lifecycle.ts';
import { OBJECT_TAGS_MAX, tagSetError, type TagSet } from '../../../model/tags.ts';

/** 1000 rules of a few hundred bytes each; readSmallBody also caps it at xml_body_bytes_max. */
const LIFECYCLE_BODY_MAX = 1024 * 1024;
/** Days and sizes are integers S3 accepts up to 2^31-1 days; sizes up to the largest object. */
const DAYS_MAX = 2_147_483_647;

const invalid = (why: string, name?: string, value?: string) =>
  new S3Error('InvalidArgument', why, name === undefined ? {} : { ArgumentName: name, ArgumentValue: value ?? '' });

function onlyChildren(el: XmlElement, allowed: string[]): void {
  for (const c of el.children) {
    if (c.name === 'Transition' || c.name === 'NoncurrentVersionTransition') {
      // A malformed transition is the client's error (400) before it is our missing feature (501).
      const date = leaf(c, 'Date');
      if (date !== undefined) midnight(date);
      throw new S3Error('NotImplemented', `${c.name} is not supported: Grenier has one storage class`);
    }
    if (!allowed.includes(c.name)) throw malformed(`unexpected element ${c.name} in ${el.name}`);
  }
}

/** A positive (or, with min 0, non-negative) integer element; InvalidArgument otherwise, as AWS. */
function integer(el: XmlElement, name: string, min: number, max = DAYS_MAX): number | undefined {
  const s = leaf(el, name);
  if (s === undefined) return undefined;
  if (!/^-?\d{1,16}$/.test(s)) throw malformed(`${name} must be an integer, got "${s}"`);
  const n = Number(s);
  if (n < min || n > max) throw invalid(`'${name}' must be ${min === 0 ? 'a non-negative' : 'a positive'} integer of at most ${max}, got ${s}`, name, s);
  return n;
}

function tag(el: XmlElement): [string, string] {
  onlyChildren(el, ['Key', 'Value']);
  const k = leaf(el, 'Key', false);
  if (k === undefined) throw malformed('a Tag needs a Key');
  return [k, leaf(el, 'Value', false) ?? ''];
}

/** A filter's tags: as an object's (an object holds at most 10, so more could never match). */
function checkFilterTags(tags: TagSet): TagSet {
  const why = tagSetError(tags, OBJECT_TAGS_MAX, false);
  if (why) throw invalid(why, 'Tag');
  return tags;
}

/** One condition of a <Filter> or of its <And>, into `f`. */
function sizes(el: XmlElement, f: LifecycleFilter): void {
  const gt = integer(el, 'ObjectSizeGreaterThan', 0, Number.MAX_SAFE_INTEGER);
  const lt = integer(el, 'ObjectSizeLessThan', 1, Number.MAX_SAFE_INTEGER);
  if (gt !== undefined) f.sizeGt = gt;
  if (lt !== undefined) f.sizeLt = lt;
  if (gt !== undefined && lt !== undefined && gt >= lt)
    throw invalid(`ObjectSizeGreaterThan (${gt}) must be less than ObjectSizeLessThan (${lt})`, 'ObjectSizeLessThan', String(lt));
}

function parseFilter(rule: XmlElement): LifecycleFilter {
  const legacy = leaf(rule, 'Prefix', false);
  const fel = atMostOne(rule, 'Filter');
  if (legacy !== undefined && fel) throw malformed('a Rule may have a Prefix or a Filter, not both');
  if (!fel) {
    // AWS requires one or the other; the legacy form without Prefix is an empty prefix (all keys).
    return { form: 'legacy', prefix: legacy ?? '', tags: [] };
  }
  onlyChildren(fel, ['Prefix', 'Tag', 'And', 'ObjectSizeGreaterThan', 'ObjectSizeLessThan']);
  // AWS wants several conditions inside And; Ceph (and its s3-tests) also accept them directly in
  // the Filter, next to an And even: all are ANDed (GET answers with them in one And then).
  const and = atMostOne(fel, 'And');
  const f: LifecycleFilter = { form: and ? 'and' : 'filter', tags: [] };
  const prefixes: string[] = [];
  const tags: TagSet = [];
  for (const el of and ? [fel, and] : [fel]) {
    if (el === and) onlyChildren(and, ['Prefix', 'Tag', 'ObjectSizeGreaterThan', 'ObjectSizeLessThan']);
    const p = leaf(el, 'Prefix', false);
    if (p !== undefined) prefixes.push(p);
    tags.push(...children(el, 'Tag').map(tag));
    const g = { ...f };
    sizes(el, g);
    if (g.sizeGt !== undefined) f.sizeGt = Math.max(g.sizeGt, f.sizeGt ?? 0);
    if (g.sizeLt !== undefined) f.sizeLt = Math.min(g.sizeLt, f.sizeLt ?? Infinity);
  }
  if (and && and.children.length < 2) throw malformed('And needs at least two conditions');
  // Two prefixes both hold only when one extends the other: keep the longer.
  prefixes.sort((a, b) => b.length - a.length);
  if (prefixes.length > 1 && !prefixes[0]!.startsWith(prefixes[1]!)) throw invalid(`the Filter's prefixes "${prefixes[1]}" and "${prefixes[0]}" select no key together`, 'Prefix', prefixes[0]);
  if (prefixes.length > 0) f.prefix = prefixes[0]!;
  f.tags = checkFilterTags(tags);
  if (f.sizeGt !== undefined && f.sizeLt !== undefined && f.sizeGt >= f.sizeLt)
    throw invalid(`ObjectSizeGreaterThan (${f.sizeGt}) must be less than ObjectSizeLessThan (${f.sizeLt})`, 'ObjectSizeLessThan', String(f.sizeLt));
  return f;
}

/** An ISO 8601 date at midnight UTC ("2017-09-27" or "2017-09-27T00:00:00(.000)Z"). */
function midnight(s: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]00:?00)?)?$/.exec(s);
  if (!m) throw invalid(`Date must be in ISO 8601 format, got "${s}"`, 'Date', s);
  const t = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  const d = new Date(t);
  if (d.getUTCFullYear() !== Number(m[1]) || d.getUTCMonth() !== Number(m[2]) - 1 || d.getUTCDate() !== Number(m[3]))
    throw invalid(`Date "${s}" is not a calendar date`, 'Date', s);
  if ((m[4] !== undefined && (m[4] !== '00' || m[5] !== '00' || m[6] !== '00')) || (m[7] !== undefined && /[^0]/.test(m[7])))
    throw invalid(`'Date' must be at midnight GMT, got "${s}"`, 'Date', s);
  return t;
}

function parseRule(r: XmlElement, n: number): LifecycleRule {
  onlyChildren(r, ['ID', 'Prefix', 'Filter', 'Status', 'Expiration', 'NoncurrentVersionExpiration', 'AbortIncompleteMultipartUpload']);
  const id = leaf(r, 'ID', false);
  if (id !== undefined && id.length > LIFECYCLE_ID_CHARS_MAX) throw invalid(`ID length should not exceed allowed limit of ${LIFECYCLE_ID_CHARS_MAX}`, 'ID', id.slice(0, 300));
  const status = leaf(r, 'Status', false);
  if (status === undefined) throw malformed(`Rule ${n} needs a Status`);
  if (status !== 'Enabled' && status !== 'Disabled') throw malformed(`Status must be Enabled or Disabled, got "${status.slice(0, 100)}"`);
  const rule: LifecycleRule = { id: id === undefined || id === '' ? randomUUID() : id, enabled: status === 'Enabled', filter: parseFilter(r) };
  const e = atMostOne(r, 'Expiration');
  if (e) {
    onlyChildren(e, ['Days', 'Date', 'ExpiredObjectDeleteMarker']);
    if (e.children.length !== 1) throw malformed('Expiration holds exactly one of Days, Date, ExpiredObjectDeleteMarker');
    const days = integer(e, 'Days', 1);
    const date = leaf(e, 'Date');
    const dm = leaf(e, 'ExpiredObjectDeleteMarker');
    if (days !== undefined) rule.expiration = { days };
    else if (date !== undefined) rule.expiration = { date: midnight(date) };
    else {
      if (dm !== 'true' && dm !== 'false') throw malformed(`ExpiredObjectDeleteMarker must be true or false, got "${dm}"`);
      if (rule.filter.tags.length > 0) throw invalid('ExpiredObjectDeleteMarker cannot be specified with object tags', 'ExpiredObjectDeleteMarker', dm);
      rule.expiration = { expiredObjectDeleteMarker: dm === 'true' };
    }
  }
  const nc = atMostOne(r, 'NoncurrentVersionExpiration');
  if (nc) {
    onlyChildren(nc, ['NoncurrentDays', 'NewerNoncurrentVersions']);
    const days = integer(nc, 'NoncurrentDays', 1);
    if (days === undefined) throw malformed('NoncurrentVersionExpiration needs NoncurrentDays');
    const newer = integer(nc, 'NewerNoncurrentVersions', 1, 100);
    rule.noncurrent = newer === undefined ? { days } : { days, newer };
  }
  const ab = atMostOne(r, 'AbortIncompleteMultipartUpload');
  if (ab) {
    onlyChildren(ab, ['DaysAfterInitiation']);
    const days = integer(ab, 'DaysAfterInitiation', 1);
    if (days === undefined) throw malformed('AbortIncompleteMultipartUpload needs DaysAfterInitiation');
    if (rule.filter.tags.length > 0 || rule.filter.sizeGt !== undefined || rule.filter.sizeLt !== undefined)
      throw invalid('AbortIncompleteMultipartUpload cannot be specified with a Tag or object size filter', 'AbortIncompleteMultipartUpload', String(days));
    rule.abortUploadDays = days;
  }
  if (!e && !nc && !ab) throw invalid(`Rule ${rule.id} has no action: it needs Expiration, NoncurrentVersionExpiration or AbortIncompleteMultipartUpload`, 'Rule', rule.id);
  return rule;
}

export function parseLifecycleConfig(xml: string): LifecycleConfig {
  const root = parseXml(xml);
  if (root.name !== 'LifecycleConfiguration') throw malformed(`the root element must be LifecycleConfiguration, not ${root.name}`);
  onlyChildren(root, ['Rule']);
  const rs = children(root, 'Rule');
  if (rs.length === 0) throw malformed('LifecycleConfiguration needs at least one Rule');
  if (rs.length > LIFECYCLE_RULES_MAX) throw invalid(`a lifecycle configuration may have at most ${LIFECYCLE_RULES_MAX} rules, this one has ${rs.length}`, 'Rule', String(rs.length));
  const rules = rs.map((r, i) => parseRule(r, i + 1));
  const ids = new Set<string>();
  for (const r of rules) {
    if (ids.has(r.id)) throw invalid(`Rule ID must be unique. Found same ID for more than one rule: ${r.id}`, 'ID', r.id);
    ids.add(r.id);
  }
  return { rules };
}

function filterXml(f: LifecycleFilter): XmlNode {
  if (f.form === 'legacy') return { Prefix: f.prefix ?? '' };
  const conds: XmlNode = {
    Prefix: f.prefix,
    Tag: f.tags.map(([k, v]) => ({ Key: k, Value: v })),
    ObjectSizeGreaterThan: f.sizeGt,
    ObjectSizeLessThan: f.sizeLt,
  };
  return { Filter: f.form === 'and' ? { And: conds } : conds };
}

export function lifecycleConfigXml(c: LifecycleConfig): XmlNode {
  return {
    Rule: c.rules.map((r) => {
      const e = r.expiration;
      return {
        ID: r.id,
        ...filterXml(r.filter),
        Status: r.enabled ? 'Enabled' : 'Disabled',
        Expiration: e
          ? {
              Days: e.days,
              Date: e.date === undefined ? undefined : new Date(e.date).toISOString().replace('.000Z', 'Z'),
              ExpiredObjectDeleteMarker: e.expiredObjectDeleteMarker,
            }
          : undefined,
        NoncurrentVersionExpiration: r.noncurrent ? { NoncurrentDays: r.noncurrent.days, NewerNoncurrentVersions: r.noncurrent.newer } : undefined,
        AbortIncompleteMultipartUpload: r.abortUploadDays === undefined ? undefined : { DaysAfterInitiation: r.abortUploadDays },
      };
    }),
  };
}

export async function GetBucketLifecycleConfiguration(ctx: S3Ctx): Promise<void> {
  const b = requireBucket(ctx);
  need(ctx, 'owner');
  const c = b.lifecycle?.v;
  if (!c) throw new S3Error('NoSuchLifecycleConfiguration', 'The lifecycle configuration does not exist', { BucketName: ctx.bucketName ?? '' });
  sendXml(ctx, 200, 'LifecycleConfiguration', lifecycleConfigXml(c));
}

export async function PutBucketLifecycleConfiguration(ctx: S3Ctx): Promise<void> {
  const b = requireBucket(ctx);
  need(ctx, 'owner');
  const cfg = parseLifecycleConfig(await readSmallBody(ctx, LIFECYCLE_BODY_MAX));
  ctx.bucket = await ctx.store.buckets.insert({ ...b, lifecycle: { t: nextTs(ctx.store.ts(), b.lifecycle), v: cfg } });
  sendEmpty(ctx, 200);
}

export async function DeleteBucketLifecycle(ctx: S3Ctx): Promise<void> {
  const b = requireBucket(ctx);
  need(ctx, 'owner');
  if (b.lifecycle?.v) ctx.bucket = await ctx.store.buckets.insert({ ...b, lifecycle: { t: nextTs(ctx.store.ts(), b.lifecycle), v: null } });
  sendEmpty(ctx, 204);
}
