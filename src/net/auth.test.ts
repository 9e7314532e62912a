// Tests of the cluster-secret PSK and of session-bound hello signatures on real TLS pairs.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as tls from 'node:tls';
import { clientTlsOptions, derivePsk, idFromPrivateKey, publicKeyFromId, serverTlsOptions, signHello, verifyHello } from './auth.ts';
import { newKey, newSecret } from './testkit.ts';

/** One TLS session on loopback; returns both ends once the handshake is done. */
async function pair(serverSecret: string, clientSecret = serverSecret): Promise<{ c: tls.TLSSocket; s: tls.TLSSocket; close: () => void }> {
  let sEnd: tls.TLSSocket | undefined;
  const server = tls.createServer(serverTlsOptions(derivePsk(serverSecret)), (s) => (sEnd = s));
  server.on('tlsClientError', () => {});
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  try {
    const c = await new Promise<tls.TLSSocket>((resolve, reject) => {
      const c = tls.connect({ ...clientTlsOptions(derivePsk(clientSecret)), host: '127.0.0.1', port }, () => resolve(c));
      c.once('error', reject);
      setTimeout(() => reject(new Error('handshake took too long')), 3000).unref();
    });
    const end = Date.now() + 3000;
    while (!sEnd && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
    assert.ok(sEnd, 'server end of the session');
    return {
      c,
      s: sEnd,
      close: () => {
        c.destroy();
        sEnd?.destroy();
        server.close();
      },
    };
  } catch (e) {
    server.close();
    throw e;
  }
}

describe('net/auth', () => {
  it('derives a 32-byte PSK and refuses malformed secrets', () => {
    const s = newSecret();
    assert.equal(derivePsk(s).length, 32);
    assert.deepEqual(derivePsk(s), derivePsk(s.toUpperCase()));
    assert.notDeepEqual(derivePsk(s), derivePsk(newSecret()));
    assert.throws(() => derivePsk('abcd'));
    assert.throws(() => derivePsk('z'.repeat(64)));
  });

  it('node ids round-trip to public keys', () => {
    const k = newKey();
    assert.match(k.id, /^[0-9a-f]{64}$/);
    assert.equal(idFromPrivateKey(k.key), k.id);
    assert.equal(publicKeyFromId(k.id).asymmetricKeyType, 'ed25519');
    assert.throws(() => publicKeyFromId('00'));
  });

  it('TLS 1.3 with only a PSK: same secret connects, another secret does not', async () => {
    const secret = newSecret();
    const p = await pair(secret);
    try {
      assert.equal(p.c.getProtocol(), 'TLSv1.3');
      assert.equal(p.c.getPeerCertificate()?.raw, undefined, 'no certificate involved');
    } finally {
      p.close();
    }
    await assert.rejects(pair(secret, newSecret()));
  });

  it('a hello signature is bound to its session, its role and its key', async () => {
    const k = newKey();
    const other = newKey();
    const p1 = await pair(newSecret());
    const secret = newSecret();
    const p2 = await pair(secret);
    try {
      const sig = signHello(p1.c, 'client', k.key);
      assert.ok(verifyHello(p1.s, 'client', k.id, sig), 'server end verifies the client signature');
      assert.ok(!verifyHello(p1.s, 'server', k.id, sig), 'wrong role');
      assert.ok(!verifyHello(p1.s, 'client', other.id, sig), 'wrong claimed id');
      assert.ok(!verifyHello(p2.s, 'client', k.id, sig), 'replayed on another session');
      assert.ok(!verifyHello(p1.s, 'client', 'f'.repeat(63), sig), 'malformed id');
      assert.ok(!verifyHello(p1.s, 'client', k.id, Buffer.alloc(3)), 'malformed signature');
    } finally {
      p1.close();
      p2.close();
    }
  });
});
