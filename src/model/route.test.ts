// Route, certificate and challenge-token entries: input parsing and CRDT merges that converge.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseHost, parsePathPrefix, parseUpstream, pathMatches, routeSchema, type Route } from './route.ts';
import { certificateSchema, emptyCertificateEntry } from './certificate.ts';
import { acmeTokenSchema } from './acme-token.ts';

test('host, path prefix and upstream parsing', () => {
  assert.deepEqual(parseHost('Chat.Example.ORG.'), { host: 'chat.example.org' });
  for (const bad of ['localhost', '', 'a..b', '-a.example', 'a_b.example', '10.0.0.1', 'x.example.org:80', '*.example.org']) assert.ok('error' in parseHost(bad), bad);
  assert.deepEqual(parsePathPrefix(undefined), { path: '/' });
  assert.deepEqual(parsePathPrefix('/api/'), { path: '/api' });
  for (const bad of ['api', '/a/../b', '/a?x', '/a%2f']) assert.ok('error' in parsePathPrefix(bad), bad);
  assert.deepEqual(parseUpstream('http://10.1.0.5:8008/'), { url: 'http://10.1.0.5:8008' });
  assert.deepEqual(parseUpstream('https://[::1]:8443'), { url: 'https://[::1]:8443' });
  for (const bad of ['10.0.0.1:80', 'ftp://x', 'http://u:p@x', 'http://x/base', 'http://x/?q']) assert.ok('error' in parseUpstream(bad), bad);
  assert.ok(pathMatches('/', '/anything'));
  assert.ok(pathMatches('/api', '/api'));
  assert.ok(pathMatches('/api', '/api/x'));
  assert.ok(!pathMatches('/api', '/apix'));
});

test('merges are commutative, associative and idempotent', () => {
  const r = (t: number, v: Route['target']['v'], created = 5): Route => ({ host: 'h.example', path: '/', created, target: { t, v } });
  const rs = [r(1, { kind: 's3' }, 9), r(3, null), r(2, { kind: 'upstream', upstreams: ['http://a'] }, 4)];
  const c = emptyCertificateEntry('h.example');
  const cs = [
    { ...c, lease: { t: 2, v: { holder: 'n1', until: 10 } } },
    { ...c, lease: { t: 3, v: null }, requested: { t: 1, v: 7 } },
    { ...c, cert: { t: 4, v: { certPem: 'x', keyEnc: Buffer.from([1]), notBefore: 0, notAfter: 1, issuer: 'i', orderedBy: 'n' } } },
  ];
  const ts = [
    { token: 't'.repeat(20), host: 'a.example', keyAuth: { t: 1, v: 'k' }, expires: 5 },
    { token: 't'.repeat(20), host: 'a.example', keyAuth: { t: 2, v: null }, expires: 3 },
    { token: 't'.repeat(20), host: 'a.example', keyAuth: { t: 2, v: 'z' }, expires: 9 },
  ];
  for (const [schema, xs] of [[routeSchema, rs], [certificateSchema, cs], [acmeTokenSchema, ts]] as const) {
    const m = schema.merge as (a: unknown, b: unknown) => unknown;
    const [a, b, d] = xs;
    assert.deepEqual(m(a, b), m(b, a), `${schema.name} commutative`);
    assert.deepEqual(m(m(a, b), d), m(a, m(b, d)), `${schema.name} associative`);
    assert.deepEqual(m(a, a), a, `${schema.name} idempotent`);
  }
  const merged = routeSchema.merge(routeSchema.merge(rs[0]!, rs[1]!), rs[2]!);
  assert.equal(merged.target.v, null, 'the delete (latest) wins');
  assert.equal(merged.created, 4);
  assert.ok(routeSchema.isTombstone(merged));
});
