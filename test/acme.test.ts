// ACME end to end against Debian's pebble: a site's certificate is ordered by the renewal worker
// on its own (auto_certificates) and another by `grenier cert issue`, pebble validating HTTP-01
// through the front's HTTP port (names resolved by a tiny DNS responder answering 127.0.0.1);
// then the front serves each certificate by SNI, verified against pebble's root, and
// redirects HTTP to HTTPS for those hosts.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request as httpsRequest } from 'node:https';
import { request as httpRequest } from 'node:http';
import { connect, type PeerCertificate } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { PutBucketWebsiteCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { startNode, freePort, run, s3Client, cleanEnv, REPO_ROOT, describeRun, which, type TestNode } from './lib/node.ts';

const PEBBLE = which('pebble');
const skip = PEBBLE ? false : 'pebble is not installed (apt-get install pebble; .ci/run installs it)';

let dir: string;
let dns: UdpSocket;
let pebble: ChildProcess | undefined;
let pebbleOut = '';
let node: TestNode;
let httpPort: number;
let httpsPort: number;
let mgmtPort: number;
let pebbleCa: string;

/** A DNS responder for pebble: every A question gets 127.0.0.1, anything else an empty answer. */
async function startDns(): Promise<{ sock: UdpSocket; port: number }> {
  const sock = createSocket('udp4');
  sock.on('message', (q, from) => {
    if (q.length < 12) return;
    let i = 12;
    while (i < q.length && q[i] !== 0) i += q[i]! + 1;
    const qEnd = i + 5;
    if (qEnd > q.length) return;
    const qtype = q.readUInt16BE(i + 1);
    const header = Buffer.alloc(12);
    q.copy(header, 0, 0, 2);
    header.writeUInt16BE(0x8580 | (q.readUInt16BE(2) & 0x0100), 2); // response, authoritative, RD echoed, RA
    header.writeUInt16BE(1, 4);
    header.writeUInt16BE(qtype === 1 ? 1 : 0, 6);
    const question = q.subarray(12, qEnd);
    const answer = qtype === 1 ? Buffer.from([0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 127, 0, 0, 1]) : Buffer.alloc(0);
    sock.send(Buffer.concat([header, question, answer]), from.port, from.address);
  });
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
  return { sock, port: (sock.address() as AddressInfo).port };
}

function get(url: string, opts: { servername?: string; ca?: string; host?: string } = {}): Promise<{ status: number; headers: Record<string, unknown>; text: string }> {
  const u = new URL(url);
  const req = (u.protocol === 'https:' ? httpsRequest : httpRequest)({
    host: u.hostname,
    port: u.port,
    path: u.pathname + u.search,
    headers: opts.host ? { host: opts.host } : {},
    servername: opts.servername,
    ca: opts.ca,
    agent: false,
  });
  return new Promise((resolve, reject) => {
    req.on('response', (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, text }));
    });
    req.on('error', reject);
    req.setTimeout(10_000, () => req.destroy(new Error(`GET ${url} timed out`)));
    req.end();
  });
}

function peerCert(servername: string, ca: string): Promise<{ cert: PeerCertificate; authorized: boolean; error?: string }> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port: httpsPort, servername, ca, rejectUnauthorized: false }, () => {
      resolve({ cert: s.getPeerCertificate(), authorized: s.authorized, error: s.authorizationError?.toString() });
      s.end();
    });
    s.on('error', reject);
    s.setTimeout(10_000, () => s.destroy(new Error('TLS timeout')));
  });
}

function cli(args: string[]) {
  return run(process.execPath, [join(REPO_ROOT, 'src/cli/main.ts'), ...args], {
    env: cleanEnv({ GRENIER_ADMIN_URL: node.adminUrl, GRENIER_ADMIN_TOKEN: node.adminToken, GRENIER_CONFIG: undefined }),
    timeoutMs: 60_000,
  });
}

async function waitFor<T>(what: string, f: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}\npebble:\n${pebbleOut.slice(-3000)}\nnode:\n${node.output().slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

before(async () => {
  if (skip) return;
  dir = mkdtempSync(join(tmpdir(), 'grenier-acme-'));
  // pebble's own HTTPS listener: a self-signed certificate for 127.0.0.1 that the node trusts
  // through [front] acme_ca_cert.
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', join(dir, 'pebble.key'), '-out', join(dir, 'pebble.crt'), '-days', '2', '-subj', '/CN=pebble', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost', '-addext', 'basicConstraints=critical,CA:TRUE'], { stdio: 'ignore' });
  pebbleCa = readFileSync(join(dir, 'pebble.crt'), 'utf8');
  const d = await startDns();
  dns = d.sock;
  httpPort = await freePort();
  httpsPort = await freePort();
  const dirPort = await freePort();
  mgmtPort = await freePort();
  const tlsPort = await freePort();
  writeFileSync(
    join(dir, 'pebble.json'),
    JSON.stringify({
      pebble: {
        listenAddress: `127.0.0.1:${dirPort}`,
        managementListenAddress: `127.0.0.1:${mgmtPort}`,
        certificate: join(dir, 'pebble.crt'),
        privateKey: join(dir, 'pebble.key'),
        httpPort,
        tlsPort,
        ocspResponderURL: '',
        externalAccountBindingRequired: false,
      },
    }),
  );
  pebble = spawn(PEBBLE!, ['-config', join(dir, 'pebble.json'), '-dnsserver', `127.0.0.1:${d.port}`], {
    env: cleanEnv({ PEBBLE_VA_NOSLEEP: '1', PEBBLE_WFE_NONCEREJECT: '0', PEBBLE_AUTHZREUSE: '0' }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  pebble.stdout!.on('data', (b: Buffer) => (pebbleOut += b));
  pebble.stderr!.on('data', (b: Buffer) => (pebbleOut += b));
  await waitFor('pebble', async () => {
    try {
      return (await get(`https://127.0.0.1:${dirPort}/dir`, { ca: pebbleCa })).status === 200 ? true : undefined;
    } catch {
      return undefined;
    }
  }, 20_000);

  node = await startNode({
    extraConfig: [
      '[front]',
      `http_bind_addr = "127.0.0.1:${httpPort}"`,
      `https_bind_addr = "127.0.0.1:${httpsPort}"`,
      `acme_directory = "https://127.0.0.1:${dirPort}/dir"`,
      `acme_ca_cert = "${join(dir, 'pebble.crt')}"`,
      'acme_email = "ops@example.test"',
      'auto_certificates = true',
    ].join('\n'),
  });
});

after(async () => {
  await node?.stop();
  pebble?.kill('SIGKILL');
  dns?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('a website gets a certificate by itself, another host on request; the front serves both by SNI', { skip, timeout: 180_000 }, async () => {
  const root = (await get(`https://127.0.0.1:${mgmtPort}/roots/0`, { ca: pebbleCa })).text;
  assert.match(root, /BEGIN CERTIFICATE/);

  // A bring-your-own-domain site: the renewal worker orders its certificate on its own.
  const s3 = s3Client(node);
  // An admin gives the host (a tenant's S3 bucket is reachable only as <bucket>.<root_domain>).
  const given = await node.admin('CreateBucket', { globalAlias: 'shop.example.test' });
  await node.admin('AllowBucketKey', { bucketId: given.id, accessKeyId: node.keyId, permissions: { read: true, write: true, owner: true } });
  await s3.send(new PutBucketWebsiteCommand({ Bucket: 'shop.example.test', WebsiteConfiguration: { IndexDocument: { Suffix: 'index.html' } } }));
  await s3.send(new PutObjectCommand({ Bucket: 'shop.example.test', Key: 'index.html', Body: '<h1>shop over https</h1>', ContentType: 'text/html' }));
  const auto = await waitFor('the automatic certificate for shop.example.test', async () => {
    const list = await node.admin('ListCertificates');
    return list.find((c: any) => c.host === 'shop.example.test' && c.notAfter);
  });
  assert.match(auto.issuer, /Pebble/i);

  let c = await peerCert('shop.example.test', root);
  assert.equal(c.cert.subjectaltname, 'DNS:shop.example.test');
  assert.equal(c.authorized, true, c.error);
  const page = await get(`https://127.0.0.1:${httpsPort}/`, { servername: 'shop.example.test', host: 'shop.example.test', ca: root });
  assert.equal(page.status, 200);
  assert.equal(page.text, '<h1>shop over https</h1>');
  const redirect = await get(`http://127.0.0.1:${httpPort}/x?y=1`, { host: 'shop.example.test' });
  assert.equal(redirect.status, 308);
  assert.equal(redirect.headers.location, `https://shop.example.test:${httpsPort}/x?y=1`);

  // <bucket>.<root_domain> is not ordered automatically, but `grenier cert issue` does it.
  const host = 'shop.example.test.web.localhost';
  assert.ok(!(await node.admin('ListCertificates')).some((x: any) => x.host === host));
  const r = await cli(['cert', 'issue', host]);
  assert.equal(r.code, 0, describeRun('cert issue', r) + `\npebble:\n${pebbleOut.slice(-2000)}`);
  assert.match(r.stdout, new RegExp(`Certificate for ${host.replace(/\./g, '\\.')} issued by .*Pebble`));
  c = await peerCert(host, root);
  assert.equal(c.cert.subjectaltname, `DNS:${host}`);
  assert.equal(c.authorized, true, c.error);
  const page2 = await get(`https://127.0.0.1:${httpsPort}/`, { servername: host, host, ca: root });
  assert.equal(page2.text, '<h1>shop over https</h1>');

  const list = await cli(['cert', 'list']);
  assert.equal(list.code, 0, list.stderr);
  assert.match(list.stdout, /shop\.example\.test\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\s+\d+\s+Pebble/);
  const st = JSON.parse((await cli(['cert', 'status', '--json'])).stdout);
  assert.equal(st.frontOnThisNode, true);
  assert.ok(st.front.acme.worker.runs >= 1);
  // The challenge tokens were removed once the orders finished.
  const stray = await get(`http://127.0.0.1:${httpPort}/.well-known/acme-challenge/${'A'.repeat(43)}`, { host });
  assert.equal(stray.status, 404);
  // Private keys never leave the cluster in clear.
  assert.doesNotMatch(JSON.stringify(await node.admin('ListCertificates')), /PRIVATE KEY/);
});

test('refused before reaching the CA: a host that is neither site nor route', { skip }, async () => {
  const before = pebbleOut.length;
  const r = await cli(['cert', 'issue', 'victim.example.org']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /refusing to order a certificate/);
  assert.doesNotMatch(pebbleOut.slice(before), /victim/);
});
