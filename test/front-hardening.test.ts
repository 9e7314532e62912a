// The front as an attacker sees it (issue 13): raw-socket clients writing exact bytes against an
// in-process Front, and upstreams behind a TCP recorder that keeps every byte they receive, so a
// smuggled second request, a stripped Host or a socket left open is visible.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type IncomingMessage, type ServerResponse, type Server } from 'node:http';
import { connect as netConnect, createServer as createNetServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { parseConfig } from '../src/config/config.ts';
import { webTestEnv, type WebTestEnv } from '../src/web/test-env.ts';
import { WebHandler } from '../src/web/server.ts';
import { emptyCertificateEntry } from '../src/model/certificate.ts';
import { Front } from '../src/front/server.ts';
import { certKeyFromSecret, sealKey } from '../src/front/keys.ts';
import { certInfo } from '../src/front/acme.ts';
import type { RouteTarget } from '../src/model/route.ts';

const SECRET = 'cd'.repeat(32);
let env: WebTestEnv;
let front: Front;
let scratch: string;

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

/** An HTTP upstream behind a TCP recorder: `raw` is every byte that reached it, `seen` every
 *  request its parser found, `open` the connections the front holds to it right now. */
interface Upstream {
  name: string;
  url: string;
  raw: Buffer[];
  seen: Seen[];
  open: number;
  upgrades: Set<Socket>;
  held: Set<ServerResponse>;
  http: Server;
  tcp: NetServer;
  sockets: Set<Socket>;
}
const upstreams: Upstream[] = [];

async function startUpstream(name: string): Promise<Upstream> {
  const u: Upstream = { name, url: '', raw: [], seen: [], open: 0, upgrades: new Set(), held: new Set(), http: createServer(), tcp: createNetServer(), sockets: new Set() };
  u.http.on('request', (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (d: Buffer) => chunks.push(d));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString();
      // The front's health checks are not part of what a test sent.
      if (req.headers['user-agent'] !== 'grenier-front-healthcheck') u.seen.push({ method: req.method!, url: req.url!, headers: req.headers, body });
      if (req.url!.startsWith('/stall')) {
        // Headers and a first part of the body, then nothing.
        res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '100' });
        res.write('first part;');
        u.held.add(res);
        res.on('close', () => u.held.delete(res));
        return;
      }
      if (req.url!.startsWith('/hang')) {
        u.held.add(res);
        res.on('close', () => u.held.delete(res));
        return;
      }
      const out = JSON.stringify({ name, method: req.method, url: req.url, host: req.headers.host, upgrade: req.headers.upgrade ?? null, body });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(out), 'set-cookie': `who=${name}` });
      res.end(out);
    });
  });
  u.http.on('upgrade', (req: IncomingMessage, socket: Socket) => {
    u.seen.push({ method: req.method!, url: req.url!, headers: req.headers, body: '' });
    u.upgrades.add(socket);
    socket.on('close', () => u.upgrades.delete(socket));
    socket.on('error', () => {});
    // As a WebSocket server does: the peer's FIN ends the connection.
    socket.on('end', () => socket.destroy());
    if (req.url!.startsWith('/ws-hang')) return;
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: ${req.headers.upgrade}\r\nConnection: Upgrade\r\n\r\n`);
    socket.on('data', (d: Buffer) => socket.write(d));
  });
  await new Promise<void>((r) => u.http.listen(0, '127.0.0.1', r));
  const httpPort = (u.http.address() as AddressInfo).port;
  u.tcp.on('connection', (c: Socket) => {
    u.open++;
    u.sockets.add(c);
    const s = netConnect(httpPort, '127.0.0.1');
    c.on('data', (d: Buffer) => u.raw.push(d));
    c.pipe(s);
    s.pipe(c);
    const done = () => {
      c.destroy();
      s.destroy();
    };
    c.on('error', done);
    s.on('error', done);
    c.on('close', () => {
      u.open--;
      u.sockets.delete(c);
      s.destroy();
    });
    s.on('close', () => c.destroy());
  });
  await new Promise<void>((r) => u.tcp.listen(0, '127.0.0.1', r));
  u.url = `http://127.0.0.1:${(u.tcp.address() as AddressInfo).port}`;
  upstreams.push(u);
  return u;
}

function reset(u: Upstream): void {
  u.raw.length = 0;
  u.seen.length = 0;
}

async function route(host: string, path: string, target: RouteTarget): Promise<void> {
  await env.store.routes.insert({ host, path, created: 1, target: { t: env.store.ts(), v: target } });
}

async function storeCert(host: string): Promise<void> {
  const k = join(scratch, `${host}.key`);
  const c = join(scratch, `${host}.crt`);
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', k, '-out', c, '-days', '30', '-subj', `/CN=${host}`, '-addext', `subjectAltName=DNS:${host}`], { stdio: 'ignore' });
  const certPem = readFileSync(c, 'utf8');
  const i = certInfo(certPem);
  await env.store.certs.insert({
    ...emptyCertificateEntry(host),
    cert: { t: env.store.ts(), v: { certPem, keyEnc: sealKey(certKeyFromSecret(SECRET), host, readFileSync(k, 'utf8')), notBefore: i.notBefore, notAfter: i.notAfter, issuer: i.issuer, orderedBy: 'test' } },
  });
}

interface Raw {
  text: string;
  /** The connection was closed by the front (not by our own deadline). */
  closed: boolean;
  ms: number;
  socket: Socket;
}

/** Writes exact bytes on a fresh connection and collects what comes back until the front closes
 *  it, `until` says enough, or waitMs passes (then the socket is left open for the caller). */
function raw(bytes: string | Buffer, opts: { tls?: string; until?: (text: string) => boolean; waitMs?: number; keep?: boolean; port?: number } = {}): Promise<Raw> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    const s: Socket = opts.tls
      ? tlsConnect({ host: '127.0.0.1', port: opts.port ?? front.httpsPort, servername: opts.tls, rejectUnauthorized: false }, () => s.write(bytes))
      : netConnect(opts.port ?? front.httpPort, '127.0.0.1', () => s.write(bytes));
    let text = '';
    let finished = false;
    const finish = (closed: boolean) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      if (!opts.keep) s.destroy();
      resolve({ text, closed, ms: Date.now() - t0, socket: s });
    };
    const timer = setTimeout(() => finish(false), opts.waitMs ?? 5000);
    s.on('data', (d: Buffer) => {
      text += d.toString('latin1');
      if (opts.until?.(text)) finish(false);
    });
    s.on('error', () => {});
    s.on('close', () => finish(true));
  });
}

/** Complete responses in text (each with content-length). */
function responses(text: string): { status: number; head: string; body: string }[] {
  const out: { status: number; head: string; body: string }[] = [];
  let rest = text;
  for (;;) {
    const i = rest.indexOf('\r\n\r\n');
    if (i < 0 || !rest.startsWith('HTTP/1.1 ')) return out;
    const head = rest.slice(0, i);
    const len = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
    if (rest.length < i + 4 + len) return out;
    out.push({ status: Number(head.slice(9, 12)), head, body: rest.slice(i + 4, i + 4 + len) });
    rest = rest.slice(i + 4 + len);
  }
}

const oneResponse = (t: string) => responses(t).length >= 1;

async function waitFor(what: string, f: () => boolean, timeoutMs = 3000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!f()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const SMUGGLED = 'GET /smuggled HTTP/1.1\r\nHost: internal.test\r\nX-Forwarded-For: 10.0.0.1\r\n\r\n';
let smug: Upstream;
let pathA: Upstream;
let pathB: Upstream;
let pathC: Upstream;
let hang: Upstream;

before(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'grenier-front-hard-'));
  env = await webTestEnv();
  const config = parseConfig(
    `metadata_dir = "${join(env.dir, 'meta')}"\ndata_dir = "${join(env.dir, 'data')}"\nrpc_secret = "${SECRET}"\n` +
      `[front]\nhttp_bind_addr = "127.0.0.1:0"\nhttps_bind_addr = "127.0.0.1:0"\nacme_directory = "https://127.0.0.1:9/directory"\nauto_certificates = false\n` +
      `health_check_interval_secs = 1\nupstream_response_timeout_secs = 2\nupstream_idle_timeout_secs = 1\nupstream_sockets_max = 8\nupstream_requests_per_client_max = 4\n` +
      `upgrade_timeout_secs = 1\nwebsocket_idle_timeout_secs = 1\ntls_handshake_timeout_secs = 1\n` +
      `[limits]\nhttp_connections_per_ip_max = 40\n`,
  );
  const web = new WebHandler(env.store, { index: 'index.html' });
  front = new Front({ store: env.store, config, nodeId: 'e'.repeat(64), web: web.handle, s3: (_q, r) => r.end('s3') });
  smug = await startUpstream('smug');
  pathA = await startUpstream('root');
  pathB = await startUpstream('api');
  pathC = await startUpstream('admin');
  hang = await startUpstream('hang');
  await route('smuggle.test', '/', { kind: 'upstream', upstreams: [smug.url] });
  await route('secure.test', '/', { kind: 'upstream', upstreams: [smug.url] });
  await route('paths.test', '/', { kind: 'upstream', upstreams: [pathA.url] });
  await route('paths.test', '/api', { kind: 'upstream', upstreams: [pathB.url] });
  await route('paths.test', '/admin', { kind: 'upstream', upstreams: [pathC.url] });
  await route('hang.test', '/', { kind: 'upstream', upstreams: [hang.url] });
  await storeCert('secure.test');
  await front.start();
});

after(async () => {
  await front.stop();
  for (const u of upstreams) {
    for (const s of u.sockets) s.destroy();
    for (const s of u.upgrades) s.destroy();
    u.http.closeAllConnections();
    await new Promise((r) => u.tcp.close(r));
    await new Promise((r) => u.http.close(r));
  }
  await env.close();
  rmSync(scratch, { recursive: true, force: true });
});

/** The smuggled request must never reach the upstream as a request of its own. */
async function assertNotSmuggled(expectBody: string, method = 'GET'): Promise<void> {
  // Let a smuggled request (if any) be parsed upstream.
  await new Promise((r) => setTimeout(r, 150));
  assert.deepEqual(
    smug.seen.map((s) => [s.method, s.url]),
    [[method, '/x']],
    `upstream got: ${Buffer.concat(smug.raw).toString()}`,
  );
  assert.equal(smug.seen[0]!.body, expectBody, 'the body reached the upstream as the body, framed');
  assert.equal(smug.seen[0]!.headers.host, 'smuggle.test');
}

test('smuggling: Transfer-Encoding chunked on a GET is re-framed, not piped raw', async () => {
  reset(smug);
  const chunk = SMUGGLED;
  const r = await raw(`GET /x HTTP/1.1\r\nHost: smuggle.test\r\nTransfer-Encoding: chunked\r\n\r\n${chunk.length.toString(16)}\r\n${chunk}\r\n0\r\n\r\n`, { until: oneResponse });
  assert.equal(responses(r.text)[0]?.status, 200, r.text);
  await assertNotSmuggled(SMUGGLED);
  // The next, unrelated client gets its own answer, not a queued smuggled one.
  const next = await raw('GET /next HTTP/1.1\r\nHost: smuggle.test\r\n\r\n', { until: oneResponse });
  assert.equal(JSON.parse(responses(next.text)[0]!.body).url, '/next');
});

test('smuggling: Connection: keep-alive, content-length cannot strip Content-Length', async () => {
  for (const method of ['GET', 'DELETE', 'OPTIONS']) {
    reset(smug);
    const r = await raw(`${method} /x HTTP/1.1\r\nHost: smuggle.test\r\nConnection: keep-alive, content-length\r\nContent-Length: ${SMUGGLED.length}\r\n\r\n${SMUGGLED}`, { until: oneResponse });
    assert.equal(responses(r.text)[0]?.status, 200, r.text);
    await assertNotSmuggled(SMUGGLED, method);
  }
});

test('smuggling: Connection: close, host cannot strip Host; transfer-encoding is never named away', async () => {
  reset(smug);
  const r = await raw('GET /x HTTP/1.1\r\nHost: smuggle.test\r\nConnection: close, host, transfer-encoding\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n', { until: oneResponse });
  assert.equal(responses(r.text)[0]?.status, 200, r.text);
  await assertNotSmuggled('abc');
});

test('smuggling: CL+TE, unknown or doubled codings, bad or doubled Content-Length, two Hosts: 400, nothing forwarded', async () => {
  for (const req of [
    `POST /x HTTP/1.1\r\nHost: smuggle.test\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`,
    `POST /x HTTP/1.1\r\nHost: smuggle.test\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n`,
    `POST /x HTTP/1.1\r\nHost: smuggle.test\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`,
    `POST /x HTTP/1.1\r\nHost: smuggle.test\r\nContent-Length: 1, 2\r\n\r\nab`,
    `POST /x HTTP/1.1\r\nHost: smuggle.test\r\nContent-Length: -1\r\n\r\nab`,
    `GET /x HTTP/1.1\r\nHost: smuggle.test\r\nHost: internal.test\r\n\r\n`,
  ]) {
    reset(smug);
    const r = await raw(req, { until: oneResponse });
    assert.equal(responses(r.text)[0]?.status ?? Number(r.text.slice(9, 12)), 400, `${JSON.stringify(req)} → ${r.text}`);
    await new Promise((res) => setTimeout(res, 50));
    assert.deepEqual(smug.seen, [], JSON.stringify(req));
  }
});

test('smuggling over HTTPS: the same re-framing', async () => {
  reset(smug);
  const r = await raw(`GET /x HTTP/1.1\r\nHost: secure.test\r\nTransfer-Encoding: chunked\r\n\r\n${SMUGGLED.length.toString(16)}\r\n${SMUGGLED}\r\n0\r\n\r\n`, { tls: 'secure.test', until: oneResponse });
  assert.equal(responses(r.text)[0]?.status, 200, r.text);
  await new Promise((res) => setTimeout(res, 150));
  assert.deepEqual(smug.seen.map((s) => s.url), ['/x']);
  assert.equal(smug.seen[0]!.body, SMUGGLED);
});

test('absolute-form target: forwarded in origin form; another host than Host is refused', async () => {
  reset(smug);
  const same = await raw('GET http://smuggle.test/x?q=1 HTTP/1.1\r\nHost: smuggle.test\r\n\r\n', { until: oneResponse });
  assert.equal(responses(same.text)[0]?.status, 200, same.text);
  assert.deepEqual(JSON.parse(responses(same.text)[0]!.body), { name: 'smug', method: 'GET', url: '/x?q=1', host: 'smuggle.test', upgrade: null, body: '' });
  reset(smug);
  const other = await raw('GET http://internal.test/x HTTP/1.1\r\nHost: smuggle.test\r\n\r\n', { until: oneResponse });
  assert.equal(responses(other.text)[0]?.status, 400, other.text);
  for (const target of ['*', 'smuggle.test:80', 'x']) {
    const r = await raw(`OPTIONS ${target} HTTP/1.1\r\nHost: smuggle.test\r\n\r\n`, { until: oneResponse });
    assert.equal(responses(r.text)[0]?.status ?? Number(r.text.slice(9, 12)), 400, `${target}: ${r.text}`);
  }
  await new Promise((res) => setTimeout(res, 50));
  assert.deepEqual(smug.seen, []);
});

test('path routes: decoded, dot segments resolved, slashes collapsed; ambiguous paths refused', async () => {
  // [request path, expected upstream (null: 400), path the upstream gets]
  const table: [string, string | null, string?][] = [
    ['/api/x', 'api', '/api/x'],
    ['/api/../admin/x', 'admin', '/admin/x'],
    ['/api/%2e%2e/admin/x', 'admin', '/admin/x'],
    ['/api/.%2E/admin/x', 'admin', '/admin/x'],
    ['/api/..%2fadmin/x', null],
    ['/api/..%2Fadmin/x', null],
    ['/api/..%5cadmin/x', null],
    ['/api\\..\\admin/x', null],
    ['/api/%00', null],
    ['/..', null],
    ['/api/../../x', null],
    ['/a%zz', null],
    ['//api/x', 'api', '/api/x'],
    ['/./api/x', 'api', '/api/x'],
    ['/%61pi/x', 'api', '/api/x'],
    ['/api//x', 'api', '/api/x'],
    ['/api/x/./y/..', 'api', '/api/x/'],
    ['/api?x=/../admin', 'api', '/api?x=/../admin'],
    // Paths are case-sensitive: /API is not /api.
    ['/API/x', 'root', '/API/x'],
    ['/apix', 'root', '/apix'],
    ['/api%20x', 'root', '/api%20x'],
    ['/api/%7Euser', 'api', '/api/~user'],
    ['/api/a%2Bb', 'api', '/api/a%2Bb'],
  ];
  for (const [path, want, fwd] of table) {
    const r = await raw(`GET ${path} HTTP/1.1\r\nHost: paths.test\r\nConnection: close\r\n\r\n`, { until: oneResponse });
    const res = responses(r.text)[0] ?? { status: Number(r.text.slice(9, 12)), body: '' };
    if (want === null) {
      assert.equal(res.status, 400, `${path} → ${r.text}`);
      continue;
    }
    assert.equal(res.status, 200, `${path} → ${r.text}`);
    const j = JSON.parse(res.body);
    assert.equal(j.name, want, `${path} went to ${j.name}`);
    assert.equal(j.url, fwd, `${path} forwarded as ${j.url}`);
  }
});

test('a hung upstream path cannot take the upstream: per-client cap (503), cancellation on client close, response timeout (504)', async () => {
  reset(hang);
  const clients: Promise<Raw>[] = [];
  for (let i = 0; i < 12; i++) clients.push(raw(`GET /hang/${i} HTTP/1.1\r\nHost: hang.test\r\n\r\n`, { until: oneResponse, waitMs: 400 }));
  const got = await Promise.all(clients);
  // One client address may hold upstream_requests_per_client_max (4) requests; the rest are 503 at once.
  const refused = got.filter((g) => responses(g.text)[0]?.status === 503);
  assert.equal(refused.length, 8, got.map((g) => g.text.slice(0, 12) || '(nothing)').join(' | '));
  const t0 = Date.now();
  // Every client has gone (raw() destroyed them at 400 ms): the upstream sockets go with them.
  await waitFor(`upstream sockets released (open: ${hang.open})`, () => hang.open === 0 && hang.held.size === 0, 1200);
  assert.ok(Date.now() - t0 < 1500, 'released by the clients leaving, not by the response timeout');
  assert.equal(hang.seen.length, 4);
  // Another path on that upstream still answers.
  const ok = await raw('GET /ok HTTP/1.1\r\nHost: hang.test\r\n\r\n', { until: oneResponse });
  assert.equal(responses(ok.text)[0]?.status, 200, ok.text);
  // A client that waits gets 504 at upstream_response_timeout_secs (2 s), and the socket goes.
  const slow = await raw('GET /hang/slow HTTP/1.1\r\nHost: hang.test\r\n\r\n', { until: oneResponse, waitMs: 4000 });
  assert.equal(responses(slow.text)[0]?.status, 504, slow.text);
  assert.ok(slow.ms >= 1900 && slow.ms < 3500, `${slow.ms} ms`);
  await waitFor('held response released', () => hang.held.size === 0, 1000);
});

test('a response body that stops moving is cut after upstream_idle_timeout_secs, upstream socket included', async () => {
  const r = await raw('GET /stall HTTP/1.1\r\nHost: hang.test\r\n\r\n', { waitMs: 4000 });
  assert.match(r.text, /^HTTP\/1\.1 200[\s\S]*first part;$/);
  assert.ok(r.closed, 'closed by the front');
  assert.ok(r.ms >= 900 && r.ms < 3000, `${r.ms} ms`);
  await waitFor('upstream response released', () => hang.held.size === 0, 1000);
});

test('upgrades: only websocket is forwarded (h2c is answered as a plain request)', async () => {
  reset(smug);
  const r = await raw('GET /x HTTP/1.1\r\nHost: smuggle.test\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n', { until: oneResponse });
  const res = responses(r.text)[0];
  assert.equal(res?.status, 200, r.text);
  assert.equal(JSON.parse(res!.body).upgrade, null, 'the upstream saw no Upgrade');
  assert.equal(smug.seen[0]!.headers['http2-settings'], undefined, 'headers named in Connection are dropped');
  const ws = await raw('GET /ws HTTP/1.1\r\nHost: smuggle.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n', { until: (t) => t.includes('\r\n\r\n') });
  assert.match(ws.text, /^HTTP\/1\.1 101/);
});

test('upgrades: 504 when the upstream does not answer in upgrade_timeout_secs; client leaving closes the upstream side', async () => {
  const before = hang.upgrades.size;
  const r = await raw('GET /ws-hang HTTP/1.1\r\nHost: hang.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n', { waitMs: 3000 });
  assert.match(r.text, /^HTTP\/1\.1 504/, r.text || '(nothing)');
  assert.ok(r.ms < 2500, `${r.ms} ms`);
  await waitFor('upstream upgrade socket closed', () => hang.upgrades.size === before, 1000);
  // The client goes before the upstream answers: the upstream connection is closed (no CLOSE-WAIT).
  const gone = raw('GET /ws-hang/2 HTTP/1.1\r\nHost: hang.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n', { waitMs: 200 });
  await waitFor('upstream got the upgrade', () => hang.upgrades.size === before + 1, 1000);
  await gone;
  await waitFor('upstream side closed after the client left', () => hang.upgrades.size === before, 500);
});

test('upgrades: an idle tunnel is closed after websocket_idle_timeout_secs, on both sides', async () => {
  const before = smug.upgrades.size;
  const r = await raw('GET /ws HTTP/1.1\r\nHost: smuggle.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n', { waitMs: 4000 });
  assert.match(r.text, /^HTTP\/1\.1 101/);
  assert.ok(r.closed, 'closed by the front');
  assert.ok(r.ms >= 900 && r.ms < 3000, `${r.ms} ms`);
  await waitFor('upstream tunnel end closed', () => smug.upgrades.size === before, 1000);
});

test('upgrades on the HTTP port to a host with a certificate are redirected (308), not tunnelled', async () => {
  reset(smug);
  const r = await raw('GET /ws?a=1 HTTP/1.1\r\nHost: secure.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n', { waitMs: 2000 });
  assert.match(r.text, /^HTTP\/1\.1 308/, r.text);
  assert.match(r.text, new RegExp(`\r\nlocation: https://secure\\.test:${front.httpsPort}/ws\\?a=1\r\n`, 'i'));
  assert.deepEqual(smug.seen, []);
});

test('TLS slowloris: a partial ClientHello is cut at tls_handshake_timeout_secs', async () => {
  // The first bytes of a TLS record header and ClientHello, and then nothing.
  const r = await raw(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03]), { port: front.httpsPort, waitMs: 4000 });
  assert.ok(r.closed, 'the front closed the connection');
  assert.ok(r.ms >= 900 && r.ms < 3000, `${r.ms} ms`);
});

test('the front listeners cap connections per client address (limits.http_connections_per_ip_max)', async () => {
  const socks: Socket[] = [];
  try {
    for (let i = 0; i < 40; i++) {
      const s = netConnect(front.httpPort, '127.0.0.1');
      s.on('error', () => {});
      socks.push(s);
      await new Promise((r) => s.once('connect', r));
    }
    const extra = await raw('GET / HTTP/1.1\r\nHost: smuggle.test\r\n\r\n', { waitMs: 2000 });
    assert.ok(extra.closed && extra.text === '', `41st connection: ${extra.text}`);
  } finally {
    for (const s of socks) s.destroy();
    // Let the front see those closes before the next test connects.
    await new Promise((r) => setTimeout(r, 300));
  }
});

test('stop() finishes with an open tunnel, a pending upgrade and an in-flight request', async () => {
  const tunnel = await raw('GET /ws HTTP/1.1\r\nHost: smuggle.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n', { until: (t) => t.includes('\r\n\r\n'), keep: true });
  assert.match(tunnel.text, /^HTTP\/1\.1 101/);
  const pending = raw('GET /ws-hang HTTP/1.1\r\nHost: hang.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n', { waitMs: 5000 });
  const inflight = raw('GET /hang/stop HTTP/1.1\r\nHost: hang.test\r\n\r\n', { waitMs: 5000 });
  await waitFor('upstream has the pending upgrade and request', () => hang.upgrades.size >= 1 && hang.held.size >= 1, 1000);
  const t0 = Date.now();
  await Promise.race([front.stop(), new Promise((_r, j) => setTimeout(() => j(new Error('stop() did not finish in 3 s')), 3000).unref())]);
  assert.ok(Date.now() - t0 < 3000);
  assert.ok((await pending).closed && (await inflight).closed);
  await waitFor('tunnel closed', () => tunnel.socket.destroyed, 1000);
  await waitFor('upstream sockets released', () => hang.upgrades.size === 0 && hang.held.size === 0, 1000);
});
