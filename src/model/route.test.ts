// Route, certificate and challenge-token entries: input parsing and CRDT merges that converge.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { normalizePath, parseHost, parsePathPrefix, parseUpstream, pathMatches, routeSchema, type Route } from './route.ts';
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

test('request paths: one normal form for routing and upstreams; ambiguous ones refused', () => {
  for (const [raw, want] of [
    ['/', '/'],
    ['/api/x', '/api/x'],
    ['//api', '/api'],
    ['/./api', '/api'],
    ['/%61pi', '/api'],
    ['/api/../admin/x', '/admin/x'],
    ['/api/%2e%2e/admin', '/admin'],
    ['/api/%2E./admin', '/admin'],
    ['/api/x/..', '/api/'],
    ['/api/.', '/api/'],
    ['/a//b///c/', '/a/b/c/'],
    ['/a%7e%2d', '/a~-'],
    ['/a%2bb%c3%a9', '/a%2Bb%C3%A9'],
    ['/%252e%252e/x', '/%252e%252e/x'],
    ['/API', '/API'],
  ])
    assert.deepEqual(normalizePath(raw!), { path: want }, raw);
  for (const bad of ['api', '/..', '/a/../..', '/api/..%2fadmin', '/a%2F', '/a%5c', '/a\\b', '/a%00', '/a\0', '/a%zz', '/a%4', '/a#b', '*'])
    assert.ok('error' in normalizePath(bad), bad);
  // "/api" is a boundary: nothing that normalises outside it matches it.
  assert.ok(!pathMatches('/api', (normalizePath('/api/../admin') as { path: string }).path));
  assert.ok(pathMatches('/api', (normalizePath('//%61pi/x') as { path: string }).path));
  assert.ok(!pathMatches('/api', (normalizePath('/API/x') as { path: string }).path), 'paths are case-sensitive');
});

test('property: the normal form is stable, has no dot segment, empty segment or unreserved escape', () => {
  const seg = fc.constantFrom('a', 'api', '.', '..', '', '%2e', '%2E%2e', '%61', '%41', '%20', '%25', '~', 'x y', '%2f', '%5C', 'é');
  fc.assert(
    fc.property(fc.array(seg, { maxLength: 8 }), (segs) => {
      const raw = '/' + segs.join('/');
      const n = normalizePath(raw);
      if ('error' in n) return;
      assert.deepEqual(normalizePath(n.path), n, `${raw} → ${n.path} is not stable`);
      const inner = n.path.slice(1).split('/').slice(0, -1);
      assert.ok(!inner.some((s) => s === '' || s === '.' || s === '..'), `${raw} → ${n.path}`);
      assert.ok(!/%(2E|61|41)/i.test(n.path), `${raw} → ${n.path} keeps an unreserved escape`);
    }),
    { numRuns: 2000 },
  );
});
