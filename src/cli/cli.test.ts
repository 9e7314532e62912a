// The `grenier` CLI as a user runs it: a child process talking to a real admin API.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createServer, type AddressInfo } from 'node:net';
import { ADMIN_TOKEN, startTestAdmin, type TestAdmin } from '../api/admin/testkit.ts';

const MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));
let t: TestAdmin;
let scratch: string;

before(async () => {
  t = await startTestAdmin();
  scratch = mkdtempSync(join(tmpdir(), 'grenier-cli-'));
});
after(async () => {
  await t.close();
  rmSync(scratch, { recursive: true, force: true });
});

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI with only the given GRENIER_* variables (never the caller's). */
function cli(args: string[], env: Record<string, string> | null = { GRENIER_ADMIN_URL: t.url, GRENIER_ADMIN_TOKEN: ADMIN_TOKEN }, cwd = scratch): Promise<Run> {
  const base: Record<string, string> = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' };
  return new Promise((ok) => {
    execFile(process.execPath, [MAIN, ...args], { env: { ...base, ...env }, cwd, timeout: 30_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      ok({ code, stdout, stderr });
    });
  });
}

/** A port nothing listens on: bound, then released. */
async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((ok) => srv.listen(0, '127.0.0.1', ok));
  const { port } = srv.address() as AddressInfo;
  await new Promise((ok) => srv.close(ok));
  return port;
}

async function json(args: string[]): Promise<any> {
  const r = await cli([...args, '--json']);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout);
}

test('key create, list and info', async () => {
  const k = await json(['key', 'create', 'carol', '--create-bucket']);
  assert.match(k.accessKeyId, /^GK[0-9a-f]{24}$/);
  assert.match(k.secretAccessKey, /^[0-9a-f]{64}$/);
  assert.equal(k.permissions.createBucket, true);

  const list = await json(['key', 'list']);
  assert.ok(list.some((x: { id: string; name: string }) => x.id === k.accessKeyId && x.name === 'carol'));
  const human = await cli(['key', 'list']);
  assert.equal(human.code, 0);
  assert.match(human.stdout, /^ID\s+CREATED\s+NAME$/m);
  assert.match(human.stdout, new RegExp(`^${k.accessKeyId}\\s+\\S+ \\S+\\s+carol$`, 'm'));

  const info = await json(['key', 'info', 'carol']);
  assert.equal(info.accessKeyId, k.accessKeyId);
  assert.equal(info.secretAccessKey, undefined);
  const secret = await json(['key', 'info', k.accessKeyId.slice(0, 10), '--show-secret']);
  assert.equal(secret.secretAccessKey, k.secretAccessKey);
  const text = await cli(['key', 'info', 'carol', '--show-secret']);
  assert.match(text.stdout, new RegExp(`Secret key:\\s+${k.secretAccessKey}`));
});

test('key import and delete (which needs --yes)', async () => {
  const id = 'GK' + 'c'.repeat(24);
  const imp = await cli(['key', 'import', id, 'd'.repeat(64), '-n', 'old-garage']);
  assert.equal(imp.code, 0, imp.stderr);
  assert.match(imp.stdout, /Imported key GKc+ \("old-garage"\)/);
  const refused = await cli(['key', 'delete', 'old-garage']);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /add --yes/);
  assert.equal((await json(['key', 'info', id])).name, 'old-garage', 'still there');
  const del = await cli(['key', 'delete', 'old-garage', '--yes']);
  assert.equal(del.code, 0, del.stderr);
  assert.equal((await cli(['key', 'info', id])).code, 1);
});

test('bucket create, allow, info, alias, quotas, website, delete', async () => {
  await json(['key', 'create', 'dave']);
  const b = await json(['bucket', 'create', 'holiday']);
  assert.deepEqual(b.globalAliases, ['holiday']);
  const allowed = await json(['bucket', 'allow', 'holiday', '--read', '--write', '--key', 'dave']);
  assert.equal(allowed.keys.length, 1);
  assert.deepEqual(allowed.keys[0].permissions, { read: true, write: true, owner: false });
  assert.equal(allowed.keys[0].name, 'dave');
  const info = await json(['bucket', 'info', 'holiday']);
  assert.equal(info.id, b.id);
  assert.equal(info.keys[0].name, 'dave');
  const denied = await json(['bucket', 'deny', 'holiday', '--write', '--key', 'dave']);
  assert.deepEqual(denied.keys[0].permissions, { read: true, write: false, owner: false });

  const aliased = await json(['bucket', 'alias', 'holiday', 'vacances']);
  assert.deepEqual(aliased.globalAliases, ['holiday', 'vacances']);
  assert.deepEqual((await json(['bucket', 'unalias', 'vacances', 'holiday'])).globalAliases, ['vacances']);

  const q = await json(['bucket', 'set-quotas', 'vacances', '--max-size', '1MiB', '--max-objects', '10']);
  assert.deepEqual(q.quotas, { maxSize: 1048576, maxObjects: 10 });
  assert.deepEqual((await json(['bucket', 'set-quotas', 'vacances', '--max-size', 'none'])).quotas, { maxSize: null, maxObjects: 10 });
  const w = await json(['bucket', 'website', 'vacances', '--allow', '--error-document', 'oops.html']);
  assert.deepEqual(w.websiteConfig, { indexDocument: 'index.html', errorDocument: 'oops.html' });

  const human = await cli(['bucket', 'info', 'vacances']);
  assert.match(human.stdout, /^Aliases:\s+vacances$/m);
  assert.match(human.stdout, /^R--\s+GK[0-9a-f]{24}\s+dave$/m);
  assert.match(human.stdout, /^Website:\s+enabled \(index index\.html, error oops\.html\)$/m);

  const listed = await json(['bucket', 'list']);
  assert.ok(listed.some((x: { id: string }) => x.id === b.id));
  const del = await cli(['bucket', 'delete', 'vacances', '--yes']);
  assert.equal(del.code, 0, del.stderr);
  assert.equal((await cli(['bucket', 'info', 'vacances'])).code, 1);
});

test('status shows the node', async () => {
  const s = await json(['status']);
  assert.equal(s.health.status, 'healthy');
  assert.equal(s.status.nodes[0].id, 'a'.repeat(64));
  const human = await cli(['status']);
  // This fake node has no layout applied (version 0): status says so rather than "healthy".
  assert.match(human.stdout, /^Cluster has no layout yet \(layout version 0\)/);
  assert.match(human.stdout, /^aaaaaaaaaaaaaaaa\s/m);
});

test('a failed operation exits 1 with one error line', async () => {
  const r = await cli(['key', 'info', 'nobody']);
  assert.equal(r.code, 1);
  assert.equal(r.stdout, '');
  assert.equal(r.stderr, 'error: no access key matches "nobody"\n');
  const dup = await cli(['bucket', 'create', 'Bad_Name']);
  assert.equal(dup.code, 1);
  assert.equal(dup.stderr.trim().split('\n').length, 1);
  assert.match(dup.stderr, /^error: invalid bucket name "Bad_Name"/);
});

test('a wrong token, an unreachable node and no node at all are explained', async () => {
  const bad = await cli(['key', 'list'], { GRENIER_ADMIN_URL: t.url, GRENIER_ADMIN_TOKEN: 'wrong' });
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /^error: the admin API refused the request: invalid token — check the admin token from GRENIER_ADMIN_TOKEN\n$/);
  const port = await freePort();
  const down = await cli(['key', 'list'], { GRENIER_ADMIN_URL: `http://127.0.0.1:${port}`, GRENIER_ADMIN_TOKEN: 'x' });
  assert.equal(down.code, 1);
  assert.equal(down.stderr, `error: cannot reach the admin API at http://127.0.0.1:${port} (connection refused) — is grenier server running?\n`);
  const none = await cli(['key', 'list'], null);
  assert.equal(none.code, 1);
  assert.match(none.stderr, /^error: no node to talk to: pass -c grenier\.toml, or set GRENIER_CONFIG/);
  assert.equal(none.stderr.split('\n').length, 2);
});

test('usage errors exit 2', async () => {
  assert.equal((await cli(['frobnicate'])).code, 2);
  assert.equal((await cli(['bucket', 'allow', 'x', '--read'])).code, 2, '--key is required');
  const noFlags = await cli(['bucket', 'allow', 'x', '--key', 'k']);
  assert.equal(noFlags.code, 2);
  assert.match(noFlags.stderr, /--read, --write, --owner/);
  assert.equal((await cli(['--help'])).code, 0);
});

test('the node is found from a config file: -c, GRENIER_CONFIG, ./data/grenier.toml', async () => {
  const port = new URL(t.url).port;
  const toml = `metadata_dir = "meta"
data_dir = "data"
rpc_secret = "${'cd'.repeat(32)}"
[admin]
api_bind_addr = "0.0.0.0:${port}"
admin_token = "${ADMIN_TOKEN}"
`;
  const dir = join(scratch, 'node');
  mkdirSync(join(dir, 'data'), { recursive: true });
  writeFileSync(join(dir, 'grenier.toml'), toml);
  writeFileSync(join(dir, 'data', 'grenier.toml'), toml);
  const viaFlag = await cli(['-c', join(dir, 'grenier.toml'), 'key', 'list', '--json'], null);
  assert.equal(viaFlag.code, 0, viaFlag.stderr);
  assert.ok(Array.isArray(JSON.parse(viaFlag.stdout)));
  const viaEnv = await cli(['status', '--json'], { GRENIER_CONFIG: join(dir, 'grenier.toml') });
  assert.equal(viaEnv.code, 0, viaEnv.stderr);
  const viaDefault = await cli(['bucket', 'list', '--json'], null, dir);
  assert.equal(viaDefault.code, 0, viaDefault.stderr);
  const badConfig = await cli(['-c', join(dir, 'missing.toml'), 'key', 'list'], null);
  assert.equal(badConfig.code, 1);
  assert.match(badConfig.stderr, /^error: config: cannot read .*missing\.toml: ENOENT\n$/);
});
