// The HTTPS front in a real `grenier server`: host → website, → S3 API, → upstream services
// (round robin, failover when one dies, health checks, X-Forwarded-*, compression, WebSocket
// passthrough), routes managed with the `grenier route` CLI, and certificate orders refused
// for hosts the cluster does not serve.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request, Agent, type IncomingHttpHeaders, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { createHash, randomBytes } from 'node:crypto';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { join } from 'node:path';
import { PutBucketWebsiteCommand, PutObjectCommand, GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { startNode, freePort, run, s3Client, cleanEnv, REPO_ROOT, describeRun, type TestNode } from './lib/node.ts';

let node: TestNode;
let httpPort: number;
const upstreams: { name: string; server: Server; url: string; hits: number; sockets: Set<Socket> }[] = [];

const BIG = '<p>' + 'grenier front compression test '.repeat(2000) + '</p>';

/** Sec-WebSocket-Accept for a key (RFC 6455 §4.2.2). */
function wsAccept(key: string): string {
  return createHash('sha1').update(key + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest('base64');
}

/** One unmasked (server) or masked (client) text frame, payload < 126 bytes. */
function frame(text: string, mask: boolean): Buffer {
  const p = Buffer.from(text);
  assert.ok(p.length < 126);
  if (!mask) return Buffer.concat([Buffer.from([0x81, p.length]), p]);
  const m = randomBytes(4);
  const masked = Buffer.from(p.map((b, i) => b ^ m[i % 4]!));
  return Buffer.concat([Buffer.from([0x81, 0x80 | p.length]), m, masked]);
}

/** Parses one frame (text, length < 126) from the start of buf, unmasking if needed. */
function parseFrame(buf: Buffer): { text: string; size: number } | undefined {
  if (buf.length < 2) return undefined;
  const masked = (buf[1]! & 0x80) !== 0;
  const len = buf[1]! & 0x7f;
  const start = 2 + (masked ? 4 : 0);
  if (buf.length < start + len) return undefined;
  let p = buf.subarray(start, start + len);
  if (masked) {
    const m = buf.subarray(2, 6);
    p = Buffer.from(p.map((b, i) => b ^ m[i % 4]!));
  }
  return { text: p.toString(), size: start + len };
}

/** An upstream service: echoes what it saw as JSON, /big is a large HTML page, /png is binary,
 *  POST bodies are hashed, and WebSocket connections echo text frames prefixed with its name. */
async function startUpstream(name: string): Promise<(typeof upstreams)[number]> {
  const u = { name, server: createServer(), url: '', hits: 0, sockets: new Set<Socket>() };
  u.server.on('request', (req, res) => {
    u.hits++;
    if (req.url === '/big') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', etag: '"big"' });
      res.end(BIG);
      return;
    }
    if (req.url === '/png') {
      res.writeHead(200, { 'content-type': 'image/png' });
      res.end(Buffer.alloc(5000, 7));
      return;
    }
    const h = createHash('sha256');
    let n = 0;
    req.on('data', (d: Buffer) => {
      h.update(d);
      n += d.length;
    });
    req.on('end', () => {
      const body = JSON.stringify({ name, method: req.method, url: req.url, headers: req.headers, bodyBytes: n, bodySha: h.digest('hex') });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'set-cookie': ['a=1', 'b=2'] });
      res.end(body);
    });
  });
  u.server.on('upgrade', (req, socket: Socket, head: Buffer) => {
    socket.write(
      `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${wsAccept(String(req.headers['sec-websocket-key']))}\r\nX-Upstream: ${name}\r\n\r\n`,
    );
    u.sockets.add(socket);
    socket.on('close', () => u.sockets.delete(socket));
    socket.on('end', () => socket.end());
    let buf = Buffer.from(head);
    socket.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      for (let f = parseFrame(buf); f; f = parseFrame(buf)) {
        buf = buf.subarray(f.size);
        socket.write(frame(`${name}:${f.text}`, false));
      }
    });
    socket.on('error', () => {});
  });
  await new Promise<void>((r) => u.server.listen(0, '127.0.0.1', r));
  u.url = `http://127.0.0.1:${(u.server.address() as AddressInfo).port}`;
  upstreams.push(u);
  return u;
}

async function stopUpstream(u: { server: Server; sockets?: Set<Socket> }): Promise<void> {
  for (const s of u.sockets ?? []) s.destroy();
  u.server.closeAllConnections();
  await new Promise((r) => u.server.close(r));
}

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  text: string;
  json: () => any;
}

function frontReq(host: string, path: string, opts: { method?: string; headers?: Record<string, string>; body?: Buffer } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const q = request({ host: '127.0.0.1', port: httpPort, path, method: opts.method ?? 'GET', headers: { host, ...opts.headers }, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks);
        resolve({ status: res.statusCode!, headers: res.headers, body, text: body.toString(), json: () => JSON.parse(body.toString()) });
      });
      res.on('error', reject);
    });
    q.on('error', reject);
    q.setTimeout(15_000, () => q.destroy(new Error(`request to ${host}${path} timed out`)));
    q.end(opts.body);
  });
}

function cli(args: string[]) {
  return run(process.execPath, [join(REPO_ROOT, 'src/cli/main.ts'), ...args], {
    env: cleanEnv({ GRENIER_ADMIN_URL: node.adminUrl, GRENIER_ADMIN_TOKEN: node.adminToken, GRENIER_CONFIG: undefined }),
    timeoutMs: 30_000,
  });
}

async function ok(args: string[]): Promise<string> {
  const r = await cli(args);
  assert.equal(r.code, 0, describeRun(`grenier ${args.join(' ')}`, r));
  return r.stdout;
}

async function waitFor(what: string, f: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await f())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

before(async () => {
  httpPort = await freePort();
  const httpsPort = await freePort();
  node = await startNode({
    extraConfig: [
      '[front]',
      `http_bind_addr = "127.0.0.1:${httpPort}"`,
      `https_bind_addr = "127.0.0.1:${httpsPort}"`,
      // Nothing listens there: no order may succeed in this test, and none must be needed.
      'acme_directory = "https://127.0.0.1:9/directory"',
      'auto_certificates = false',
      'health_check_interval_secs = 1',
    ].join('\n'),
  });
  const s3 = s3Client(node);
  // An admin gives the host (a tenant's S3 bucket is reachable only as <bucket>.<root_domain>).
  const given = await node.admin('CreateBucket', { globalAlias: 'blog.example.test' });
  await node.admin('AllowBucketKey', { bucketId: given.id, accessKeyId: node.keyId, permissions: { read: true, write: true, owner: true } });
  await s3.send(new PutBucketWebsiteCommand({ Bucket: 'blog.example.test', WebsiteConfiguration: { IndexDocument: { Suffix: 'index.html' } } }));
  await s3.send(new PutObjectCommand({ Bucket: 'blog.example.test', Key: 'index.html', Body: '<h1>blog</h1>', ContentType: 'text/html' }));
  await startUpstream('a');
  await startUpstream('b');
  await startUpstream('c');
});

after(async () => {
  for (const u of upstreams) await stopUpstream(u).catch(() => {});
  await node?.stop();
});

test('a host that is a website is served without a route', async () => {
  const r = await frontReq('blog.example.test', '/');
  assert.equal(r.status, 200, r.text);
  assert.equal(r.text, '<h1>blog</h1>');
  const none = await frontReq('nothing.example.test', '/');
  assert.equal(none.status, 404);
  assert.match(none.text, /No website/);
});

test('route CLI: add, list, validation, delete', async () => {
  const [a, b, c] = upstreams;
  assert.match(await ok(['route', 'add', 'chat.example.test', '--upstream', a!.url, '--upstream', b!.url]), /chat\.example\.test → http:\/\/127\.0\.0\.1:\d+, http/);
  await ok(['route', 'add', 'chat.example.test', '--path', '/api/', '--upstream', c!.url]);
  await ok(['route', 'add', 'files.example.test', '--s3']);
  await ok(['route', 'add', 'www.blog.example.test', '--website', 'blog.example.test']);
  const list = JSON.parse(await ok(['route', 'list', '--json']));
  assert.deepEqual(
    list.map((r: any) => [r.host, r.path, r.kind]),
    [
      ['chat.example.test', '/', 'upstream'],
      ['chat.example.test', '/api', 'upstream'],
      ['files.example.test', '/', 's3'],
      ['www.blog.example.test', '/', 'website'],
    ],
  );
  const table = await ok(['route', 'list']);
  assert.match(table, /HOST\s+PATH\s+KIND/);

  const dup = await cli(['route', 'add', 'chat.example.test', '--s3']);
  assert.equal(dup.code, 1);
  assert.match(dup.stderr, /already exists/);
  for (const [args, re] of [
    [['route', 'add', 'x.example.test', '--upstream', 'ftp://10.0.0.1'], /must be http/],
    [['route', 'add', 'x.example.test', '--upstream', 'http://10.0.0.1/base'], /must not have a path/],
    [['route', 'add', 'bad_host.example.test', '--s3'], /not a valid host name/],
    [['route', 'add', 'x.example.test', '--s3', '--path', '/../x'], /must not contain/],
  ] as [string[], RegExp][]) {
    const r = await cli(args);
    assert.equal(r.code, 1, describeRun(args.join(' '), r));
    assert.match(r.stderr, re);
  }
  const usage = await cli(['route', 'add', 'x.example.test']);
  assert.equal(usage.code, 2);

  await ok(['route', 'add', 'tmp.example.test', '--s3']);
  assert.match(await ok(['route', 'delete', 'tmp.example.test']), /Deleted route tmp\.example\.test/);
  const gone = await cli(['route', 'delete', 'tmp.example.test']);
  assert.equal(gone.code, 1);
  assert.match(gone.stderr, /no route/);
});

test('website route to another site, and S3 route with a signed request', async () => {
  const r = await frontReq('www.blog.example.test', '/');
  assert.equal(r.status, 200);
  assert.equal(r.text, '<h1>blog</h1>');
  // An S3 client whose endpoint is the routed host; DNS is replaced by 127.0.0.1.
  const s3 = new S3Client({
    endpoint: `http://files.example.test:${httpPort}`,
    forcePathStyle: true,
    region: node.region,
    credentials: { accessKeyId: node.keyId, secretAccessKey: node.secret },
    maxAttempts: 1,
    requestHandler: { httpAgent: new Agent({ lookup: (_h: string, o: { all?: boolean }, cb: (e: null, a: unknown, f?: number) => void) => (o.all ? cb(null, [{ address: '127.0.0.1', family: 4 }]) : cb(null, '127.0.0.1', 4)) } as object) },
  });
  const got = await s3.send(new GetObjectCommand({ Bucket: 'blog.example.test', Key: 'index.html' }));
  assert.equal(await got.Body!.transformToString(), '<h1>blog</h1>');
  const anon = await frontReq('files.example.test', '/blog.example.test/index.html');
  assert.equal(anon.status, 403);
  assert.match(anon.text, /<Code>AccessDenied<\/Code>/);
});

test('upstream route: round robin, X-Forwarded-*, path prefixes, streamed bodies', async () => {
  const seen = new Set<string>();
  for (let i = 0; i < 6; i++) {
    const r = await frontReq('chat.example.test', `/x?i=${i}`, { headers: { 'x-forwarded-for': '6.6.6.6', 'x-forwarded-proto': 'https', connection: 'keep-alive, x-secret', 'x-secret': 'hop' } });
    assert.equal(r.status, 200);
    const j = r.json();
    seen.add(j.name);
    assert.equal(j.url, `/x?i=${i}`);
    assert.equal(j.headers.host, 'chat.example.test', 'the original Host goes upstream');
    assert.equal(j.headers['x-forwarded-for'], '127.0.0.1', 'client claims are replaced');
    assert.equal(j.headers['x-forwarded-proto'], 'http');
    assert.equal(j.headers['x-forwarded-host'], 'chat.example.test');
    assert.equal(j.headers['x-secret'], undefined, 'headers named in Connection are hop-by-hop');
    assert.deepEqual(r.headers['set-cookie'], ['a=1', 'b=2']);
  }
  assert.deepEqual([...seen].sort(), ['a', 'b']);
  // Longest prefix wins; "/api" covers "/api/…" but not "/apix".
  assert.equal((await frontReq('chat.example.test', '/api/v1')).json().name, 'c');
  assert.equal((await frontReq('chat.example.test', '/api')).json().name, 'c');
  assert.notEqual((await frontReq('chat.example.test', '/apix')).json().name, 'c');
  // A 3 MB POST body streams through unchanged.
  const body = randomBytes(3 * 1024 * 1024);
  const p = (await frontReq('chat.example.test', '/api/upload', { method: 'POST', body, headers: { 'content-type': 'application/octet-stream' } })).json();
  assert.equal(p.bodyBytes, body.length);
  assert.equal(p.bodySha, createHash('sha256').update(body).digest('hex'));
});

test('compression: br or gzip for text when accepted, never for images or when not asked', async () => {
  const br = await frontReq('chat.example.test', '/big', { headers: { 'accept-encoding': 'gzip, br' } });
  assert.equal(br.headers['content-encoding'], 'br');
  assert.match(String(br.headers.vary), /Accept-Encoding/);
  assert.equal(br.headers['content-length'], undefined);
  assert.equal(br.headers.etag, 'W/"big"', 'a transformed body gets a weak ETag');
  assert.ok(br.body.length < BIG.length / 20, `${br.body.length} bytes`);
  assert.equal(brotliDecompressSync(br.body).toString(), BIG);
  const gz = await frontReq('chat.example.test', '/big', { headers: { 'accept-encoding': 'gzip' } });
  assert.equal(gz.headers['content-encoding'], 'gzip');
  assert.equal(gunzipSync(gz.body).toString(), BIG);
  const plain = await frontReq('chat.example.test', '/big');
  assert.equal(plain.headers['content-encoding'], undefined);
  assert.equal(plain.text, BIG);
  const png = await frontReq('chat.example.test', '/png', { headers: { 'accept-encoding': 'br, gzip' } });
  assert.equal(png.headers['content-encoding'], undefined);
  assert.equal(png.body.length, 5000);
});

/** Raw WebSocket client: handshake through the front, send texts, collect the echoes. */
async function wsRoundTrip(host: string, path: string, texts: string[]): Promise<{ status: string; headers: string; echoes: string[] }> {
  const sock = connect(httpPort, '127.0.0.1');
  await new Promise<void>((r, j) => {
    sock.once('connect', r);
    sock.once('error', j);
  });
  const key = randomBytes(16).toString('base64');
  sock.write(`GET ${path} HTTP/1.1\r\nHost: ${host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
  let buf = Buffer.alloc(0);
  let head: string | undefined;
  const echoes: string[] = [];
  const timer = setTimeout(() => sock.destroy(new Error(`websocket timeout; head ${JSON.stringify(head)}, buffered ${JSON.stringify(buf.toString())}, echoes ${echoes.join()}`)), 10_000);
  try {
    await new Promise<void>((resolve, reject) => {
      sock.on('error', reject);
      sock.on('close', () => resolve());
      sock.on('data', (d: Buffer) => {
        buf = Buffer.concat([buf, d]);
        if (head === undefined) {
          const i = buf.indexOf('\r\n\r\n');
          if (i < 0) return;
          head = buf.subarray(0, i).toString();
          buf = buf.subarray(i + 4);
          if (!head.startsWith('HTTP/1.1 101')) return sock.end();
          assert.match(head, new RegExp(`Sec-WebSocket-Accept: ${wsAccept(key).replace(/[+/]/g, '\\$&')}`, 'i'));
          for (const t of texts) sock.write(frame(t, true));
        }
        for (let f = parseFrame(buf); f; f = parseFrame(buf)) {
          buf = buf.subarray(f.size);
          echoes.push(f.text);
          // The echo upstream never closes on its own (a real peer would after a close frame).
          if (echoes.length === texts.length) return resolve();
        }
      });
    });
  } finally {
    clearTimeout(timer);
    sock.destroy();
  }
  return { status: head?.split('\r\n')[0] ?? '', headers: head ?? '', echoes };
}

test('WebSocket upgrade passes through to the upstream and back', async () => {
  const r = await wsRoundTrip('chat.example.test', '/api/ws', ['hello', 'grenier', 'x'.repeat(100)]);
  assert.match(r.status, /^HTTP\/1\.1 101/);
  assert.match(r.headers, /X-Upstream: c/);
  assert.deepEqual(r.echoes, ['c:hello', 'c:grenier', `c:${'x'.repeat(100)}`]);
  const site = await wsRoundTrip('blog.example.test', '/', ['x']);
  assert.match(site.status, /^HTTP\/1\.1 404/, 'websites do not upgrade');
});

test('failover: one upstream dies, requests keep succeeding, the health check marks it down then up', async () => {
  const [a, b] = upstreams;
  const port = Number(new URL(a!.url).port);
  await stopUpstream(a!);
  for (let i = 0; i < 8; i++) {
    const r = await frontReq('chat.example.test', `/after-kill?i=${i}`);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json().name, 'b');
  }
  // POST (not idempotent) still fails over: the refused connection never saw the body.
  const post = await frontReq('chat.example.test', '/p', { method: 'POST', body: Buffer.from('data') });
  assert.equal(post.json().name, 'b');
  assert.equal(post.json().bodyBytes, 4);
  const ws = await wsRoundTrip('chat.example.test', '/ws', ['hi']);
  assert.deepEqual(ws.echoes, ['b:hi']);

  const upstreamState = async (url: string) => {
    const s = await node.admin('GetCertificateStatus');
    return s.front.upstreams.find((u: any) => u.url === url);
  };
  await waitFor('upstream a marked down', async () => (await upstreamState(a!.url))?.up === false);
  assert.match((await upstreamState(a!.url)).lastError, /ECONNREFUSED/);
  assert.equal((await upstreamState(b!.url)).up, true);
  const status = await ok(['cert', 'status']);
  assert.match(status, /DOWN/);

  // Back on the same port: the health check brings it back and it gets traffic again.
  a!.server = createServer((req, res) => res.end(JSON.stringify({ name: 'a2', headers: req.headers })));
  await new Promise<void>((r) => a!.server.listen(port, '127.0.0.1', r));
  await waitFor('upstream a back up', async () => (await upstreamState(a!.url))?.up === true);
  const names = new Set<string>();
  for (let i = 0; i < 4; i++) names.add((await frontReq('chat.example.test', '/')).json().name);
  assert.ok(names.has('a2'), [...names].join());
  // Every upstream down: 502 with a page, not a hang.
  await stopUpstream(a!);
  await stopUpstream(b!);
  const bad = await frontReq('chat.example.test', '/');
  assert.equal(bad.status, 502);
  assert.match(bad.text, /Bad gateway/);
});

test('certificate orders are refused for hosts the cluster does not serve', async () => {
  const r = await cli(['cert', 'issue', 'evil.example.org']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /refusing to order a certificate: "evil\.example\.org" is neither a website/);
  const ip = await cli(['cert', 'issue', '127.0.0.1']);
  assert.equal(ip.code, 1);
  // An eligible host reaches the (unreachable) CA: the failure is reported and recorded.
  const f = await cli(['cert', 'issue', 'chat.example.test']);
  assert.equal(f.code, 1);
  assert.match(f.stderr, /certificate order for chat\.example\.test failed/);
  const list = JSON.parse(await ok(['cert', 'list', '--json']));
  const e = list.find((c: any) => c.host === 'chat.example.test');
  assert.equal(e.notAfter, null);
  assert.equal(e.lastAttempt.failures, 1);
  assert.equal(e.lease, null, 'the lease is released after a failed order');
  assert.ok(!list.some((c: any) => c.host === 'evil.example.org'), 'nothing recorded for refused hosts');
});
