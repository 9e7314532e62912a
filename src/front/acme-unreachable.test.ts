// An order with the CA out of reach: acme-client 5.4 hides the network error behind "Cannot read
// properties of undefined (reading 'config')"; the cert state and error must name the real cause.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { webTestEnv } from '../web/test-env.ts';
import { AcmeManager } from './acme.ts';
import { certKeyFromSecret } from './keys.ts';

/** A loopback port nothing listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

test('a certificate order with the ACME directory unreachable says so: URL and ECONNREFUSED', async () => {
  const env = await webTestEnv();
  const url = `https://127.0.0.1:${await closedPort()}/directory`;
  const acme = new AcmeManager(env.store, {
    directoryUrl: url,
    nodeId: 'a'.repeat(64),
    metadataDir: env.dir,
    sealKey: certKeyFromSecret('ab'.repeat(32)),
    autoCertificates: true,
    renewBeforeMs: 30 * 86400_000,
    checkIntervalMs: 3600_000,
  });
  after(async () => {
    await acme.stop();
    await env.close();
  });
  await env.site('net.example.test', {});
  let err: Error | undefined;
  await acme.issue('net.example.test').catch((e: Error) => (err = e));
  assert.equal((err as Error & { code?: string })?.code, 'AcmeFailed', String(err));
  const want = `ACME directory ${url} unreachable: ECONNREFUSED`;
  assert.ok(err!.message.includes(want), err!.message);
  assert.doesNotMatch(err!.message, /Cannot read properties/);
  const stored = env.store.certs.local.get('certificate', 'net.example.test')!.attempt.v!.error!;
  assert.ok(stored.includes(want), stored);
});
