// Pins every rule of decide(): explicit deny, then flags / policy / ACL allows, then default deny;
// the policy language (AWS documentation examples), PublicAccessBlock, and policy validation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decide, bucketIsPublic, type AuthzRequest, type BucketAuthz, type Principal } from './decide.ts';
import { isPublicPolicy, parsePolicy, PolicyError, POLICY_STATEMENTS_MAX } from './policy.ts';
import { globMatch } from './glob.ts';
import { ALL_USERS, AUTHENTICATED_USERS, cannedGrants, type Grant, type ObjectAcl } from '../../../model/acl.ts';
import { mergeObject, type ObjectVersion } from '../../../model/object.ts';

const OWNER = 'GKowner000000000000000000';
const ALT = 'GKalt00000000000000000000';
const NONE = { read: false, write: false, owner: false };
const ALL = { read: true, write: true, owner: true };
const anon: Principal = { kind: 'anonymous' };
const owner: Principal = { kind: 'key', id: OWNER, name: 'main', flags: ALL };
const alt: Principal = { kind: 'key', id: ALT, name: 'alice', flags: NONE };
const reader: Principal = { kind: 'key', id: ALT, name: 'alice', flags: { ...NONE, read: true } };

const B = 'arn:aws:s3:::photos';
const OBJ = 'arn:aws:s3:::photos/a/b.jpg';
const ctx = (extra: Record<string, string> = {}) => ({ 'aws:sourceip': ['203.0.113.5'], 'aws:securetransport': ['false'], ...Object.fromEntries(Object.entries(extra).map(([k, v]) => [k, [v]])) });

const get = (p: Principal, c = ctx()): AuthzRequest => ({ principal: p, action: 's3:GetObject', resource: OBJ, flag: 'read', acl: { on: 'object', permission: 'READ' }, context: c });
const list = (p: Principal, c = ctx()): AuthzRequest => ({ principal: p, action: 's3:ListBucket', resource: B, flag: 'read', acl: { on: 'bucket', permission: 'READ' }, context: c });
const put = (p: Principal, c = ctx()): AuthzRequest => ({ principal: p, action: 's3:PutObject', resource: OBJ, flag: 'write', acl: { on: 'bucket', permission: 'WRITE' }, context: c });
const getAcl = (p: Principal): AuthzRequest => ({ principal: p, action: 's3:GetObjectAcl', resource: OBJ, flag: 'none', acl: { on: 'object', permission: 'READ_ACP' }, context: ctx() });
const delPolicy = (p: Principal): AuthzRequest => ({ principal: p, action: 's3:DeleteBucketPolicy', resource: B, flag: 'owner', context: ctx() });

function bucket(o: { grants?: Grant[]; policy?: unknown; pab?: Partial<NonNullable<BucketAuthz['pab']>> } = {}): BucketAuthz {
  const b: BucketAuthz = {
    owner: OWNER,
    grants: o.grants ?? cannedGrants('private', OWNER, null),
    pab: o.pab ? { blockPublicAcls: false, ignorePublicAcls: false, blockPublicPolicy: false, restrictPublicBuckets: false, ...o.pab } : null,
  };
  if (o.policy !== undefined) b.policy = parsePolicy(JSON.stringify(o.policy));
  return b;
}
const stmt = (s: Record<string, unknown>) => ({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: '*', Resource: [B, `${B}/*`], ...s }] });
const objAcl = (grants: Grant[], o = OWNER): ObjectAcl => ({ owner: o, grants: [{ grantee: { type: 'user', id: o }, permission: 'FULL_CONTROL' }, ...grants] });

interface Row {
  name: string;
  req: AuthzRequest;
  b: BucketAuthz;
  object?: ObjectAcl;
  allow: boolean;
  reason: string;
}

const rows: Row[] = [
  // default deny, flags
  { name: 'anonymous, private bucket: default deny', req: list(anon), b: bucket(), allow: false, reason: 'default-deny' },
  { name: 'key without flags on a private bucket: default deny', req: get(alt), b: bucket(), object: objAcl([]), allow: false, reason: 'default-deny' },
  { name: 'read flag grants GetObject (Grenier key flags)', req: get(reader), b: bucket(), allow: true, reason: 'flags' },
  { name: 'read flag does not grant PutObject', req: put(reader), b: bucket(), allow: false, reason: 'default-deny' },
  // The operator's flags are a ceiling for keys listed on the bucket (a write-only backup key).
  { name: 'listed write-only key: its own object\'s FULL_CONTROL does not give read back', req: get({ ...alt, flags: { ...NONE, write: true }, listed: true }), b: bucket(), object: objAcl([], ALT), allow: false, reason: 'flags-ceiling' },
  { name: 'the same key, not listed on the bucket: its object ACL lets it read', req: get(alt), b: bucket(), object: objAcl([], ALT), allow: true, reason: 'acl' },
  { name: 'listed write-only key: a public-read policy does not give it read', req: get({ ...alt, flags: { ...NONE, write: true }, listed: true }), b: bucket({ policy: stmt({ Action: 's3:GetObject' }) }), allow: false, reason: 'flags-ceiling' },
  // ACLs
  { name: 'public-read bucket ACL: anonymous may list', req: list(anon), b: bucket({ grants: cannedGrants('public-read', OWNER, null) }), allow: true, reason: 'acl' },
  { name: 'public-read bucket ACL: anonymous may not write', req: put(anon), b: bucket({ grants: cannedGrants('public-read', OWNER, null) }), allow: false, reason: 'default-deny' },
  { name: 'public-read-write bucket ACL: anonymous may write', req: put(anon), b: bucket({ grants: cannedGrants('public-read-write', OWNER, null) }), allow: true, reason: 'acl' },
  { name: 'public-read bucket ACL does not make objects readable', req: get(anon), b: bucket({ grants: cannedGrants('public-read', OWNER, null) }), object: objAcl([]), allow: false, reason: 'default-deny' },
  { name: 'public-read object ACL: anonymous may read it', req: get(anon), b: bucket(), object: objAcl([{ grantee: { type: 'group', uri: ALL_USERS }, permission: 'READ' }]), allow: true, reason: 'acl' },
  { name: 'authenticated-read: any key may list', req: list(alt), b: bucket({ grants: cannedGrants('authenticated-read', OWNER, null) }), allow: true, reason: 'acl' },
  { name: 'authenticated-read: anonymous may not', req: list(anon), b: bucket({ grants: cannedGrants('authenticated-read', OWNER, null) }), allow: false, reason: 'default-deny' },
  { name: 'grant READ to another key', req: get(alt), b: bucket(), object: objAcl([{ grantee: { type: 'user', id: ALT }, permission: 'READ' }]), allow: true, reason: 'acl' },
  { name: 'FULL_CONTROL covers WRITE', req: put(alt), b: bucket({ grants: [{ grantee: { type: 'user', id: ALT }, permission: 'FULL_CONTROL' }] }), allow: true, reason: 'acl' },
  { name: 'READ_ACP does not cover READ', req: list(alt), b: bucket({ grants: [{ grantee: { type: 'user', id: ALT }, permission: 'READ_ACP' }] }), allow: false, reason: 'default-deny' },
  { name: 'an object ACL belongs to its writer: owner flag does not grant GetObjectAcl', req: getAcl(owner), b: bucket(), object: objAcl([], ALT), allow: false, reason: 'default-deny' },
  { name: 'the object owner may always read its ACL', req: getAcl(alt), b: bucket(), object: { owner: ALT, grants: [] }, allow: true, reason: 'owner-acp' },
  // PublicAccessBlock
  { name: 'IgnorePublicAcls: public-read bucket ACL ignored', req: list(alt), b: bucket({ grants: cannedGrants('public-read', OWNER, null), pab: { ignorePublicAcls: true } }), allow: false, reason: 'default-deny' },
  { name: 'IgnorePublicAcls keeps grants to keys', req: get(alt), b: bucket({ pab: { ignorePublicAcls: true } }), object: objAcl([{ grantee: { type: 'user', id: ALT }, permission: 'READ' }]), allow: true, reason: 'acl' },
  { name: 'RestrictPublicBuckets: a public policy no longer serves anonymous', req: get(anon), b: bucket({ policy: stmt({ Action: 's3:GetObject' }), pab: { restrictPublicBuckets: true } }), allow: false, reason: 'default-deny' },
  { name: 'RestrictPublicBuckets: the bucket\'s own keys still use it', req: get({ ...reader, flags: { ...NONE, write: true } }), b: bucket({ policy: stmt({ Action: 's3:GetObject' }), pab: { restrictPublicBuckets: true } }), allow: true, reason: 'policy' },
  // Policies: AWS documentation examples
  {
    name: 'AWS example: read-only permission to anonymous users (s3:GetObject on bucket/*)',
    req: get(anon),
    b: bucket({ policy: { Version: '2012-10-17', Statement: [{ Sid: 'PublicRead', Effect: 'Allow', Principal: '*', Action: ['s3:GetObject', 's3:GetObjectVersion'], Resource: ['arn:aws:s3:::photos/*'] }] } }),
    allow: true,
    reason: 'policy',
  },
  {
    name: 'AWS example: the same policy does not allow listing',
    req: list(anon),
    b: bucket({ policy: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: '*', Action: ['s3:GetObject'], Resource: ['arn:aws:s3:::photos/*'] }] } }),
    allow: false,
    reason: 'default-deny',
  },
  {
    name: 'AWS example: deny outside 192.0.2.0/24 (NotIpAddress) beats the key flags',
    req: get(owner),
    b: bucket({ policy: { Statement: [{ Effect: 'Deny', Principal: '*', Action: 's3:*', Resource: [B, `${B}/*`], Condition: { NotIpAddress: { 'aws:SourceIp': '192.0.2.0/24' } } }] } }),
    allow: false,
    reason: 'explicit-deny',
  },
  {
    name: 'AWS example: inside 192.0.2.0/24 the deny does not apply',
    req: get(owner, ctx({ 'aws:sourceip': '192.0.2.77' })),
    b: bucket({ policy: { Statement: [{ Effect: 'Deny', Principal: '*', Action: 's3:*', Resource: [B, `${B}/*`], Condition: { NotIpAddress: { 'aws:SourceIp': '192.0.2.0/24' } } }] } }),
    allow: true,
    reason: 'flags',
  },
  {
    name: 'AWS example: deny requests without TLS (Bool aws:SecureTransport false)',
    req: get(owner),
    b: bucket({ policy: { Statement: [{ Sid: 'TLSOnly', Effect: 'Deny', Principal: '*', Action: 's3:*', Resource: [`${B}/*`], Condition: { Bool: { 'aws:SecureTransport': 'false' } } }] } }),
    allow: false,
    reason: 'explicit-deny',
  },
  {
    name: 'AWS example: list only home/ prefix (StringLike s3:prefix)',
    req: list(alt, ctx({ 's3:prefix': 'home/alice/' })),
    b: bucket({ policy: stmt({ Principal: { AWS: [`arn:aws:iam::111122223333:user/alice`] }, Action: 's3:ListBucket', Resource: B, Condition: { StringLike: { 's3:prefix': ['home/${aws:username}/*', 'home/alice/*'] } } }) }),
    allow: true,
    reason: 'policy',
  },
  {
    name: 'StringLike s3:prefix: another prefix is not allowed',
    req: list(alt, ctx({ 's3:prefix': 'home/bob/' })),
    b: bucket({ policy: stmt({ Principal: { AWS: [ALT] }, Action: 's3:ListBucket', Resource: B, Condition: { StringLike: { 's3:prefix': 'home/alice/*' } } }) }),
    allow: false,
    reason: 'default-deny',
  },
  { name: 'Principal AWS key id: that key', req: list(alt), b: bucket({ policy: stmt({ Principal: { AWS: ALT }, Action: 's3:ListBucket' }) }), allow: true, reason: 'policy' },
  { name: 'Principal AWS key id: not anonymous', req: list(anon), b: bucket({ policy: stmt({ Principal: { AWS: ALT }, Action: 's3:ListBucket' }) }), allow: false, reason: 'default-deny' },
  { name: 'Principal {"AWS": "*"} includes anonymous', req: list(anon), b: bucket({ policy: stmt({ Principal: { AWS: '*' }, Action: 's3:ListBucket' }) }), allow: true, reason: 'policy' },
  { name: 'Principal arn:aws:iam::acct:root never matches a key by accident', req: list(alt), b: bucket({ policy: stmt({ Principal: { AWS: 'arn:aws:iam::s3tenant1:root' }, Action: 's3:ListBucket' }) }), allow: false, reason: 'default-deny' },
  { name: 'Action wildcard s3:Get*', req: get(alt), b: bucket({ policy: stmt({ Action: 's3:Get*' }) }), allow: true, reason: 'policy' },
  { name: 'Action is case-insensitive', req: get(alt), b: bucket({ policy: stmt({ Action: 'S3:GETOBJECT' }) }), allow: true, reason: 'policy' },
  { name: 'Resource on the bucket ARN does not cover objects', req: put(alt), b: bucket({ policy: stmt({ Action: 's3:PutObject', Resource: B }) }), allow: false, reason: 'default-deny' },
  { name: 'Resource wildcard arn:aws:s3:::*/* covers objects of any bucket', req: put(alt), b: bucket({ policy: stmt({ Action: 's3:PutObject', Resource: 'arn:aws:s3:::*/*' }) }), allow: true, reason: 'policy' },
  { name: 'NotAction: everything but DeleteObject', req: get(alt), b: bucket({ policy: stmt({ NotAction: 's3:DeleteObject' }) }), allow: true, reason: 'policy' },
  { name: 'NotResource: everything but private/*', req: get(alt), b: bucket({ policy: { Statement: [{ Effect: 'Allow', Principal: '*', Action: 's3:GetObject', NotResource: `${B}/private/*` }] } }), allow: true, reason: 'policy' },
  { name: 'NotPrincipal Deny: denies everyone but the named key', req: list({ ...owner, id: 'GKother' }), b: bucket({ policy: { Statement: [{ Effect: 'Deny', NotPrincipal: { AWS: OWNER }, Action: 's3:*', Resource: [B] }] } }), allow: false, reason: 'explicit-deny' },
  { name: 'NotPrincipal Deny: the named key is not denied', req: list(owner), b: bucket({ policy: { Statement: [{ Effect: 'Deny', NotPrincipal: { AWS: OWNER }, Action: 's3:*', Resource: [B] }] } }), allow: true, reason: 'flags' },
  { name: 'StringNotEquals on an absent key holds (negated operators)', req: put(owner), b: bucket({ policy: stmt({ Effect: 'Deny', Action: 's3:PutObject', Condition: { StringNotEquals: { 's3:x-amz-acl': 'bucket-owner-full-control' } } }) }), allow: false, reason: 'explicit-deny' },
  { name: 'StringEquals s3:x-amz-acl present and equal: no deny', req: put(owner, ctx({ 's3:x-amz-acl': 'bucket-owner-full-control' })), b: bucket({ policy: stmt({ Effect: 'Deny', Action: 's3:PutObject', Condition: { StringNotEquals: { 's3:x-amz-acl': 'bucket-owner-full-control' } } }) }), allow: true, reason: 'flags' },
  { name: 'StringLike s3:x-amz-acl public* denies public writes', req: put(alt, ctx({ 's3:x-amz-acl': 'public-read' })), b: bucket({ policy: { Statement: [{ Effect: 'Allow', Principal: '*', Action: 's3:PutObject', Resource: `${B}/*` }, { Effect: 'Deny', Principal: '*', Action: 's3:PutObject', Resource: `${B}/*`, Condition: { StringLike: { 's3:x-amz-acl': 'public*' } } }] } }), allow: false, reason: 'explicit-deny' },
  { name: 'StringEqualsIfExists holds when the key is absent', req: list(alt), b: bucket({ policy: stmt({ Action: 's3:ListBucket', Condition: { StringEqualsIfExists: { 's3:delimiter': '/' } } }) }), allow: true, reason: 'policy' },
  { name: 'StringEquals fails when the key is absent', req: list(alt), b: bucket({ policy: stmt({ Action: 's3:ListBucket', Condition: { StringEquals: { 's3:delimiter': '/' } } }) }), allow: false, reason: 'default-deny' },
  { name: 'NumericLessThanEquals s3:max-keys', req: list(alt, ctx({ 's3:max-keys': '10' })), b: bucket({ policy: stmt({ Action: 's3:ListBucket', Condition: { NumericLessThanEquals: { 's3:max-keys': 10 } } }) }), allow: true, reason: 'policy' },
  { name: 'NumericLessThanEquals s3:max-keys: 11 is refused', req: list(alt, ctx({ 's3:max-keys': '11' })), b: bucket({ policy: stmt({ Action: 's3:ListBucket', Condition: { NumericLessThanEquals: { 's3:max-keys': 10 } } }) }), allow: false, reason: 'default-deny' },
  { name: 'aws:username is the key name', req: list(alt, ctx({ 'aws:username': 'alice' })), b: bucket({ policy: stmt({ Action: 's3:ListBucket', Condition: { StringEquals: { 'aws:username': 'alice' } } }) }), allow: true, reason: 'policy' },
  { name: 'IPv6 IpAddress condition', req: list(alt, ctx({ 'aws:sourceip': '2001:db8::1' })), b: bucket({ policy: stmt({ Action: 's3:ListBucket', Condition: { IpAddress: { 'aws:SourceIp': ['2001:db8::/32'] } } }) }), allow: true, reason: 'policy' },
  { name: 'several condition keys are AND-ed', req: list(alt, ctx({ 's3:prefix': 'a/' })), b: bucket({ policy: stmt({ Action: 's3:ListBucket', Condition: { StringEquals: { 's3:prefix': 'a/', 's3:delimiter': '/' } } }) }), allow: false, reason: 'default-deny' },
  { name: 'explicit Deny beats an ACL grant', req: list(alt), b: bucket({ grants: cannedGrants('authenticated-read', OWNER, null), policy: stmt({ Effect: 'Deny', Principal: { AWS: '*' }, Action: 's3:ListBucket' }) }), allow: false, reason: 'explicit-deny' },
  { name: 'explicit Deny beats the owner flags (GetBucketPublicAccessBlock)', req: { principal: owner, action: 's3:GetBucketPublicAccessBlock', resource: B, flag: 'owner', context: ctx() }, b: bucket({ policy: stmt({ Effect: 'Deny', Action: 's3:GetBucketPublicAccessBlock', Resource: B }) }), allow: false, reason: 'explicit-deny' },
  { name: 'the bucket owner may always delete its policy (no lockout)', req: delPolicy(owner), b: bucket({ policy: stmt({ Effect: 'Deny', Action: '*' }) }), allow: true, reason: 'flags' },
  { name: 'another key may not delete the policy', req: delPolicy(alt), b: bucket({ policy: stmt({ Effect: 'Deny', Action: '*' }) }), allow: false, reason: 'explicit-deny' },
];

for (const r of rows) {
  test(`decide: ${r.name}`, () => {
    const d = decide(r.req, r.b, r.object);
    assert.equal(d.allow, r.allow, `allow (reason ${d.reason})`);
    assert.equal(d.reason, r.reason);
  });
}

test('policy validation: MalformedPolicy reasons', () => {
  const bad: [unknown, RegExp][] = [
    ['not json', /invalid Json/],
    [{ Statement: [] }, /must not be empty/],
    [{ Statement: [{ Principal: '*', Action: 's3:GetObject', Resource: '*' }] }, /Effect/],
    [{ Statement: [{ Effect: 'Allow', NotPrincipal: { AWS: 'arn:aws:iam::s3tenant1:root' }, Action: 's3:ListBucket', Resource: B }] }, /NotPrincipal/],
    [{ Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: B }] }, /Principal and NotPrincipal/],
    [{ Statement: [{ Effect: 'Allow', Principal: '*', Action: 'ec2:RunInstances', Resource: B }] }, /invalid action/],
    [{ Statement: [{ Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: 'arn:aws:sqs:::q' }] }, /invalid resource/],
    [{ Statement: [{ Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: B, Condition: { StringSortOf: { 's3:prefix': 'a' } } }] }, /condition operator/],
    [{ Statement: [{ Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: B, Condition: { IpAddress: { 'aws:SourceIp': '10.0.0.0/33' } } }] }, /CIDR/],
    [{ Statement: [{ Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: B, Extra: 1 }] }, /unknown element/],
    [{ Statement: Array.from({ length: POLICY_STATEMENTS_MAX + 1 }, () => ({ Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: B })) }, /at most 100 statements/],
    [{ Statement: [{ Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: B, Sid: 'x'.repeat(30000) }] }, /at most 20480 bytes/],
    [{ Version: '2020-01-01', Statement: [{ Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: B }] }, /Version/],
  ];
  for (const [doc, why] of bad) assert.throws(() => parsePolicy(typeof doc === 'string' ? doc : JSON.stringify(doc)), (e: Error) => e instanceof PolicyError && why.test(e.message), JSON.stringify(doc).slice(0, 120));
});

test('public policies and public buckets (GetBucketPolicyStatus)', () => {
  const p = (s: Record<string, unknown>) => parsePolicy(JSON.stringify(stmt(s)));
  assert.equal(isPublicPolicy(p({ Principal: { AWS: '*' }, Action: 's3:ListBucket' })), true);
  assert.equal(isPublicPolicy(p({ Principal: { AWS: 'arn:aws:iam::s3tenant1:root' }, Action: 's3:ListBucket' })), false);
  assert.equal(isPublicPolicy(p({ Action: 's3:ListBucket', Condition: { IpAddress: { 'aws:SourceIp': '10.0.0.0/32' } } })), false);
  assert.equal(isPublicPolicy(p({ Action: 's3:ListBucket', Condition: { IpAddress: { 'aws:SourceIp': '0.0.0.0/0' } } })), true);
  assert.equal(isPublicPolicy(p({ Effect: 'Deny', Action: 's3:ListBucket' })), false);
  assert.equal(bucketIsPublic(bucket()), false);
  assert.equal(bucketIsPublic(bucket({ grants: cannedGrants('public-read', OWNER, null) })), true);
  assert.equal(bucketIsPublic(bucket({ grants: [{ grantee: { type: 'group', uri: AUTHENTICATED_USERS }, permission: 'READ' }] })), true);
  assert.equal(bucketIsPublic(bucket({ policy: stmt({ Action: 's3:GetObject' }) })), true);
});

test('globMatch agrees with an anchored regex on random patterns (and never backtracks exponentially)', () => {
  const ch = fc.constantFrom('a', 'b', '/', '*', '?');
  fc.assert(
    fc.property(fc.string({ unit: ch, maxLength: 8 }), fc.string({ unit: fc.constantFrom('a', 'b', '/'), maxLength: 10 }), (p, v) => {
      const re = new RegExp('^' + p.replace(/[/]/g, '\\/').replace(/\*/g, '.*').replace(/\?/g, '.') + '$', 's');
      assert.equal(globMatch(p, v), re.test(v), `${p} vs ${v}`);
    }),
    { seed: 9, numRuns: 3000 },
  );
  const t0 = performance.now();
  assert.equal(globMatch('*a'.repeat(500) + 'b', 'a'.repeat(1024)), false);
  assert.ok(performance.now() - t0 < 2000);
});

test('an object version\'s ACL is its own LWW register: the newer PutObjectAcl wins in either merge order', () => {
  const v: ObjectVersion = { uuid: 'u1', ts: 5, state: 'complete', nullVersion: true, deleteMarker: false, multipart: false, meta: { size: 1, etag: 'e', headers: [] } };
  // Timestamps whose encodings sort against their values (uint32 vs float64): the version's other
  // tie-breaks compare encodings, the ACL register must not.
  const older = { ...v, acl: { t: 4_000_000_000, v: { owner: OWNER, grants: cannedGrants('public-read-write', OWNER, null) } } };
  const newer = { ...v, acl: { t: 1_700_000_000_000, v: { owner: OWNER, grants: cannedGrants('private', OWNER, null) } } };
  for (const [a, b] of [[older, newer], [newer, older]]) {
    const m = mergeObject({ bucket: 'b', key: 'k', versions: [a] }, { bucket: 'b', key: 'k', versions: [b] });
    assert.equal(m.versions[0]!.acl!.t, 1_700_000_000_000);
    assert.equal(m.versions[0]!.ts, 5, 'Last-Modified unchanged');
  }
});
