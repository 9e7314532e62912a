// The ordering lease and retry back-off of the ACME manager (no CA needed: the lease is
// decided before any ACME traffic, and an unreachable directory makes orders fail fast).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { webTestEnv, type WebTestEnv } from '../web/test-env.ts';
import { emptyCertificateEntry } from '../model/certificate.ts';
import { AcmeManager, backoffMs } from './acme.ts';
import { certKeyFromSecret } from './keys.ts';

let env: WebTestEnv;
let acme: AcmeManager;
const ME = 'a'.repeat(64);
const OTHER = 'b'.repeat(64);

before(async () => {
  env = await webTestEnv();
  acme = new AcmeManager(env.store, {
    directoryUrl: 'https://127.0.0.1:9/directory',
    nodeId: ME,
    metadataDir: env.dir,
    sealKey: certKeyFromSecret('ab'.repeat(32)),
    autoCertificates: true,
    renewBeforeMs: 30 * 86400_000,
    checkIntervalMs: 3600_000,
  });
  await env.site('lease.example.test', {});
  await env.site('other.example.test', {});
});

after(async () => {
  await acme.stop();
  await env.close();
});

test('another node’s live lease: Busy, nothing ordered, not due for the worker', async () => {
  const until = Date.now() + 60_000;
  await env.store.certs.insert({ ...emptyCertificateEntry('lease.example.test'), lease: { t: env.store.ts(), v: { holder: OTHER, until } } });
  await assert.rejects(acme.issue('lease.example.test'), (e: Error & { code?: string }) => e.code === 'Busy' && /already ordering/.test(e.message));
  assert.equal(env.store.certs.local.get('certificate', 'lease.example.test')!.lease.v!.holder, OTHER, 'the lease is left alone');
  assert.ok(!acme.dueHosts().includes('lease.example.test'));
  assert.ok(acme.dueHosts().includes('other.example.test'), 'auto certificates: a domain-name site without one is due');
});

test('an expired lease is taken over; a failed order releases it and backs off', async () => {
  await env.store.certs.insert({ ...emptyCertificateEntry('lease.example.test'), lease: { t: env.store.ts(), v: { holder: OTHER, until: Date.now() - 1 } } });
  await assert.rejects(acme.issue('lease.example.test'), (e: Error & { code?: string }) => e.code === 'AcmeFailed');
  const e = env.store.certs.local.get('certificate', 'lease.example.test')!;
  assert.equal(e.lease.v, null);
  assert.equal(e.attempt.v!.failures, 1);
  assert.ok(!acme.dueHosts().includes('lease.example.test'), 'in back-off after a failure');
  assert.ok(acme.dueHosts(Date.now() + backoffMs(1) + 1000).includes('lease.example.test'), 'due again after the back-off');
  // An operator's request overrides the back-off.
  await env.store.certs.insert({ ...emptyCertificateEntry('lease.example.test'), requested: { t: env.store.ts(), v: Date.now() + 5 } });
  assert.ok(acme.dueHosts(Date.now() + 10).includes('lease.example.test'));
});

test('back-off doubles from 10 minutes up to a day', () => {
  assert.equal(backoffMs(0), 0);
  assert.equal(backoffMs(1), 600_000);
  assert.equal(backoffMs(2), 1_200_000);
  assert.equal(backoffMs(30), 86_400_000);
});

test('orders per hour are capped (front.cert_orders_per_hour_max): over it nothing reaches the CA, no back-off, the pass leaves the rest', async () => {
  // Two hours ahead: the orders of the tests above are out of the window.
  let now = Date.now() + 2 * 3600_000;
  const clock = { now: () => now, sleep: async () => {} };
  const limited = new AcmeManager(env.store, {
    directoryUrl: 'https://127.0.0.1:9/directory',
    nodeId: ME,
    metadataDir: env.dir,
    sealKey: certKeyFromSecret('ab'.repeat(32)),
    autoCertificates: true,
    renewBeforeMs: 30 * 86400_000,
    checkIntervalMs: 3600_000,
    ordersPerHourMax: 2,
    leaseSettleMs: 0,
    clock,
  });
  try {
    for (const h of ['rate1.example.test', 'rate2.example.test', 'rate3.example.test']) await env.site(h, {});
    // Two orders reach the (unreachable) CA and fail there.
    for (const h of ['rate1.example.test', 'rate2.example.test']) await assert.rejects(limited.issue(h), (e: Error & { code?: string }) => e.code === 'AcmeFailed');
    await assert.rejects(limited.issue('rate3.example.test'), (e: Error & { code?: string }) => e.code === 'RateLimited' && /cert_orders_per_hour_max/.test(e.message));
    const e3 = env.store.certs.local.get('certificate', 'rate3.example.test');
    assert.equal(e3?.attempt.v ?? null, null, 'a refused order is not a failed attempt (no back-off)');
    assert.equal(e3?.lease.v ?? null, null);
    // The worker's pass: rate3 is due but waits; the pass is not a failure.
    assert.ok(limited.dueHosts().includes('rate3.example.test'));
    const r = await limited.pass();
    assert.match(r.progress, /0 ordered, 0 failed/);
    assert.match(r.progress, /hourly order limit/);
    assert.ok(r.queue >= 1);
    assert.equal(env.store.certs.local.get('certificate', 'rate3.example.test')?.attempt.v ?? null, null);
    // An hour later the budget is back and the order reaches the CA again.
    now += 3600_000 + 1;
    assert.equal(limited.ordersLeft(), 2);
    await assert.rejects(limited.issue('rate3.example.test'), (e: Error & { code?: string }) => e.code === 'AcmeFailed');
    assert.equal(limited.ordersLeft(), 1);
  } finally {
    await limited.stop();
  }
});

test('the hourly order limit is the cluster’s: orders another node recorded in the replicated table count', async () => {
  const now = Date.now() + 5 * 3600_000;
  const clock = { now: () => now, sleep: async () => {} };
  const mine = new AcmeManager(env.store, {
    directoryUrl: 'https://127.0.0.1:9/directory',
    nodeId: ME,
    metadataDir: env.dir,
    sealKey: certKeyFromSecret('ab'.repeat(32)),
    autoCertificates: true,
    renewBeforeMs: 30 * 86400_000,
    checkIntervalMs: 3600_000,
    ordersPerHourMax: 2,
    leaseSettleMs: 0,
    clock,
  });
  try {
    for (const h of ['peer1.example.test', 'peer2.example.test', 'peer3.example.test']) await env.site(h, {});
    assert.equal(mine.ordersLeft(), 2);
    // Another front node ordered one certificate 10 minutes ago and is ordering another now.
    await env.store.certs.insert({ ...emptyCertificateEntry('peer1.example.test'), attempt: { t: env.store.ts(), v: { at: now - 600_000, failures: 1, error: 'x' } } });
    await env.store.certs.insert({ ...emptyCertificateEntry('peer2.example.test'), lease: { t: env.store.ts(), v: { holder: OTHER, until: now + 600_000 } } });
    assert.equal(mine.ordersLeft(), 0);
    await assert.rejects(mine.issue('peer3.example.test'), (e: Error & { code?: string }) => e.code === 'RateLimited' && /the cluster started 2 orders/.test(e.message));
    assert.equal(env.store.certs.local.get('certificate', 'peer3.example.test')?.attempt.v ?? null, null, 'nothing reached the CA');
  } finally {
    await mine.stop();
  }
});
