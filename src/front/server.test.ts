// The front in one process over a real Store: ACME challenge answers from the token table,
// SNI certificates from the certificate table, HTTP→HTTPS redirect only for hosts with one,
// X-Forwarded-Proto reaching the web handler, and refusal to order for hosts it does not serve.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request as httpsRequest } from 'node:https';
import { connect, type PeerCertificate } from 'node:tls';
import { parseConfig } from '../config/config.ts';
import { webTestEnv, get, type WebTestEnv } from '../web/test-env.ts';
import { WebHandler } from '../web/server.ts';
import { emptyCertificateEntry } from '../model/certificate.ts';
import { Front } from './server.ts';
import { certKeyFromSecret, sealKey } from './keys.ts';
import { certInfo } from './acme.ts';

const SECRET = 'ab'.repeat(32);
let env: WebTestEnv;
let front: Front;
let scratch: string;

/** A self-signed certificate for host (openssl), as the ACME manager would store it. */
function selfSigned(host: string, days = 30): { certPem: string; keyPem: string } {
  const k = join(scratch, `${host}.key`);
  const c = join(scratch, `${host}.crt`);
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', k, '-out', c, '-days', String(days), '-subj', `/CN=${host}`, '-addext', `subjectAltName=DNS:${host}`], { stdio: 'ignore' });
  return { certPem: readFileSync(c, 'utf8'), keyPem: readFileSync(k, 'utf8') };
}

async function storeCert(host: string): Promise<void> {
  const { certPem, keyPem } = selfSigned(host);
  const i = certInfo(certPem);
  await env.store.certs.insert({
    ...emptyCertificateEntry(host),
    cert: { t: env.store.ts(), v: { certPem, keyEnc: sealKey(certKeyFromSecret(SECRET), host, keyPem), notBefore: i.notBefore, notAfter: i.notAfter, issuer: i.issuer, orderedBy: 'test' } },
  });
}

function peerCert(port: number, servername: string): Promise<PeerCertificate> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port, servername, rejectUnauthorized: false }, () => {
      const c = s.getPeerCertificate();
      s.end();
      resolve(c);
    });
    s.on('error', reject);
    s.setTimeout(5000, () => s.destroy(new Error('TLS timeout')));
  });
}

before(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'grenier-front-'));
  env = await webTestEnv();
  const config = parseConfig(
    `metadata_dir = "${join(env.dir, 'meta')}"\ndata_dir = "${join(env.dir, 'data')}"\nrpc_secret = "${SECRET}"\n` +
      `[s3_web]\nroot_domain = ".web.test"\n[front]\nhttp_bind_addr = "127.0.0.1:0"\nhttps_bind_addr = "127.0.0.1:0"\n` +
      `acme_directory = "https://127.0.0.1:9/directory"\nauto_certificates = false\n`,
  );
  const web = new WebHandler(env.store, { rootDomain: '.web.test', index: 'index.html' });
  front = new Front({ store: env.store, config, nodeId: 'f'.repeat(64), web: web.handle, s3: (_q, r) => r.end('s3') });
  await front.start();
  const b = await env.site('site.example.test', { indexDocument: 'index.html' });
  await env.put(b, 'index.html', '<h1>site</h1>', { 'content-type': 'text/html' });
  await env.put(b, 'dir/index.html', 'dir', { 'content-type': 'text/html' });
  await env.site('plain.example.test', {});
});

after(async () => {
  await front.stop();
  await env.close();
  rmSync(scratch, { recursive: true, force: true });
});

test('ACME challenge: answered from the token table, 404 otherwise', async () => {
  const token = 'tok_' + 'A'.repeat(40);
  await env.store.acmeTokens.insert({ token, host: 'site.example.test', keyAuth: { t: env.store.ts(), v: `${token}.thumb` }, expires: Date.now() + 60_000 });
  const r = await get(front.httpPort, 'whatever.example', `/.well-known/acme-challenge/${token}`);
  assert.equal(r.status, 200);
  assert.equal(r.text, `${token}.thumb`);
  assert.equal((await get(front.httpPort, 'x', '/.well-known/acme-challenge/' + 'B'.repeat(40))).status, 404);
  assert.equal((await get(front.httpPort, 'x', '/.well-known/acme-challenge/../../etc')).status, 404);
  // Removed (the order finished): no longer answered.
  await env.store.acmeTokens.insert({ token, host: 'site.example.test', keyAuth: { t: env.store.ts(), v: null }, expires: 0 });
  assert.equal((await get(front.httpPort, 'x', `/.well-known/acme-challenge/${token}`)).status, 404);
});

test('HTTP serves a site without certificate; redirects (308) once it has one; HTTPS picks it by SNI', async () => {
  let r = await get(front.httpPort, 'site.example.test', '/');
  assert.equal(r.status, 200);
  assert.equal(r.text, '<h1>site</h1>');
  await assert.rejects(peerCert(front.httpsPort, 'site.example.test'), 'no certificate yet: the handshake fails');

  await storeCert('site.example.test');
  r = await get(front.httpPort, 'site.example.test', '/a/b?c=d', {}, 'POST');
  assert.equal(r.status, 308);
  assert.equal(r.headers.location, `https://site.example.test:${front.httpsPort}/a/b?c=d`);
  // Another host keeps plain HTTP.
  assert.equal((await get(front.httpPort, 'plain.example.test', '/')).status, 404);

  const c = await peerCert(front.httpsPort, 'site.example.test');
  assert.equal(c.subject.CN, 'site.example.test');
  await assert.rejects(peerCert(front.httpsPort, 'plain.example.test'), 'never another host’s certificate');

  // Over HTTPS the web handler sees X-Forwarded-Proto: https, so its redirects stay on https.
  const res = await new Promise<{ status: number; location?: string; body: string }>((resolve, reject) => {
    const q = httpsRequest({ host: '127.0.0.1', port: front.httpsPort, servername: 'site.example.test', path: '/dir', headers: { host: 'site.example.test', 'x-forwarded-proto': 'http' }, rejectUnauthorized: false, agent: false }, (s) => {
      let body = '';
      s.on('data', (d: Buffer) => (body += d));
      s.on('end', () => resolve({ status: s.statusCode!, location: s.headers.location, body }));
    });
    q.on('error', reject);
    q.end();
  });
  assert.equal(res.status, 302);
  assert.equal(res.location, '/dir/');
});

test('a replaced certificate is served without restart', async () => {
  const before = await peerCert(front.httpsPort, 'site.example.test');
  await storeCert('site.example.test');
  const after = await peerCert(front.httpsPort, 'site.example.test');
  assert.notEqual(after.fingerprint256, before.fingerprint256);
});

test('certificate orders are refused for hosts the cluster does not serve', async () => {
  await assert.rejects(front.issue('evil.example.org'), /refusing to order a certificate: "evil.example.org" is neither a website/);
  await assert.rejects(front.issue('localhost'), /not a fully qualified host name/);
  await assert.rejects(front.issue('10.0.0.1'), /IP address/);
  assert.equal(front.acme.eligibility('site.example.test').ok, true);
  assert.equal(front.acme.eligibility('plain.example.test').ok, true);
  // <bucket>.<root_domain> is a site too.
  assert.equal(front.acme.eligibility('site.example.test.web.test').ok, true);
  // A bucket without website access is not.
  await env.site('nosite.example.test', null);
  assert.equal(front.acme.eligibility('nosite.example.test').ok, false);
  // A route makes a host eligible.
  await env.store.routes.insert({ host: 'app.example.test', path: '/', created: 1, target: { t: env.store.ts(), v: { kind: 's3' } } });
  assert.equal(front.acme.eligibility('app.example.test').ok, true);
  assert.equal(front.acme.eligibility('APP.example.test.').ok, true);
  assert.equal(front.acme.eligibility('x.app.example.test').ok, false);
});

test('renewal worker: due hosts and status', async () => {
  const now = Date.now();
  // The self-signed certificate has 30 days: under renew_before_days (30) it is due.
  const due = front.acme.dueHosts(now);
  assert.ok(due.includes('site.example.test'), JSON.stringify(due));
  assert.ok(!due.includes('plain.example.test'), 'auto_certificates = false: no order without a request');
  assert.deepEqual(front.acme.dueHosts(now - 10 * 86400_000).includes('site.example.test'), false, 'not due 10 days earlier');
  const s = front.status();
  assert.equal(s.acme.worker.name, 'acme-renewal');
  assert.ok(s.certificates.some((c) => c.host === 'site.example.test' && c.daysLeft !== null));
});
