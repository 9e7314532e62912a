// Bucket policies: the IAM policy language subset real users write, parsed and validated whole at
// PutBucketPolicy (bounded: 20 KB, 100 statements), then matched against one request.
import { BlockList, isIP } from 'node:net';
import { globMatch } from './glob.ts';

/** AWS's limit on a bucket policy's size. */
export const POLICY_BYTES_MAX = 20 * 1024;
export const POLICY_STATEMENTS_MAX = 100;
/** Values in one Principal/Action/Resource/condition list, and characters in one value. */
const VALUES_MAX = 200;
const VALUE_CHARS_MAX = 2048;

export class PolicyError extends Error {}

export type Effect = 'Allow' | 'Deny';

/** '*' = everyone, anonymous included; otherwise the AWS (key ids, IAM ARNs) and CanonicalUser
 *  values; Service/Federated principals are accepted and never match a Grenier caller. */
export type PrincipalSpec = '*' | { aws: string[]; canonical: string[]; other: string[] };

export interface Condition {
  /** Base operator without IfExists / set prefix, e.g. 'StringLike'. */
  op: string;
  key: string; // lower-case
  values: string[];
  ifExists: boolean;
  set?: 'any' | 'all';
}

export interface Statement {
  sid?: string;
  effect: Effect;
  principal?: PrincipalSpec;
  notPrincipal?: PrincipalSpec;
  action?: string[];
  notAction?: string[];
  resource?: string[];
  notResource?: string[];
  conditions: Condition[];
}

export interface Policy {
  version?: string;
  statements: Statement[];
}

/** Who is asking, as policies see it. */
export type PolicyPrincipal = { kind: 'anonymous' } | { kind: 'key'; id: string; name: string };

/** Condition keys of the request, lower-case names; a missing key is absent. */
export type ConditionContext = Record<string, string[] | undefined>;

const STRING_OPS = ['StringEquals', 'StringNotEquals', 'StringEqualsIgnoreCase', 'StringNotEqualsIgnoreCase', 'StringLike', 'StringNotLike'];
const NUMERIC_OPS = ['NumericEquals', 'NumericNotEquals', 'NumericLessThan', 'NumericLessThanEquals', 'NumericGreaterThan', 'NumericGreaterThanEquals'];
const DATE_OPS = NUMERIC_OPS.map((o) => o.replace('Numeric', 'Date'));
const ARN_OPS = ['ArnEquals', 'ArnNotEquals', 'ArnLike', 'ArnNotLike'];
const OPS = new Set([...STRING_OPS, ...NUMERIC_OPS, ...DATE_OPS, ...ARN_OPS, 'Bool', 'IpAddress', 'NotIpAddress', 'BinaryEquals', 'Null']);
const NEGATED = new Set(['StringNotEquals', 'StringNotEqualsIgnoreCase', 'StringNotLike', 'NumericNotEquals', 'DateNotEquals', 'ArnNotEquals', 'ArnNotLike', 'NotIpAddress']);
const STATEMENT_KEYS = new Set(['Sid', 'Effect', 'Principal', 'NotPrincipal', 'Action', 'NotAction', 'Resource', 'NotResource', 'Condition']);

function fail(why: string): never {
  throw new PolicyError(why);
}

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/** A string or a non-empty list of strings, bounded. */
function strings(x: unknown, what: string, allowEmpty = false): string[] {
  const list = typeof x === 'string' ? [x] : Array.isArray(x) ? x : fail(`${what} must be a string or a list of strings`);
  if (list.length === 0 && !allowEmpty) fail(`${what} must not be empty`);
  if (list.length > VALUES_MAX) fail(`${what} has more than ${VALUES_MAX} values`);
  for (const s of list) {
    if (typeof s !== 'string') fail(`${what} must contain only strings`);
    if (s.length > VALUE_CHARS_MAX) fail(`a value of ${what} is longer than ${VALUE_CHARS_MAX} characters`);
  }
  return list as string[];
}

function conditionValues(x: unknown, what: string): string[] {
  const list = Array.isArray(x) ? x : [x];
  if (list.length === 0) fail(`${what} must not be empty`);
  if (list.length > VALUES_MAX) fail(`${what} has more than ${VALUES_MAX} values`);
  return list.map((v) => {
    if (typeof v === 'string') {
      if (v.length > VALUE_CHARS_MAX) fail(`a value of ${what} is longer than ${VALUE_CHARS_MAX} characters`);
      return v;
    }
    if (typeof v === 'number' || typeof v === 'boolean') return String(v);
    return fail(`${what} values must be strings, numbers or booleans`);
  });
}

function parsePrincipal(x: unknown, what: string): PrincipalSpec {
  if (x === '*') return '*';
  if (!isObject(x)) fail(`${what} must be "*" or an object such as {"AWS": [...]}`);
  const spec = { aws: [] as string[], canonical: [] as string[], other: [] as string[] };
  for (const [k, v] of Object.entries(x)) {
    const vs = strings(v, `${what}.${k}`);
    if (k === 'AWS') {
      for (const a of vs) if (a !== '*' && !/^arn:aws:iam::[^:]*:(root|user\/.+)$/.test(a) && !/^[\w+=,.@-]{1,128}$/.test(a)) fail(`Invalid principal in policy: "${a}"`);
      spec.aws.push(...vs);
    } else if (k === 'CanonicalUser') spec.canonical.push(...vs);
    else if (k === 'Service' || k === 'Federated') spec.other.push(...vs);
    else fail(`Invalid principal in policy: unknown principal type "${k}"`);
  }
  return spec;
}

function parseAction(vs: string[], what: string): string[] {
  for (const a of vs) if (a !== '*' && !/^s3:[A-Za-z*?]+$/i.test(a)) fail(`Policy has an invalid action: "${a}" (${what} must be "*" or s3:<Action>, wildcards allowed)`);
  return vs;
}

function parseResource(vs: string[], what: string): string[] {
  for (const r of vs) if (r !== '*' && !r.startsWith('arn:aws:s3:::')) fail(`Policy has invalid resource: "${r}" (${what} must be an arn:aws:s3::: ARN)`);
  return vs;
}

function parseConditions(x: unknown): Condition[] {
  if (!isObject(x)) fail('Condition must be an object of operators');
  const out: Condition[] = [];
  for (const [rawOp, block] of Object.entries(x)) {
    let op = rawOp;
    let set: Condition['set'];
    const m = /^(ForAnyValue|ForAllValues):(.+)$/.exec(op);
    if (m) {
      set = m[1] === 'ForAnyValue' ? 'any' : 'all';
      op = m[2]!;
    }
    const ifExists = op.endsWith('IfExists');
    if (ifExists) op = op.slice(0, -'IfExists'.length);
    if (!OPS.has(op)) fail(`Policy has an invalid condition operator: "${rawOp}"`);
    if (!isObject(block)) fail(`Condition ${rawOp} must map condition keys to values`);
    for (const [key, v] of Object.entries(block)) {
      if (!/^[A-Za-z0-9-]+:[A-Za-z0-9._\-/]+$/.test(key)) fail(`Policy has an invalid condition key: "${key}"`);
      const values = conditionValues(v, `${rawOp}.${key}`);
      if (op === 'IpAddress' || op === 'NotIpAddress') for (const c of values) if (!parseCidr(c)) fail(`Invalid IP address or CIDR in ${rawOp}: "${c}"`);
      if (NUMERIC_OPS.includes(op)) for (const n of values) if (!Number.isFinite(Number(n)) || n.trim() === '') fail(`${rawOp} needs numbers, got "${n}"`);
      if (DATE_OPS.includes(op)) for (const d of values) if (Number.isNaN(parseDate(d))) fail(`${rawOp} needs dates, got "${d}"`);
      if (op === 'Bool' || op === 'Null') for (const b of values) if (!/^(true|false)$/i.test(b)) fail(`${rawOp} needs true or false, got "${b}"`);
      out.push({ op, key: key.toLowerCase(), values, ifExists, ...(set ? { set } : {}) });
    }
  }
  if (out.length > VALUES_MAX) fail(`Condition has more than ${VALUES_MAX} keys`);
  return out;
}

function parseStatement(x: unknown, n: number): Statement {
  const where = `Statement ${n}`;
  if (!isObject(x)) fail(`${where} must be an object`);
  for (const k of Object.keys(x)) if (!STATEMENT_KEYS.has(k)) fail(`${where} has an unknown element "${k}"`);
  const exactlyOne = (a: string, b: string) => {
    if ((x[a] === undefined) === (x[b] === undefined)) fail(`${where} must have exactly one of ${a} and ${b}`);
  };
  if (x.Effect !== 'Allow' && x.Effect !== 'Deny') fail(`${where}: Effect must be "Allow" or "Deny"`);
  exactlyOne('Principal', 'NotPrincipal');
  exactlyOne('Action', 'NotAction');
  exactlyOne('Resource', 'NotResource');
  if (x.Effect === 'Allow' && x.NotPrincipal !== undefined) fail(`${where}: NotPrincipal is not supported with "Effect": "Allow"`);
  const s: Statement = { effect: x.Effect, conditions: x.Condition === undefined ? [] : parseConditions(x.Condition) };
  if (x.Sid !== undefined) {
    if (typeof x.Sid !== 'string' || !/^[A-Za-z0-9 _-]{0,128}$/.test(x.Sid)) fail(`${where}: Sid must be a short string of letters and digits`);
    s.sid = x.Sid;
  }
  if (x.Principal !== undefined) s.principal = parsePrincipal(x.Principal, 'Principal');
  if (x.NotPrincipal !== undefined) s.notPrincipal = parsePrincipal(x.NotPrincipal, 'NotPrincipal');
  if (x.Action !== undefined) s.action = parseAction(strings(x.Action, 'Action'), 'Action');
  if (x.NotAction !== undefined) s.notAction = parseAction(strings(x.NotAction, 'NotAction'), 'NotAction');
  if (x.Resource !== undefined) s.resource = parseResource(strings(x.Resource, 'Resource'), 'Resource');
  if (x.NotResource !== undefined) s.notResource = parseResource(strings(x.NotResource, 'NotResource'), 'NotResource');
  return s;
}

/** Parses and validates a policy document; throws PolicyError with the reason. */
export function parsePolicy(text: string): Policy {
  if (Buffer.byteLength(text) > POLICY_BYTES_MAX) fail(`Policies must be at most ${POLICY_BYTES_MAX} bytes`);
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    fail(`This policy contains invalid Json: ${(e as Error).message}`);
  }
  if (!isObject(doc)) fail('A policy must be a JSON object');
  for (const k of Object.keys(doc)) if (!['Version', 'Id', 'Statement'].includes(k)) fail(`Policy has an unknown element "${k}"`);
  if (doc.Version !== undefined && doc.Version !== '2012-10-17' && doc.Version !== '2008-10-17') fail('Version must be "2012-10-17" or "2008-10-17"');
  if (doc.Id !== undefined && typeof doc.Id !== 'string') fail('Id must be a string');
  const raw = doc.Statement;
  const list = Array.isArray(raw) ? raw : raw === undefined ? fail('Missing required field Statement') : [raw];
  if (list.length === 0) fail('Statement must not be empty');
  if (list.length > POLICY_STATEMENTS_MAX) fail(`A policy may have at most ${POLICY_STATEMENTS_MAX} statements, this one has ${list.length}`);
  const p: Policy = { statements: list.map((s, i) => parseStatement(s, i + 1)) };
  if (typeof doc.Version === 'string') p.version = doc.Version;
  return p;
}

// ---------------------------------------------------------------- matching

function principalMatches(spec: PrincipalSpec, who: PolicyPrincipal): boolean {
  if (spec === '*') return true;
  for (const a of spec.aws) {
    if (a === '*') return true;
    if (who.kind !== 'key') continue;
    if (a === who.id) return true;
    const m = /^arn:aws:iam::([^:]*):(root|user\/(.+))$/.exec(a);
    if (m && (m[2] === 'root' ? m[1] === who.id : m[3] === who.id || m[3] === who.name)) return true;
  }
  return who.kind === 'key' && spec.canonical.includes(who.id);
}

function actionMatches(patterns: string[], action: string): boolean {
  return patterns.some((p) => p === '*' || globMatch(p, action, true));
}

function resourceMatches(patterns: string[], arn: string): boolean {
  return patterns.some((p) => p === '*' || globMatch(p, arn));
}

function parseCidr(s: string): { addr: string; family: 'ipv4' | 'ipv6'; prefix: number } | undefined {
  const [addr = '', len, ...rest] = s.trim().split('/');
  if (rest.length > 0) return undefined;
  const v = isIP(addr);
  if (v === 0) return undefined;
  const max = v === 4 ? 32 : 128;
  const prefix = len === undefined ? max : /^\d{1,3}$/.test(len) ? Number(len) : NaN;
  if (!(prefix >= 0 && prefix <= max)) return undefined;
  return { addr, family: v === 4 ? 'ipv4' : 'ipv6', prefix };
}

function ipIn(ip: string, cidrs: string[]): boolean {
  const plain = ip.startsWith('::ffff:') && isIP(ip.slice(7)) === 4 ? ip.slice(7) : ip;
  const fam = isIP(plain);
  if (fam === 0) return false;
  const list = new BlockList();
  for (const c of cidrs) {
    const p = parseCidr(c);
    if (p) list.addSubnet(p.addr, p.prefix, p.family);
  }
  return list.check(plain, fam === 4 ? 'ipv4' : 'ipv6');
}

function parseDate(s: string): number {
  return /^\d+$/.test(s) ? Number(s) * 1000 : Date.parse(s);
}

/** One request value against one policy value, for a positive (non-negated) form of `op`. */
function valueMatches(op: string, have: string, want: string): boolean {
  switch (op.replace('Not', '')) {
    case 'StringEquals':
    case 'ArnEquals':
    case 'BinaryEquals':
      return have === want;
    case 'StringEqualsIgnoreCase':
      return have.toLowerCase() === want.toLowerCase();
    case 'StringLike':
    case 'ArnLike':
      return globMatch(want, have);
    case 'Bool':
      return have.toLowerCase() === want.toLowerCase();
    case 'IpAddress':
      return ipIn(have, [want]);
  }
  const num = NUMERIC_OPS.includes(op) || NUMERIC_OPS.includes(op.replace('NotEquals', 'Equals'));
  const a = num ? Number(have) : parseDate(have);
  const b = num ? Number(want) : parseDate(want);
  if (Number.isNaN(a) || Number.isNaN(b)) return false;
  const kind = op.replace(/^(Numeric|Date)/, '');
  if (kind === 'Equals' || kind === 'NotEquals') return a === b;
  if (kind === 'LessThan') return a < b;
  if (kind === 'LessThanEquals') return a <= b;
  if (kind === 'GreaterThan') return a > b;
  return a >= b;
}

/** IAM semantics: the values of one key are OR'ed; a negated operator holds when none matches
 *  (and when the key is absent); IfExists holds when the key is absent. */
export function conditionHolds(c: Condition, ctx: ConditionContext): boolean {
  const have = ctx[c.key];
  if (c.op === 'Null') return (have === undefined || have.length === 0) === (c.values[0]!.toLowerCase() === 'true');
  const negated = NEGATED.has(c.op);
  if (have === undefined || have.length === 0) {
    if (c.set === 'all') return true;
    if (c.set === 'any') return false;
    return c.ifExists || negated;
  }
  const positive = negated ? c.op.replace('Not', '') : c.op;
  const one = (h: string) => c.values.some((w) => valueMatches(positive, h, w));
  if (c.set === 'all') return have.every((h) => (negated ? !one(h) : one(h)));
  const any = have.some(one);
  return negated ? !any : any;
}

export interface PolicyRequest {
  principal: PolicyPrincipal;
  action: string;
  resource: string;
  context: ConditionContext;
}

/** Whether a statement applies to the request (its Effect then decides). */
export function statementApplies(s: Statement, r: PolicyRequest): boolean {
  if (s.principal && !principalMatches(s.principal, r.principal)) return false;
  if (s.notPrincipal && principalMatches(s.notPrincipal, r.principal)) return false;
  if (s.action && !actionMatches(s.action, r.action)) return false;
  if (s.notAction && actionMatches(s.notAction, r.action)) return false;
  if (s.resource && !resourceMatches(s.resource, r.resource)) return false;
  if (s.notResource && resourceMatches(s.notResource, r.resource)) return false;
  return s.conditions.every((c) => conditionHolds(c, r.context));
}

/** Condition keys that, with fixed values, tie a statement to known callers (AWS's rule for a
 *  policy that is not public). */
const RESTRICTING_KEYS = new Set(['aws:sourceip', 'aws:sourcearn', 'aws:sourcevpc', 'aws:sourcevpce', 'aws:sourceaccount', 'aws:principalorgid', 'aws:principalaccount', 'aws:principalarn', 'aws:userid', 'aws:username']);

function restricts(c: Condition): boolean {
  if (!RESTRICTING_KEYS.has(c.key) || c.ifExists || NEGATED.has(c.op) || c.set === 'all') return false;
  if (c.op === 'IpAddress') return c.values.every((v) => (parseCidr(v)?.prefix ?? 0) >= (parseCidr(v)?.family === 'ipv4' ? 8 : 32));
  return ['StringEquals', 'StringEqualsIgnoreCase', 'ArnEquals', 'StringLike', 'ArnLike'].includes(c.op) && c.values.every((v) => !v.includes('*') && !v.includes('?'));
}

/** AWS's "public" policy: an Allow that everyone (anonymous included) can match, not pinned down
 *  by a restricting condition. */
export function isPublicPolicy(p: Policy): boolean {
  return p.statements.some((s) => {
    if (s.effect !== 'Allow') return false;
    const everyone = s.principal === '*' || (s.principal !== undefined && s.principal.aws.includes('*'));
    return everyone && !s.conditions.some(restricts);
  });
}
