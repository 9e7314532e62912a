// Redirect rules in isolation: AWS RoutingRules semantics and RedirectAllRequestsTo.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { redirectAll, routingRedirect } from './routing.ts';
import type { WebsiteConfig } from '../model/bucket.ts';

const origin = { host: 'site.example:8080', protocol: 'http' };

test('redirectAll keeps path and query and defaults the protocol to the request one', () => {
  assert.equal(redirectAll({}, '/x', origin), undefined);
  assert.deepEqual(redirectAll({ redirectAllRequestsTo: { hostName: 'n.example' } }, '/a?b', origin), { status: 301, location: 'http://n.example/a?b' });
  assert.equal(redirectAll({ redirectAllRequestsTo: { hostName: 'n.example', protocol: 'HTTPS' } }, '/', origin)!.location, 'https://n.example/');
});

test('routing rules: order, conditions, replacements, codes', () => {
  const w: WebsiteConfig = {
    routingRules: [
      { condition: { keyPrefixEquals: 'a/', httpErrorCodeReturnedEquals: '404' }, redirect: { replaceKeyPrefixWith: 'missing-a/' } },
      { condition: { keyPrefixEquals: 'a/' }, redirect: { replaceKeyPrefixWith: 'b/', httpRedirectCode: '307' } },
      { condition: { keyPrefixEquals: 'x' }, redirect: { replaceKeyWith: 'y.html', protocol: 'https', hostName: 'h.example' } },
      { condition: { httpErrorCodeReturnedEquals: '404' }, redirect: { replaceKeyWith: '', hostName: 'fallback.example' } },
      { condition: { keyPrefixEquals: 'bad' }, redirect: { httpRedirectCode: '200' } },
    ],
  };
  assert.deepEqual(routingRedirect(w, 'a/p q.html', undefined, origin), { status: 307, location: 'http://site.example:8080/b/p%20q.html' });
  assert.deepEqual(routingRedirect(w, 'a/p', 404, origin), { status: 301, location: 'http://site.example:8080/missing-a/p' });
  assert.deepEqual(routingRedirect(w, 'xyz', undefined, origin), { status: 301, location: 'https://h.example/y.html' });
  assert.equal(routingRedirect(w, 'other', undefined, origin), undefined, 'error-code rules wait for the error');
  assert.deepEqual(routingRedirect(w, 'other', 404, origin), { status: 301, location: 'http://fallback.example/' });
  assert.equal(routingRedirect(w, 'other', 403, origin), undefined);
  assert.equal(routingRedirect(w, 'bad', undefined, origin)!.status, 301, 'a non-3xx code falls back to 301');
  assert.deepEqual(routingRedirect({ routingRules: [{ redirect: { replaceKeyPrefixWith: 'v2/' } }] }, 'k', undefined, origin), { status: 301, location: 'http://site.example:8080/v2/k' }, 'no condition: every request');
});
