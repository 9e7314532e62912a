// The packaged install: `npm pack` of a copy of the checkout (so the test never rewrites this
// checkout's dist/), `npm install -g` of the tarball into a temporary prefix (runtime dependencies
// only, from the npm cache when it has them), then the installed `grenier server` answers /health.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { REPO_ROOT, cleanEnv, describeRun, freePort, run } from './lib/node.ts';

const NODE24 = join(REPO_ROOT, 'node_modules/.bin/node');
const PKG = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as {
  name: string;
  version: string;
  devDependencies: Record<string, string>;
};

test('npm pack + npm install -g of the tarball runs `grenier server` with Node 24 and no dev dependencies', { timeout: 300_000 }, async (t) => {
  const tmp = mkdtempSync(join(tmpdir(), 'grenier-install-'));
  t.after(() => rmSync(tmp, { recursive: true, force: true }));
  const pkg = join(tmp, 'pkg');
  mkdirSync(pkg);
  for (const f of ['package.json', 'bin', 'src', 'deploy', 'tsconfig.json', 'tsconfig.build.json', 'README.md', 'SECURITY.md'])
    if (existsSync(join(REPO_ROOT, f))) cpSync(join(REPO_ROOT, f), join(pkg, f), { recursive: true });
  // prepack builds dist/ with the checkout's tsc.
  symlinkSync(join(REPO_ROOT, 'node_modules'), join(pkg, 'node_modules'));

  const env = cleanEnv({ npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false' });
  const packed = await run('npm', ['pack', '--pack-destination', tmp], { cwd: pkg, env, timeoutMs: 120_000 });
  assert.equal(packed.code, 0, describeRun('npm pack', packed));
  const tgz = join(tmp, `${PKG.name}-${PKG.version}.tgz`);
  assert.ok(existsSync(tgz), `npm pack made no ${tgz}: ${packed.stdout}`);

  const listing = await run('tar', ['tzf', tgz], { timeoutMs: 30_000 });
  const files = listing.stdout.split('\n').filter(Boolean);
  assert.ok(files.includes('package/dist/cli/main.js'), 'the tarball holds the built CLI');
  assert.ok(files.includes('package/bin/grenier.js'), 'the tarball holds the launcher');
  const stray = files.filter((f) => /^package\/(src|test|bench|node_modules)\//.test(f) || /\.test\.js$/.test(f));
  assert.deepEqual(stray, [], 'no sources, tests or modules in the tarball');

  const prefix = join(tmp, 'prefix');
  const installed = await run('npm', ['install', '-g', tgz, '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund'], {
    cwd: tmp,
    env,
    timeoutMs: 180_000,
  });
  assert.equal(installed.code, 0, describeRun('npm install -g', installed));
  const root = join(prefix, 'lib/node_modules', PKG.name);
  const mods = readdirSync(join(root, 'node_modules'));
  const dev = Object.keys(PKG.devDependencies).filter((d) => mods.includes(d.split('/')[0]!) && existsSync(join(root, 'node_modules', d)));
  assert.deepEqual(dev, [], 'no dev dependency is installed');

  // The bin link on PATH, with Node 24 first on PATH (the machine's node may be older).
  const path = `${join(REPO_ROOT, 'node_modules/.bin')}:${process.env.PATH ?? ''}`;
  const version = await run(join(prefix, 'bin/grenier'), ['--version'], { env: cleanEnv({ PATH: path }), timeoutMs: 30_000 });
  assert.equal(version.code, 0, describeRun('grenier --version', version));
  assert.equal(version.stdout.trim(), PKG.version);

  const dir = join(tmp, 'node');
  mkdirSync(join(dir, 'meta'), { recursive: true });
  mkdirSync(join(dir, 'data'), { recursive: true });
  const [s3, web, admin, rpc] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const config = join(dir, 'grenier.toml');
  writeFileSync(
    config,
    [
      `metadata_dir = "${join(dir, 'meta')}"`,
      `data_dir = "${join(dir, 'data')}"`,
      'replication_factor = 1',
      `rpc_secret = "${randomBytes(32).toString('hex')}"`,
      `rpc_bind_addr = "127.0.0.1:${rpc}"`,
      '[s3_api]',
      `api_bind_addr = "127.0.0.1:${s3}"`,
      's3_region = "garage"',
      '[s3_web]',
      `bind_addr = "127.0.0.1:${web}"`,
      'root_domain = ".web.localhost"',
      '[admin]',
      `api_bind_addr = "127.0.0.1:${admin}"`,
      `admin_token = "${randomBytes(16).toString('hex')}"`,
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
  // The installed launcher run by Node 24 explicitly, from outside the checkout.
  const child = spawn(NODE24, [join(root, 'bin/grenier.js'), 'server', '-c', config], {
    cwd: tmp,
    env: cleanEnv({ GRENIER_LOG: 'warn' }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (b: Buffer) => (out += b));
  child.stderr.on('data', (b: Buffer) => (out += b));
  t.after(() => {
    child.kill('SIGKILL');
  });
  const deadline = Date.now() + 30_000;
  let last = '';
  for (;;) {
    assert.ok(child.exitCode === null && child.signalCode === null, `the installed server exited (${child.exitCode}): ${out}`);
    try {
      const r = await fetch(`http://127.0.0.1:${admin}/health`, { signal: AbortSignal.timeout(1000) });
      last = `${r.status} ${await r.text()}`;
      if (r.ok) break;
    } catch (e) {
      last = String((e as Error).cause ?? e);
    }
    assert.ok(Date.now() < deadline, `no 200 from /health of the installed server within 30 s (last: ${last}); output: ${out}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
});
