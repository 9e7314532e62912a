// Tests for CORS rule matching, preflight answers and headers on actual requests.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { applyCors, matchRule, preflight, requestedHeaders, wildcardMatch } from './cors.ts';
import { newBucket, type Bucket, type CorsRule } from '../../model/bucket.ts';
import { S3Error } from './errors.ts';
import { FakeRes } from './ops/test-ctx.ts';

const rules: CorsRule[] = [
  { id: 'site', allowedOrigins: ['https://*.example.org'], allowedMethods: ['GET', 'PUT'], allowedHeaders: ['x-amz-*', 'content-type'], exposeHeaders: ['ETag'], maxAgeSeconds: 600 },
  { allowedOrigins: ['*'], allowedMethods: ['GET', 'HEAD'], allowedHeaders: [], exposeHeaders: [] },
];

function bucket(r: CorsRule[] | null): Bucket {
  const b = newBucket('b1', 1);
  b.cors = { t: 2, v: r };
  return b;
}

function req(method: string, headers: Record<string, string>): IncomingMessage {
  return { method, headers } as unknown as IncomingMessage;
}

function callPreflight(headers: Record<string, string>, b: Bucket | undefined): FakeRes {
  const res = new FakeRes();
  preflight(req('OPTIONS', headers), res as unknown as ServerResponse, b);
  return res;
}

test('wildcards match anywhere, and only where written', () => {
  assert.ok(wildcardMatch('https://*.example.org', 'https://www.example.org'));
  assert.ok(wildcardMatch('https://*.example.org', 'https://a.b.example.org'));
  assert.ok(!wildcardMatch('https://*.example.org', 'https://example.org'));
  assert.ok(!wildcardMatch('https://*.example.org', 'https://evilexample.org'), 'the dot is literal');
  assert.ok(!wildcardMatch('https://*.example.org', 'https://x.example.org.evil.com'));
  assert.ok(wildcardMatch('http://localhost:*', 'http://localhost:8080'));
  assert.ok(wildcardMatch('*.example.org', 'http://x.example.org'));
  assert.ok(wildcardMatch('x-amz-*', 'X-Amz-Date', true));
  assert.ok(!wildcardMatch('x-amz-*', 'X-Amz-Date'));
  assert.ok(wildcardMatch('*', ''));
});

test('matchRule needs origin, method and every requested header to be allowed', () => {
  assert.equal(matchRule(rules, 'https://www.example.org', 'PUT', ['x-amz-date', 'content-type'])?.id, 'site');
  assert.equal(matchRule(rules, 'https://www.example.org', 'PUT', ['x-amz-date', 'authorization']), undefined);
  assert.equal(matchRule(rules, 'https://elsewhere.net', 'PUT'), undefined);
  // First match wins: the specific rule comes first for GET from the site.
  assert.equal(matchRule(rules, 'https://www.example.org', 'GET')?.id, 'site');
  assert.equal(matchRule(rules, 'https://elsewhere.net', 'GET'), rules[1]);
  assert.equal(matchRule(rules, 'https://elsewhere.net', 'GET', ['x-custom']), undefined);
  assert.equal(matchRule(rules, 'https://www.example.org', 'DELETE'), undefined);
  assert.deepEqual(requestedHeaders(' X-Amz-Date ,Content-Type,,'), ['x-amz-date', 'content-type']);
});

test('preflight answers a matching request with the rule’s headers', () => {
  const res = callPreflight(
    { origin: 'https://app.example.org', 'access-control-request-method': 'PUT', 'access-control-request-headers': 'Content-Type, X-Amz-Date' },
    bucket(rules),
  );
  assert.equal(res.status, 200);
  assert.equal(res.header('access-control-allow-origin'), 'https://app.example.org');
  assert.equal(res.header('access-control-allow-methods'), 'GET, PUT');
  assert.equal(res.header('access-control-allow-headers'), 'content-type, x-amz-date');
  assert.equal(res.header('access-control-max-age'), '600');
  assert.equal(res.header('access-control-expose-headers'), 'ETag');
  assert.equal(res.header('access-control-allow-credentials'), 'true');
  assert.match(res.header('vary')!, /Origin/);
  assert.ok(res.ended);
  const any = callPreflight({ origin: 'https://x.net', 'access-control-request-method': 'HEAD' }, bucket(rules));
  assert.equal(any.header('access-control-allow-origin'), '*');
  assert.equal(any.header('access-control-allow-credentials'), undefined);
  assert.equal(any.header('access-control-max-age'), undefined);
});

test('preflight refusals are S3 errors with the right status', () => {
  const code = (headers: Record<string, string>, b: Bucket | undefined) => {
    try {
      callPreflight(headers, b);
    } catch (e) {
      assert.ok(e instanceof S3Error);
      return `${e.status} ${e.code}`;
    }
    return 'answered';
  };
  assert.equal(code({ 'access-control-request-method': 'GET' }, bucket(rules)), '400 BadRequest');
  assert.equal(code({ origin: 'https://a.example.org' }, bucket(rules)), '400 BadRequest');
  assert.equal(code({ origin: 'https://a.example.org', 'access-control-request-method': 'GET' }, bucket(null)), '403 AccessForbidden');
  assert.equal(code({ origin: 'https://a.example.org', 'access-control-request-method': 'GET' }, undefined), '403 AccessForbidden');
  assert.equal(code({ origin: 'https://a.example.org', 'access-control-request-method': 'DELETE' }, bucket(rules)), '403 AccessForbidden');
  assert.equal(code({ origin: 'https://a.example.org', 'access-control-request-method': 'PUT', 'access-control-request-headers': 'x-other' }, bucket(rules)), '403 AccessForbidden');
  assert.equal(code({ origin: 'https://a.example.org', 'access-control-request-method': 'PUT' }, bucket(rules)), 'answered');
});

test('applyCors sets headers only when a rule allows the origin and method', () => {
  const run = (method: string, headers: Record<string, string>, b: Bucket | undefined) => {
    const res = new FakeRes();
    applyCors(req(method, headers), res as unknown as ServerResponse, b);
    return res;
  };
  const ok = run('PUT', { origin: 'https://app.example.org' }, bucket(rules));
  assert.equal(ok.header('access-control-allow-origin'), 'https://app.example.org');
  assert.equal(ok.header('access-control-expose-headers'), 'ETag');
  assert.match(ok.header('vary')!, /Origin/);
  const star = run('GET', { origin: 'https://x.net' }, bucket(rules));
  assert.equal(star.header('access-control-allow-origin'), '*');
  const no = run('PUT', { origin: 'https://x.net' }, bucket(rules));
  assert.equal(no.header('access-control-allow-origin'), undefined);
  assert.match(no.header('vary')!, /Origin/, 'the answer still varies by Origin');
  assert.deepEqual(run('GET', { origin: 'https://x.net' }, bucket(null)).headers, {});
  assert.deepEqual(run('GET', {}, undefined).headers, {});
});
