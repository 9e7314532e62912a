// S3 operations: GetBucketCors, PutBucketCors, DeleteBucketCors, GetBucketWebsite,
// PutBucketWebsite, DeleteBucketWebsite — XML ⇄ the bucket's CORS and website registers,
// validated on the way in so the web server and CORS matcher can trust what is stored.
import type { S3Ctx } from '../context.ts';
import { need, readSmallBody, requireBucket, sendEmpty, sendXml } from '../context.ts';
import { S3Error } from '../errors.ts';
import { child, children, parseXml, type XmlElement, type XmlNode } from '../xml.ts';
import { nextTs } from '../../../table/crdt.ts';
import type { Bucket, CorsRule, RoutingRule, WebsiteConfig } from '../../../model/bucket.ts';

const MAX_CONFIG_BODY = 64 * 1024;
const CORS_METHODS = ['GET', 'PUT', 'POST', 'DELETE', 'HEAD'];
const MAX_CORS_RULES = 100;
const MAX_ROUTING_RULES = 50;

export const malformed = (why: string) => new S3Error('MalformedXML', `The XML you provided was not well-formed or did not validate against our published schema: ${why}`);
const invalid = (why: string, name?: string, value?: string) =>
  new S3Error('InvalidArgument', why, name === undefined ? {} : { ArgumentName: name, ArgumentValue: value ?? '' });

function expectRoot(el: XmlElement, name: string): void {
  if (el.name !== name) throw malformed(`the root element must be ${name}, not ${el.name}`);
}

/** Refuses elements the schema does not have, so a typo is an error rather than silently ignored. */
function onlyChildren(el: XmlElement, allowed: string[]): void {
  for (const c of el.children) if (!allowed.includes(c.name)) throw malformed(`unexpected element ${c.name} in ${el.name}`);
}

export function atMostOne(el: XmlElement, name: string): XmlElement | undefined {
  const cs = children(el, name);
  if (cs.length > 1) throw malformed(`${el.name} may contain only one ${name}`);
  return cs[0];
}

/** Text of an optional single leaf element; trimmed when it is a name or code, raw when it is key material. */
export function leaf(el: XmlElement, name: string, trim = true): string | undefined {
  const c = atMostOne(el, name);
  if (c === undefined) return undefined;
  if (c.children.length > 0) throw malformed(`${name} must contain text, not elements`);
  return trim ? c.text.trim() : c.text;
}

// ---------------------------------------------------------------- CORS

export function parseCorsConfig(xml: string): CorsRule[] {
  const root = parseXml(xml);
  expectRoot(root, 'CORSConfiguration');
  onlyChildren(root, ['CORSRule']);
  const rs = children(root, 'CORSRule');
  if (rs.length === 0) throw malformed('CORSConfiguration needs at least one CORSRule');
  if (rs.length > MAX_CORS_RULES) throw invalid(`a CORS configuration may have at most ${MAX_CORS_RULES} rules, this one has ${rs.length}`);
  return rs.map((r, i) => {
    onlyChildren(r, ['ID', 'AllowedOrigin', 'AllowedMethod', 'AllowedHeader', 'ExposeHeader', 'MaxAgeSeconds']);
    const texts = (n: string) => children(r, n).map((c) => c.text.trim());
    const rule: CorsRule = {
      allowedOrigins: texts('AllowedOrigin'),
      allowedMethods: texts('AllowedMethod'),
      allowedHeaders: texts('AllowedHeader'),
      exposeHeaders: texts('ExposeHeader'),
    };
    const id = leaf(r, 'ID');
    if (id !== undefined) {
      if (id.length > 255) throw invalid(`CORSRule ID must be at most 255 characters`, 'ID', id);
      rule.id = id;
    }
    const where = `CORSRule ${id ?? i + 1}`;
    if (rule.allowedOrigins.length === 0) throw malformed(`${where} needs at least one AllowedOrigin`);
    if (rule.allowedMethods.length === 0) throw malformed(`${where} needs at least one AllowedMethod`);
    for (const m of rule.allowedMethods)
      if (!CORS_METHODS.includes(m)) throw invalid(`Found unsupported HTTP method in CORS config. Unsupported method is ${m}; allowed: ${CORS_METHODS.join(', ')}`, 'AllowedMethod', m);
    for (const o of rule.allowedOrigins) {
      if (o === '') throw invalid(`${where}: AllowedOrigin must not be empty`, 'AllowedOrigin', o);
      if (o.split('*').length > 2) throw invalid(`AllowedOrigin "${o}" can not have more than one wildcard.`, 'AllowedOrigin', o);
    }
    for (const h of rule.allowedHeaders) if (h.split('*').length > 2) throw invalid(`AllowedHeader "${h}" can not have more than one wildcard.`, 'AllowedHeader', h);
    for (const h of rule.exposeHeaders) if (h.includes('*') || h === '') throw invalid(`ExposeHeader "${h}" must be a header name without wildcards`, 'ExposeHeader', h);
    const age = leaf(r, 'MaxAgeSeconds');
    if (age !== undefined) {
      if (!/^\d{1,9}$/.test(age)) throw invalid(`${where}: MaxAgeSeconds must be a non-negative integer, got "${age}"`, 'MaxAgeSeconds', age);
      rule.maxAgeSeconds = Number(age);
    }
    return rule;
  });
}

export function corsConfigXml(rules: CorsRule[]): XmlNode {
  return {
    CORSRule: rules.map((r) => ({
      ID: r.id,
      AllowedOrigin: r.allowedOrigins,
      AllowedMethod: r.allowedMethods,
      AllowedHeader: r.allowedHeaders,
      ExposeHeader: r.exposeHeaders,
      MaxAgeSeconds: r.maxAgeSeconds,
    })),
  };
}

async function saveBucket(ctx: S3Ctx, b: Bucket, patch: Partial<Pick<Bucket, 'cors' | 'website'>>): Promise<void> {
  ctx.bucket = await ctx.store.buckets.insert({ ...b, ...patch });
}

export async function GetBucketCors(ctx: S3Ctx): Promise<void> {
  const rules = requireBucket(ctx).cors.v;
  if (!rules || rules.length === 0) throw new S3Error('NoSuchCORSConfiguration', 'The CORS configuration does not exist', { BucketName: ctx.bucketName ?? '' });
  sendXml(ctx, 200, 'CORSConfiguration', corsConfigXml(rules));
}

export async function PutBucketCors(ctx: S3Ctx): Promise<void> {
  const b = requireBucket(ctx);
  need(ctx, 'owner');
  const rules = parseCorsConfig(await readSmallBody(ctx, MAX_CONFIG_BODY));
  await saveBucket(ctx, b, { cors: { t: nextTs(ctx.store.ts(), b.cors), v: rules } });
  sendEmpty(ctx, 200);
}

export async function DeleteBucketCors(ctx: S3Ctx): Promise<void> {
  const b = requireBucket(ctx);
  need(ctx, 'owner');
  await saveBucket(ctx, b, { cors: { t: nextTs(ctx.store.ts(), b.cors), v: null } });
  sendEmpty(ctx, 204);
}

// ---------------------------------------------------------------- website

const PROTOCOLS = ['http', 'https'];
const REDIRECT_CODES = ['301', '302', '303', '307', '308'];

function protocol(el: XmlElement): string | undefined {
  const p = leaf(el, 'Protocol');
  if (p !== undefined && !PROTOCOLS.includes(p)) throw invalid(`Invalid protocol "${p}": Protocol must be http or https`, 'Protocol', p);
  return p;
}

function hostName(el: XmlElement, required: boolean): string | undefined {
  const h = leaf(el, 'HostName');
  if (h === undefined ? required : h === '') throw invalid(`${el.name} needs a non-empty HostName`, 'HostName', h);
  if (h !== undefined && /[\s/]/.test(h)) throw invalid(`HostName "${h}" must be a host name, without scheme or path`, 'HostName', h);
  return h;
}

function parseRoutingRule(r: XmlElement, n: number): RoutingRule {
  onlyChildren(r, ['Condition', 'Redirect']);
  const where = `RoutingRule ${n}`;
  const out: RoutingRule = { redirect: {} };
  const cond = atMostOne(r, 'Condition');
  if (cond) {
    onlyChildren(cond, ['KeyPrefixEquals', 'HttpErrorCodeReturnedEquals']);
    const keyPrefixEquals = leaf(cond, 'KeyPrefixEquals', false);
    const httpErrorCodeReturnedEquals = leaf(cond, 'HttpErrorCodeReturnedEquals');
    if (keyPrefixEquals === undefined && httpErrorCodeReturnedEquals === undefined)
      throw invalid(`${where}: Condition needs KeyPrefixEquals or HttpErrorCodeReturnedEquals`, 'Condition', '');
    if (httpErrorCodeReturnedEquals !== undefined && !/^[45]\d\d$/.test(httpErrorCodeReturnedEquals))
      throw invalid(`${where}: HttpErrorCodeReturnedEquals must be a 4xx or 5xx code, got "${httpErrorCodeReturnedEquals}"`, 'HttpErrorCodeReturnedEquals', httpErrorCodeReturnedEquals);
    out.condition = {};
    if (keyPrefixEquals !== undefined) out.condition.keyPrefixEquals = keyPrefixEquals;
    if (httpErrorCodeReturnedEquals !== undefined) out.condition.httpErrorCodeReturnedEquals = httpErrorCodeReturnedEquals;
  }
  const red = atMostOne(r, 'Redirect');
  if (!red) throw malformed(`${where} needs a Redirect`);
  onlyChildren(red, ['HostName', 'Protocol', 'ReplaceKeyPrefixWith', 'ReplaceKeyWith', 'HttpRedirectCode']);
  if (red.children.length === 0) throw invalid(`${where}: Redirect needs at least one of HostName, Protocol, ReplaceKeyPrefixWith, ReplaceKeyWith, HttpRedirectCode`, 'Redirect', '');
  const x = out.redirect;
  const h = hostName(red, false);
  if (h !== undefined) x.hostName = h;
  const p = protocol(red);
  if (p !== undefined) x.protocol = p;
  const prefixWith = leaf(red, 'ReplaceKeyPrefixWith', false);
  const keyWith = leaf(red, 'ReplaceKeyWith', false);
  if (prefixWith !== undefined && keyWith !== undefined)
    throw invalid(`${where}: You can only define ReplaceKeyPrefixWith or ReplaceKeyWith but not both.`, 'Redirect', '');
  if (prefixWith !== undefined) x.replaceKeyPrefixWith = prefixWith;
  if (keyWith !== undefined) x.replaceKeyWith = keyWith;
  const code = leaf(red, 'HttpRedirectCode');
  if (code !== undefined) {
    if (!REDIRECT_CODES.includes(code)) throw invalid(`${where}: HttpRedirectCode must be one of ${REDIRECT_CODES.join(', ')}, got "${code}"`, 'HttpRedirectCode', code);
    x.httpRedirectCode = code;
  }
  return out;
}

export function parseWebsiteConfig(xml: string): WebsiteConfig {
  const root = parseXml(xml);
  expectRoot(root, 'WebsiteConfiguration');
  onlyChildren(root, ['IndexDocument', 'ErrorDocument', 'RedirectAllRequestsTo', 'RoutingRules']);
  const cfg: WebsiteConfig = {};
  const all = atMostOne(root, 'RedirectAllRequestsTo');
  if (all) {
    if (root.children.length > 1)
      throw invalid('RedirectAllRequestsTo cannot be provided in conjunction with other Routing Rules (IndexDocument, ErrorDocument, RoutingRules).', 'RedirectAllRequestsTo', '');
    onlyChildren(all, ['HostName', 'Protocol']);
    cfg.redirectAllRequestsTo = { hostName: hostName(all, true)! };
    const p = protocol(all);
    if (p !== undefined) cfg.redirectAllRequestsTo.protocol = p;
    return cfg;
  }
  const index = atMostOne(root, 'IndexDocument');
  if (!index) throw invalid('A value for IndexDocument Suffix must be provided if RedirectAllRequestsTo is empty', 'IndexDocument', '');
  onlyChildren(index, ['Suffix']);
  const suffix = leaf(index, 'Suffix', false);
  if (suffix === undefined || suffix === '') throw invalid('The IndexDocument Suffix is not well formed: it must not be empty', 'IndexDocument', suffix ?? '');
  if (suffix.includes('/')) throw invalid(`The IndexDocument Suffix is not well formed: "${suffix}" must not contain a slash`, 'IndexDocument', suffix);
  cfg.indexDocument = suffix;
  const err = atMostOne(root, 'ErrorDocument');
  if (err) {
    onlyChildren(err, ['Key']);
    const key = leaf(err, 'Key', false);
    if (key === undefined || key === '') throw invalid('The ErrorDocument Key is not well formed: it must not be empty', 'ErrorDocument', key ?? '');
    cfg.errorDocument = key;
  }
  const rules = atMostOne(root, 'RoutingRules');
  if (rules) {
    onlyChildren(rules, ['RoutingRule']);
    const rs = children(rules, 'RoutingRule');
    if (rs.length === 0) throw malformed('RoutingRules needs at least one RoutingRule');
    if (rs.length > MAX_ROUTING_RULES) throw invalid(`a website configuration may have at most ${MAX_ROUTING_RULES} routing rules, this one has ${rs.length}`, 'RoutingRules', String(rs.length));
    cfg.routingRules = rs.map((r, i) => parseRoutingRule(r, i + 1));
  }
  return cfg;
}

export function websiteConfigXml(c: WebsiteConfig): XmlNode {
  if (c.redirectAllRequestsTo) return { RedirectAllRequestsTo: { HostName: c.redirectAllRequestsTo.hostName, Protocol: c.redirectAllRequestsTo.protocol } };
  return {
    IndexDocument: c.indexDocument === undefined ? undefined : { Suffix: c.indexDocument },
    ErrorDocument: c.errorDocument === undefined ? undefined : { Key: c.errorDocument },
    RoutingRules:
      c.routingRules === undefined || c.routingRules.length === 0
        ? undefined
        : {
            RoutingRule: c.routingRules.map((r) => ({
              Condition: r.condition ? { KeyPrefixEquals: r.condition.keyPrefixEquals, HttpErrorCodeReturnedEquals: r.condition.httpErrorCodeReturnedEquals } : undefined,
              Redirect: {
                HostName: r.redirect.hostName,
                Protocol: r.redirect.protocol,
                ReplaceKeyPrefixWith: r.redirect.replaceKeyPrefixWith,
                ReplaceKeyWith: r.redirect.replaceKeyWith,
                HttpRedirectCode: r.redirect.httpRedirectCode,
              },
            })),
          },
  };
}

export async function GetBucketWebsite(ctx: S3Ctx): Promise<void> {
  const w = requireBucket(ctx).website.v;
  if (!w) throw new S3Error('NoSuchWebsiteConfiguration', 'The specified bucket does not have a website configuration', { BucketName: ctx.bucketName ?? '' });
  sendXml(ctx, 200, 'WebsiteConfiguration', websiteConfigXml(w));
}

export async function PutBucketWebsite(ctx: S3Ctx): Promise<void> {
  const b = requireBucket(ctx);
  need(ctx, 'owner');
  const cfg = parseWebsiteConfig(await readSmallBody(ctx, MAX_CONFIG_BODY));
  await saveBucket(ctx, b, { website: { t: nextTs(ctx.store.ts(), b.website), v: cfg } });
  sendEmpty(ctx, 200);
}

export async function DeleteBucketWebsite(ctx: S3Ctx): Promise<void> {
  const b = requireBucket(ctx);
  need(ctx, 'owner');
  await saveBucket(ctx, b, { website: { t: nextTs(ctx.store.ts(), b.website), v: null } });
  sendEmpty(ctx, 204);
}
