// Login rate limit: failed admin tokens and owner signatures per client address; past the limit a
// 429 with Retry-After, even for the right token, until the minute ends; bounded memory.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sha256Hex } from '../../../util/hash.ts';
import { authHeaders } from '../../../cli/site-client.ts';
import { ADMIN_TOKEN, startTestAdmin } from '../testkit.ts';
import { addressKey, LoginLimiter } from './login-limit.ts';

test('over the admin API: 3 failed logins, then 429 with Retry-After for tokens and signatures alike', async () => {
  const t = await startTestAdmin({}, '[limits]\nlogin_failures_per_minute_max = 3');
  try {
    const as = (token: string) => fetch(`${t.url}/v2/ListKeys`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal((await as(ADMIN_TOKEN)).status, 200);
    for (let i = 0; i < 2; i++) assert.equal((await as('guess-' + i)).status, 403);
    // An owner signature that does not verify counts too (a guessed secret).
    const target = '/v2/ListSites';
    const h = authHeaders({ kind: 'owner', keyId: 'GK' + '0'.repeat(24), secret: 'x'.repeat(64) }, 'GET', target, sha256Hex(''), 'a'.repeat(64));
    const sig = await fetch(t.url + target, { headers: h });
    assert.equal(sig.status, 403);
    // A missing header is no guess: not counted; the 4th request is refused, right token or not.
    assert.equal((await fetch(`${t.url}/v2/ListKeys`)).status, 401);
    for (const token of ['guess-3', ADMIN_TOKEN]) {
      const r = await as(token);
      assert.equal(r.status, 429, token);
      const retry = Number(r.headers.get('retry-after'));
      assert.ok(retry >= 1 && retry <= 60, `Retry-After ${retry}`);
      const body = (await r.json()) as { code: string; message: string };
      assert.equal(body.code, 'TooManyRequests');
      assert.match(body.message, /too many failed logins.*try again in \d+ s/);
    }
    const sites = await fetch(t.url + target, { headers: authHeaders({ kind: 'owner', keyId: 'GK' + '0'.repeat(24), secret: 'y'.repeat(64) }, 'GET', target, sha256Hex(''), 'a'.repeat(64)) });
    assert.equal(sites.status, 429, 'owner endpoints too');
    assert.equal((await fetch(`${t.url}/health`)).status, 200, 'health checks are not logins');
    const metrics = await (await fetch(`${t.url}/metrics`, { headers: { authorization: 'Bearer test-metrics-token' } })).status;
    assert.equal(metrics, 429);
  } finally {
    await t.close();
  }
});

test('the limiter: a window per address (IPv6 per /64), over after a minute, at most ipsMax addresses', () => {
  const l = new LoginLimiter(2, 60_000, 100);
  l.fail('192.0.2.1', 0);
  assert.equal(l.blocked('192.0.2.1', 1), undefined);
  l.fail('192.0.2.1', 1000);
  assert.equal(l.blocked('192.0.2.1', 1000), 59);
  assert.equal(l.blocked('192.0.2.2', 1000), undefined, 'another address is not blocked');
  assert.equal(l.blocked('192.0.2.1', 60_000), undefined, 'the window ends');
  l.fail('2001:db8:1:2::1', 0);
  l.fail('2001:db8:1:2:ffff::9', 0);
  assert.ok(l.blocked('2001:0db8:0001:0002:0:0:0:5', 10) !== undefined, 'the same /64');
  assert.equal(l.blocked('2001:db8:1:3::1', 10), undefined);
  assert.equal(addressKey('::1'), '0:0:0:0::/64');
  for (let i = 0; i < 10_000; i++) l.fail(`10.0.${i >> 8}.${i & 255}`, 5);
  assert.ok(l.size <= 100, `${l.size} addresses kept`);
});
