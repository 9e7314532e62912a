// The CRDT laws (table/laws.ts) on every table schema of model/: an arbitrary per schema of the
// updates one key receives, as the code writes them, with timestamps from a small range so ties
// (same millisecond on two nodes) are common. A schema without arbitraries here fails the test.
import test from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import fc from 'fast-check';
import { checkLaws, type LawOptions } from '../table/laws.ts';
import type { TableSchema } from '../table/schema.ts';
import { objectSchema, wasComplete, versionOrder, type ObjectEntry, type ObjectVersion } from './object.ts';
import type { Bucket } from './bucket.ts';
import { ALL_USERS, type Grant } from './acl.ts';
import { everLocked } from './object-lock.ts';
import type { Alias } from './alias.ts';
import type { AccessKey } from './key.ts';
import { versionSchema, type VersionEntry } from './version.ts';
import type { BlockRefEntry } from './block-ref.ts';
import type { MpuEntry, PartInfo } from './mpu.ts';
import type { Route, RouteTarget } from './route.ts';
import type { CertificateEntry } from './certificate.ts';
import type { AcmeToken } from './acme-token.ts';
import type { SiteEntry } from './site.ts';
import type { QuotaRequest } from './quota-request.ts';
import type { AdminToken } from './admin-token.ts';
import { AUDIT_EVENTS_PER_NODE_MAX, type AuditEvent } from './audit.ts';

const ts = fc.integer({ min: 0, max: 3 });
const lww = <T>(v: fc.Arbitrary<T>) => fc.record({ t: ts, v }, { noNullPrototype: true });
const world = <E>(one: fc.Arbitrary<E>): fc.Arbitrary<E[]> => fc.array(one, { minLength: 1, maxLength: 6 });
const orNull = <T>(v: fc.Arbitrary<T>) => fc.option(v, { nil: null });
// Map keys arrive in any order (writers append the key they set): merges must not depend on it.
const lwwMap = <T>(v: fc.Arbitrary<T>) => fc.dictionary(fc.constantFrom('k1', 'k2', 'k3'), lww(v), { maxKeys: 3, noNullPrototype: true });
const hash = (c: string) => Buffer.alloc(4, c);

const bucketLaws: LawOptions<Bucket> = {
  updates: world(
    fc.record({
      id: fc.constant('b1'),
      created: fc.integer({ min: 1, max: 3 }),
      deleted: lww(fc.boolean()),
      aliases: lwwMap(fc.boolean()),
      keys: lwwMap(fc.record({ read: fc.boolean(), write: fc.boolean(), owner: fc.boolean() })),
      website: lww(orNull(fc.record({ indexDocument: fc.constantFrom('index.html', 'i.htm') }, { requiredKeys: [] }))),
      cors: lww(orNull(fc.constantFrom([], [{ allowedOrigins: ['*'], allowedMethods: ['GET'], allowedHeaders: [], exposeHeaders: [] }]))),
      versioning: lww(fc.constantFrom(null, 'Enabled' as const, 'Suspended' as const)),
      quotas: lww(fc.record({ maxSize: orNull(fc.constantFrom(10, 20)), maxObjects: orNull(fc.constantFrom(1, 2)) })),
      // Registers older entries lack (model/acl.ts): absent must merge like the unset register.
      owner: lww(orNull(fc.constantFrom('k1', 'k2'))),
      acl: lww(orNull(fc.constantFrom([], [{ grantee: { type: 'group' as const, uri: ALL_USERS }, permission: 'READ' as const }]))),
      policy: lww(orNull(fc.constantFrom({ text: '{}' }, { text: '{"Statement":[]}' }))),
      publicAccessBlock: lww(orNull(fc.record({ blockPublicAcls: fc.boolean(), ignorePublicAcls: fc.boolean(), blockPublicPolicy: fc.boolean(), restrictPublicBuckets: fc.boolean() }))),
      objectLock: lww(orNull(fc.constantFrom({ enabled: true as const }, { enabled: true as const, rule: { mode: 'GOVERNANCE' as const, days: 1 } }))),
      tags: lww(orNull(fc.constantFrom<[string, string][]>([], [['k', 'v']]))),
      lifecycle: lww(orNull(fc.constantFrom(
        { rules: [{ id: 'r1', enabled: true, filter: { form: 'legacy' as const, prefix: 'a/', tags: [] }, expiration: { days: 1 } }] },
        { rules: [{ id: 'r1', enabled: false, filter: { form: 'and' as const, tags: [['k', 'v']] as [string, string][], sizeGt: 10 }, noncurrent: { days: 2, newer: 1 }, abortUploadDays: 3 }] },
      ))),
    }, { requiredKeys: ['id', 'created', 'deleted', 'aliases', 'keys', 'website', 'cors', 'versioning', 'quotas'] }),
  ),
  // A deletion wins over what it is newer than.
  tombstoneAbsorbs: (t, x) => t.deleted.t > x.deleted.t,
};

const aliasLaws: LawOptions<Alias> = {
  updates: world(
    fc.record({ name: fc.constant('site.example.org'), bucket: lww(orNull(fc.constantFrom('b1', 'b2'))), given: lww(orNull(fc.constantFrom('b1', 'b2'))) }, { requiredKeys: ['name', 'bucket'] }),
  ),
  tombstoneAbsorbs: (t, x) => t.bucket.t > x.bucket.t,
};

const keyLaws: LawOptions<AccessKey> = {
  updates: world(
    fc.record({
      id: fc.constant('GK000000000000000000000001'),
      secret: fc.constantFrom('s1', 's2'),
      created: fc.integer({ min: 1, max: 3 }),
      name: lww(fc.constantFrom('a', 'b')),
      deleted: lww(fc.boolean()),
      allowCreateBucket: lww(fc.boolean()),
      // Registers older entries lack: absent must merge like the unset register / empty map.
      expiration: lww(orNull(fc.constantFrom(5, 9))),
      localAliases: lwwMap(orNull(fc.constantFrom('b1', 'b2'))),
      sitesMax: lww(fc.constantFrom(0, 2, 5)),
      ownSites: lwwMap(orNull(fc.constantFrom('self' as const, 'given' as const))),
    }, { requiredKeys: ['id', 'secret', 'created', 'name', 'deleted', 'allowCreateBucket'] }),
  ),
  tombstoneAbsorbs: (t, x) => t.deleted.t > x.deleted.t,
};

const blockRefLaws: LawOptions<BlockRefEntry> = {
  updates: world(fc.record({ block: fc.constant('ab'.repeat(32)), version: fc.constant('v1'), deleted: fc.boolean() })),
  tombstoneAbsorbs: () => true,
};

// iv: SSE-C part uploads of one position with different nonces (model/sse-c-cipher.ts).
const blockArb = fc.record(
  { part: fc.integer({ min: 0, max: 2 }), offset: fc.constantFrom(0, 100), hash: fc.constantFrom('a', 'b').map(hash), size: fc.constantFrom(50, 100), iv: fc.constantFrom(Buffer.alloc(12, 1), Buffer.alloc(12, 2)) },
  { requiredKeys: ['part', 'offset', 'hash', 'size'] },
);
const versionLaws: LawOptions<VersionEntry> = {
  updates: world(
    fc.oneof(
      fc.constant<VersionEntry>({ uuid: 'u1', deleted: true, blocks: [] }),
      fc
        .record({
          uuid: fc.constant('u1'),
          deleted: fc.constant(false),
          blocks: fc.uniqueArray(blockArb, { selector: (b) => `${b.part}:${b.offset}`, maxLength: 4 }).map((bs) => bs.sort((x, y) => x.part - y.part || x.offset - y.offset)),
          // Two nodes completing one upload: each writes its own block list under the upload id.
          completion: fc.record({ ts, etag: fc.constantFrom('e1-2', 'e2-2') }),
        }, { requiredKeys: ['uuid', 'deleted', 'blocks'] }),
    ),
  ),
  tombstoneAbsorbs: () => true,
};

const partArb: fc.Arbitrary<PartInfo> = fc.record({ part: fc.integer({ min: 1, max: 2 }), ts, version: fc.constantFrom('p1', 'p2'), etag: fc.constantFrom('e1', 'e2'), size: fc.constantFrom(5, 6) });
const mpuLaws: LawOptions<MpuEntry> = {
  updates: world(
    fc.oneof(
      fc.constant<MpuEntry>({ uploadId: 'u1', bucket: 'b1', key: 'k', deleted: true, parts: {} }),
      fc.array(partArb, { maxLength: 3 }).map((ps): MpuEntry => ({ uploadId: 'u1', bucket: 'b1', key: 'k', deleted: false, parts: Object.fromEntries(ps.map((p) => [`${p.part}:${p.ts}`, p])) })),
    ),
  ),
  tombstoneAbsorbs: () => true,
};

const target = fc.constantFrom<RouteTarget | null>(null, { kind: 's3' }, { kind: 'website' }, { kind: 'website', site: 'x.org' }, { kind: 'upstream', upstreams: ['http://10.0.0.1:80'] });
const routeLaws: LawOptions<Route> = {
  updates: world(fc.record({ host: fc.constant('h.example.org'), path: fc.constant('/'), created: fc.integer({ min: 1, max: 3 }), target: lww(target) })),
  tombstoneAbsorbs: (t, x) => t.target.t > x.target.t,
};

const certLaws: LawOptions<CertificateEntry> = {
  updates: world(
    fc.record({
      host: fc.constant('h.example.org'),
      cert: lww(orNull(fc.record({ certPem: fc.constantFrom('A', 'B'), keyEnc: fc.constantFrom('k1', 'k2').map((s) => Buffer.from(s)), notBefore: fc.constant(1), notAfter: fc.constantFrom(2, 3), issuer: fc.constant('ca'), orderedBy: fc.constantFrom('n1', 'n2') }))),
      lease: lww(orNull(fc.record({ holder: fc.constantFrom('n1', 'n2'), until: fc.constantFrom(5, 6) }))),
      attempt: lww(orNull(fc.record({ at: fc.constantFrom(1, 2), failures: fc.constantFrom(0, 1), error: orNull(fc.constant('boom')) }))),
      requested: lww(fc.constantFrom(0, 7)),
    }),
  ),
};

const acmeLaws: LawOptions<AcmeToken> = {
  updates: world(fc.record({ token: fc.constant('t'.repeat(20)), host: fc.constantFrom('a.org', 'b.org'), keyAuth: lww(orNull(fc.constantFrom('ka1', 'ka2'))), expires: fc.constantFrom(10, 20) })),
  tombstoneAbsorbs: (t, x) => t.keyAuth.t > x.keyAuth.t,
};

const siteLaws: LawOptions<SiteEntry> = {
  updates: world(
    fc.record({
      bucket: fc.constant('b1'),
      domain: fc.constantFrom('a.org', 'b.org'),
      created: fc.integer({ min: 1, max: 3 }),
      deleted: lww(fc.boolean()),
      deploys: lww(fc.record({ current: orNull(fc.constantFrom('d1', 'd2')), previous: orNull(fc.constantFrom('d1', 'd2')) })),
    }),
  ),
  tombstoneAbsorbs: (t, x) => t.deleted.t > x.deleted.t,
};

const quotaRequestLaws: LawOptions<QuotaRequest> = {
  // id, bucket, site, requester, bytes and reason are written once, by the node that files it.
  updates: world(
    fc.record({
      id: fc.constant('r1'),
      bucket: fc.constant('b1'),
      site: fc.constant('a.org'),
      requester: fc.constant('GK1'),
      bytes: fc.constant(1e9),
      reason: fc.constant('photos'),
      created: fc.integer({ min: 1, max: 3 }),
      decision: lww(fc.record({ state: fc.constantFrom('pending' as const, 'approved' as const, 'denied' as const), by: orNull(fc.constant('admin')), reason: orNull(fc.constantFrom('ok', 'no')), at: fc.constantFrom(1, 2) })),
    }),
  ),
};

// The object table: a key's history of a few versions, each with the forms the code writes: a PUT
// or copy (complete), DeleteObject (a delete marker, or the version turned aborted), multipart
// uploads (uploading with parts recorded on different replicas, one or two Completes racing on two
// nodes with fresh timestamps, Abort racing them), site deletion (aborted).
const meta = (etag: string) => ({ size: etag.length, etag, headers: [['content-type', 'text/plain']] as [string, string][] });
const versionForms = fc
  .record({
    multipart: fc.boolean(),
    nullVersion: fc.boolean(),
    deleteMarker: fc.boolean(),
    ts: fc.integer({ min: 0, max: 6 }),
    etag: fc.constantFrom('e1', 'e2'),
    completes: fc.uniqueArray(fc.record({ etag: fc.constantFrom('c1-2', 'c2-2', 'c3-1') }), { maxLength: 2, selector: (c) => c.etag }),
    parts: fc.array(fc.record({ part: fc.constantFrom('1', '2'), ts, version: fc.constantFrom('p1', 'p2'), size: fc.constantFrom(5, 6) }), { maxLength: 3 }),
    aborts: fc.subarray(['uploading', 'complete0', 'complete1'] as const),
  })
  .map((r) => (uuid: string): ObjectVersion[] => {
    if (!r.multipart) {
      const c: ObjectVersion = { uuid, ts: r.ts, state: 'complete', nullVersion: r.nullVersion, deleteMarker: r.deleteMarker, multipart: false, ...(r.deleteMarker ? {} : { meta: meta(r.etag) }) };
      return r.aborts.length > 0 ? [c, { ...c, state: 'aborted' }] : [c];
    }
    const u: ObjectVersion = { uuid, ts: r.ts, state: 'uploading', nullVersion: r.nullVersion, deleteMarker: false, multipart: true, meta: { size: 0, etag: '', headers: [] } };
    const out: ObjectVersion[] = [u];
    for (const p of r.parts) out.push({ ...u, uploaded: { [p.part]: { ts: p.ts, version: p.version, size: p.size } } });
    // Complete keeps the upload's timestamp (two Completes on two nodes differ in parts, not time).
    const done = r.completes.map((c): ObjectVersion => ({ ...u, state: 'complete', uploaded: undefined, meta: meta(c.etag) }));
    out.push(...done);
    if (r.aborts.includes('uploading')) out.push({ ...u, state: 'aborted', uploaded: undefined });
    done.forEach((d, i) => r.aborts.includes(`complete${i}` as 'complete0') && out.push({ ...d, state: 'aborted' }));
    return out;
  });
// The registers a form may carry besides its body: ACL (PutObjectAcl), tags (PutObjectTagging),
// retention, compliance date and legal hold (object lock), each written without a new version.
const aclArb = lww(fc.record({ owner: fc.constantFrom('k1', 'k2'), grants: fc.constantFrom<Grant[][]>([], [{ grantee: { type: 'user', id: 'k2' }, permission: 'READ' }]) }));
const registersArb = fc.record(
  {
    acl: aclArb,
    tags: lww(fc.constantFrom<[string, string][][]>([], [['a', '1']], [['a', '2'], ['b', '']])),
    retention: lww(orNull(fc.record({ mode: fc.constantFrom('GOVERNANCE' as const, 'COMPLIANCE' as const), until: fc.constantFrom(10, 20) }))),
    compliance: fc.constantFrom(10, 20, 30),
    legalHold: lww(fc.boolean()),
  },
  { requiredKeys: [] },
);
const objectLaws: LawOptions<ObjectEntry> = {
  updates: fc
    // Any form may carry registers (they are rewritten on a complete version).
    .tuple(fc.array(versionForms, { minLength: 1, maxLength: 4 }), fc.array(fc.option(registersArb, { nil: undefined }), { maxLength: 24 }))
    .map(([vs, regs]) => vs.flatMap((forms, i) => forms(`v${i}`)).map((v, j): ObjectEntry => ({ bucket: 'b1', key: 'k', versions: [regs[j] ? { ...v, ...regs[j] } : v] }))),
  // An entry of deleted versions and null delete markers absorbs other forms of its versions and
  // null versions older than its newest null delete marker.
  tombstoneAbsorbs: (t, x) => {
    const ids = new Set(t.versions.map((v) => v.uuid));
    const nulls = t.versions.filter((v) => v.nullVersion && wasComplete(v));
    const lastNull = nulls.sort(versionOrder).at(-1);
    // A version that ever had a lock register is never pruned (model/object-lock.ts everLocked).
    return x.versions.every((v) => ids.has(v.uuid) || (lastNull && v.nullVersion && versionOrder(v, lastNull) < 0 && !everLocked(v)));
  },
};

const adminTokenLaws: LawOptions<AdminToken> = {
  updates: world(
    fc.record({
      id: fc.constant('0'.repeat(24)),
      created: fc.integer({ min: 1, max: 3 }),
      hash: fc.constantFrom('a'.repeat(64), 'b'.repeat(64)),
      name: lww(fc.constantFrom('alice', 'bob')),
      scope: lww(fc.constantFrom(['*'], ['ListBuckets'], ['ListBuckets', 'GetBucketInfo'])),
      expiration: lww(orNull(fc.constantFrom(5, 6))),
      deleted: lww(fc.boolean()),
    }),
  ),
  tombstoneAbsorbs: (t, x) => t.deleted.t > x.deleted.t,
};

const auditLaws: LawOptions<AuditEvent> = {
  // One slot of one node: events numbered 3 and 10,003 share it (the higher owns it); a reused
  // number may come with different fields.
  updates: world(
    fc.record({
      node: fc.constant('c'.repeat(64)),
      slot: fc.constant(3),
      seq: fc.constantFrom(3, AUDIT_EVENTS_PER_NODE_MAX + 3),
      time: fc.constantFrom(1, 2),
      who: fc.constantFrom('admin', 'token:x'),
      op: fc.constantFrom('CreateBucket', 'DeleteKey'),
      target: fc.constantFrom('', 'b1'),
      status: fc.constantFrom(200, 404),
    }),
  ),
};

const LAWS: Record<string, LawOptions<any>> = {
  admin_token: adminTokenLaws,
  audit: auditLaws,
  bucket: bucketLaws,
  alias: aliasLaws,
  key: keyLaws,
  object: objectLaws,
  version: versionLaws,
  block_ref: blockRefLaws,
  mpu: mpuLaws,
  route: routeLaws,
  certificate: certLaws,
  acme_token: acmeLaws,
  site: siteLaws,
  quota_request: quotaRequestLaws,
};

/** Every TableSchema exported by a module of model/ (found, not listed: a new one must get laws). */
async function modelSchemas(): Promise<TableSchema<unknown>[]> {
  const dir = new URL('.', import.meta.url);
  const found = new Map<string, TableSchema<unknown>>();
  for (const f of readdirSync(dir).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))) {
    const mod = (await import(new URL(f, dir).href)) as Record<string, unknown>;
    for (const v of Object.values(mod)) {
      const s = v as Partial<TableSchema<unknown>> | null;
      if (s && typeof s === 'object' && typeof s.merge === 'function' && typeof s.name === 'string' && typeof s.isTombstone === 'function') found.set(s.name, s as TableSchema<unknown>);
    }
  }
  return [...found.values()];
}

test('every model schema has law arbitraries', async () => {
  const names = (await modelSchemas()).map((s) => s.name).sort();
  assert.ok(names.length >= 12, `found ${names.join(', ')}`);
  assert.deepEqual(names, Object.keys(LAWS).sort());
});

for (const name of Object.keys(LAWS)) {
  test(`merge laws: ${name} (commutative, associative, idempotent, tombstones)`, async () => {
    const s = (await modelSchemas()).find((x) => x.name === name);
    assert.ok(s, `no schema named ${name} in model/`);
    checkLaws(s, LAWS[name]!);
  });
}

test('two complete forms of one version with different etags merge to the same one in both orders (issue 14)', () => {
  const base: ObjectVersion = { uuid: 'u1', ts: 5, state: 'complete', nullVersion: true, deleteMarker: false, multipart: true, meta: meta('aaaa-2') };
  const a: ObjectEntry = { bucket: 'b1', key: 'k', versions: [base] };
  const b: ObjectEntry = { bucket: 'b1', key: 'k', versions: [{ ...base, meta: meta('bbbb-2') }] };
  const ab = objectSchema.merge(a, b);
  assert.deepEqual(ab, objectSchema.merge(b, a));
  assert.equal(ab.versions[0]!.meta!.etag, 'bbbb-2');
});

test('multipart Complete racing on two nodes: object and version tables keep the same completion', () => {
  // Node 1 completed with parts 1+2, node 2 with parts 1+3; each wrote the version entry (under
  // the upload id) and the completed object version; replicas get them in any order.
  const blk = (part: number, c: string) => ({ part, offset: 0, hash: hash(c), size: 5 });
  const up: ObjectVersion = { uuid: 'u1', ts: 3, state: 'uploading', nullVersion: true, deleteMarker: false, multipart: true, meta: { size: 0, etag: '', headers: [] } };
  const writes = [
    { etag: 'e12-2', blocks: [blk(1, 'a'), blk(2, 'b')] },
    { etag: 'e13-2', blocks: [blk(1, 'a'), blk(3, 'c')] },
  ].map((w) => ({
    obj: { bucket: 'b1', key: 'k', versions: [{ ...up, state: 'complete' as const, uploaded: undefined, meta: meta(w.etag) }] },
    ver: { uuid: 'u1', deleted: false, blocks: w.blocks, completion: { ts: up.ts, etag: w.etag } },
  }));
  const outcomes = new Set<string>();
  for (const order of [[0, 1], [1, 0]]) {
    const o = objectSchema.merge(writes[order[0]!]!.obj, writes[order[1]!]!.obj);
    const v = versionSchema.merge(writes[order[0]!]!.ver, writes[order[1]!]!.ver);
    const parts = [...new Set(v.blocks.map((x) => x.part))].join('+');
    outcomes.add(`${o.versions[0]!.meta!.etag} ${parts}`);
  }
  // One answer, and the block list is the winning completion's (never a mix of both part lists).
  assert.deepEqual([...outcomes], ['e13-2 1+3']);
});
