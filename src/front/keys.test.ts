// Sealed certificate keys open only with the same secret, for the same host, unaltered.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { certKeyFromSecret, openKey, sealKey } from './keys.ts';

const A = certKeyFromSecret('ab'.repeat(32));
const B = certKeyFromSecret('cd'.repeat(32));
const PEM = '-----BEGIN PRIVATE KEY-----\nMIGH\n-----END PRIVATE KEY-----\n';

test('seal/open round trip; the sealed form does not contain the key', () => {
  const s = sealKey(A, 'example.org', PEM);
  assert.equal(openKey(A, 'example.org', s), PEM);
  assert.ok(!s.toString('latin1').includes('PRIVATE KEY'));
  assert.notDeepEqual(sealKey(A, 'example.org', PEM), s, 'fresh IV each time');
});

test('another secret, another host or a flipped bit cannot open it', () => {
  const s = sealKey(A, 'example.org', PEM);
  assert.throws(() => openKey(B, 'example.org', s));
  assert.throws(() => openKey(A, 'evil.example', s));
  const t = Buffer.from(s);
  t[t.length - 1]! ^= 1;
  assert.throws(() => openKey(A, 'example.org', t));
  assert.throws(() => openKey(A, 'example.org', Buffer.alloc(5)));
});

test('the derived key depends on the secret and is 32 bytes', () => {
  assert.equal(A.length, 32);
  assert.notDeepEqual(A, B);
  assert.deepEqual(certKeyFromSecret('ab'.repeat(32)), A);
});
