// ListUpstreamHealth: the admin API answers this node's view of the front's upstreams (one route
// to a live local server: up; one to a closed loopback port: down, with the error), its renewal
// rule, and an empty list on a node without a front; a token whose scope lacks it is refused.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { parseConfig } from '../src/config/config.ts';
import { Store } from '../src/model/store.ts';
import { Front } from '../src/front/server.ts';
import { createAdminServer } from '../src/api/admin/server.ts';
import { startTestAdmin, ADMIN_TOKEN } from '../src/api/admin/testkit.ts';

const TOKEN = 'front-health-admin-token';
let dir: string;
let store: Store;
let front: Front;
let admin: Server;
let adminUrl: string;
let live: Server;
let liveUrl: string;
let deadUrl: string;

function listen(s: Server): Promise<number> {
  return new Promise((ok) => s.listen(0, '127.0.0.1', () => ok((s.address() as AddressInfo).port)));
}

async function call(url: string, op: string, token: string, body?: unknown): Promise<{ status: number; json: any }> {
  const r = await fetch(`${url}/v2/${op}`, { method: body ? 'POST' : 'GET', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: body ? JSON.stringify(body) : undefined, signal: AbortSignal.timeout(5000) });
  return { status: r.status, json: await r.json() };
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'grenier-front-health-'));
  live = createServer((_q, r) => r.end('ok'));
  liveUrl = `http://127.0.0.1:${await listen(live)}`;
  // A port that was just free and is closed again: connections are refused.
  const closed = createServer();
  const p = await listen(closed);
  await new Promise((ok) => closed.close(ok));
  deadUrl = `http://127.0.0.1:${p}`;
  const config = parseConfig(
    `metadata_dir = "meta"\ndata_dir = "data"\nreplication_factor = 1\nrpc_secret = "${'ab'.repeat(32)}"\n` +
      `[admin]\napi_bind_addr = "127.0.0.1:0"\nadmin_token = "${TOKEN}"\n` +
      `[front]\nhttp_bind_addr = "127.0.0.1:0"\nhttps_bind_addr = "127.0.0.1:0"\nacme_directory = "https://127.0.0.1:9/directory"\n` +
      `auto_certificates = false\nhealth_check_interval_secs = 1\nrenew_before_days = 21\n`,
    dir,
  );
  store = new Store({ metadataDir: config.metadata_dir, dataDir: config.data_dir, blockSize: config.block_size, compression: 'none', dataFsync: false, metadataFsync: false, inlineThreshold: config.inline_threshold });
  front = new Front({ store, config, nodeId: 'f'.repeat(64), web: (_q, r) => r.end('web'), s3: (_q, r) => r.end('s3') });
  await front.start();
  admin = createAdminServer({ store, config, nodeId: 'f'.repeat(64), startedAt: Date.now(), version: '0.1.0-test', front });
  adminUrl = `http://127.0.0.1:${await listen(admin)}`;
});

after(async () => {
  admin.closeAllConnections();
  await new Promise((ok) => admin.close(ok));
  await front.stop();
  live.closeAllConnections();
  await new Promise((ok) => live.close(ok));
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

test('ListUpstreamHealth: the live upstream is up, the closed port is down with its error', async () => {
  assert.equal((await call(adminUrl, 'AddRoute', TOKEN, { host: 'live.example.test', upstreams: [liveUrl] })).status, 200);
  assert.equal((await call(adminUrl, 'AddRoute', TOKEN, { host: 'dead.example.test', upstreams: [deadUrl] })).status, 200);
  const deadline = Date.now() + 8000;
  let got: any;
  for (;;) {
    const r = await call(adminUrl, 'ListUpstreamHealth', TOKEN);
    assert.equal(r.status, 200, JSON.stringify(r.json));
    got = r.json;
    const byUrl = new Map<string, any>(got.upstreams.map((u: any) => [u.url, u]));
    const d = byUrl.get(deadUrl);
    const l = byUrl.get(liveUrl);
    if (d?.lastCheck && l?.lastCheck && !d.up) break;
    assert.ok(Date.now() < deadline, `no health check result in time: ${JSON.stringify(got)}`);
    await new Promise((ok) => setTimeout(ok, 200));
  }
  assert.equal(got.frontOnThisNode, true);
  assert.equal(got.renewBeforeDays, 21);
  assert.deepEqual(got.upstreams.map((u: any) => u.url).sort(), [deadUrl, liveUrl].sort());
  const d = got.upstreams.find((u: any) => u.url === deadUrl);
  const l = got.upstreams.find((u: any) => u.url === liveUrl);
  assert.equal(l.up, true);
  assert.equal(l.lastError, undefined);
  assert.equal(d.up, false);
  assert.match(d.lastError, /ECONNREFUSED|refused/i);
  assert.ok(typeof d.since === 'number' && d.since <= Date.now());
});

test('ListUpstreamHealth: a token scoped to other operations is refused', async () => {
  const t = await call(adminUrl, 'CreateAdminToken', TOKEN, { name: 'routes-only', scope: ['ListRoutes'] });
  assert.equal(t.status, 200, JSON.stringify(t.json));
  const r = await call(adminUrl, 'ListUpstreamHealth', t.json.secretToken);
  assert.equal(r.status, 403, JSON.stringify(r.json));
});

test('ListUpstreamHealth: a node without a front answers an empty list', async () => {
  const a = await startTestAdmin();
  try {
    const r = await call(a.url, 'ListUpstreamHealth', ADMIN_TOKEN);
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.deepEqual(r.json, { frontOnThisNode: false, renewBeforeDays: null, upstreams: [] });
  } finally {
    await a.close();
  }
});
