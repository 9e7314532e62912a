// Self-service sites from the CLI: `grenier key allow-sites` (admin), then `grenier site create`
// and `grenier site request` signed with the owner's key, against a real admin API.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ADMIN_TOKEN, startTestAdmin, type TestAdmin } from '../src/api/admin/testkit.ts';

const MAIN = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));
let t: TestAdmin;
before(async () => {
  t = await startTestAdmin({}, '[s3_web]\nbind_addr = "127.0.0.1:0"\nroot_domain = ".web.test"\n');
});
after(async () => {
  await t.close();
});

type As = { token: string } | { key: string; secret: string };
function cli(args: string[], as: As = { token: ADMIN_TOKEN }): Promise<{ code: number; stdout: string; stderr: string }> {
  const env: Record<string, string> = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', GRENIER_ADMIN_URL: t.url };
  if ('token' in as) env.GRENIER_ADMIN_TOKEN = as.token;
  else Object.assign(env, { AWS_ACCESS_KEY_ID: as.key, AWS_SECRET_ACCESS_KEY: as.secret });
  return new Promise((ok) => {
    execFile(process.execPath, [MAIN, ...args], { env, timeout: 30_000 }, (err, stdout, stderr) => {
      ok({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
    });
  });
}

test('key allow-sites, then the owner creates its site and asks for a custom domain', async () => {
  const made = await cli(['key', 'create', 'erin', '--json']);
  assert.equal(made.code, 0, made.stderr);
  const k = JSON.parse(made.stdout) as { accessKeyId: string; secretAccessKey: string };
  const owner = { key: k.accessKeyId, secret: k.secretAccessKey };

  const refused = await cli(['site', 'create', 'erin'], owner);
  assert.notEqual(refused.code, 0);
  assert.match(refused.stderr, /may not create sites.*allow-sites/);

  const allow = await cli(['key', 'allow-sites', 'erin', '--max', '1']);
  assert.equal(allow.code, 0, allow.stderr);
  assert.match(allow.stdout, /may now create 1 site itself/);

  assert.equal((await cli(['site', 'create', 'erin', '--owner', 'bob'], owner)).code, 2, 'owners name no owner');
  const ok = await cli(['site', 'create', 'erin'], owner);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /Created site erin\.web\.test .*owned by GK/);

  const full = await cli(['site', 'request', 'erin.example.org', '--reason', 'the club'], owner);
  assert.notEqual(full.code, 0, 'the allowance (1) is used');
  assert.match(full.stderr, /may create 1 site and has 1/);
  assert.equal((await cli(['key', 'allow-sites', 'erin', '--max', '2'])).code, 0);
  const custom = await cli(['site', 'create', 'erin.example.org'], owner);
  assert.notEqual(custom.code, 0);
  assert.match(custom.stderr, /needs an administrator's approval.*grenier site request/);
  const req = await cli(['site', 'request', 'erin.example.org', '--reason', 'the club'], owner);
  assert.equal(req.code, 0, req.stderr);
  assert.match(req.stdout, /Requested the site erin\.example\.org \(request \w+\)/);
});
