// `grenier admin-token` and `grenier audit` as a user runs them, against a real admin API.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ADMIN_TOKEN, startTestAdmin, type TestAdmin } from '../src/api/admin/testkit.ts';
import { parseExpiry } from '../src/cli/admin-token.ts';

const MAIN = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));
let t: TestAdmin;
before(async () => {
  t = await startTestAdmin();
});
after(async () => {
  await t.close();
});

function cli(args: string[], token = ADMIN_TOKEN): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', GRENIER_ADMIN_URL: t.url, GRENIER_ADMIN_TOKEN: token };
  return new Promise((ok) => {
    execFile(process.execPath, [MAIN, ...args], { env, timeout: 30_000 }, (err, stdout, stderr) => {
      ok({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
    });
  });
}

test('expiry: durations, dates and never', () => {
  assert.equal(parseExpiry('2d', 0), new Date(2 * 86_400_000).toISOString());
  assert.equal(parseExpiry('90m', 0), new Date(90 * 60_000).toISOString());
  assert.equal(parseExpiry('never'), null);
  assert.equal(parseExpiry('2031-02-03T00:00:00Z'), '2031-02-03T00:00:00.000Z');
  assert.throws(() => parseExpiry('soon'), /duration/);
});

test('admin-token create, list, info, set, delete; the audit shows who did what', async () => {
  const c = await cli(['admin-token', 'create', 'dana', '--scope', 'ListBuckets,CreateBucket', '--expires', '30d', '--json']);
  assert.equal(c.code, 0, c.stderr);
  const tok = JSON.parse(c.stdout);
  assert.deepEqual(tok.scope, ['CreateBucket', 'ListBuckets']);
  assert.ok(tok.secretToken);
  const human = await cli(['admin-token', 'create', 'erin']);
  assert.match(human.stdout, /Token: +[0-9a-f]{24}\./);
  assert.match(human.stdout, /shown only this once/);

  const list = await cli(['admin-token', 'list']);
  assert.equal(list.code, 0, list.stderr);
  assert.match(list.stdout, /dana +\d{4}-\d\d-\d\d .*CreateBucket,ListBuckets/);
  assert.match(list.stdout, /\(config\) +admin_token/);

  // The new token works with the CLI for what it may do, and is refused the rest with the reason.
  assert.equal((await cli(['bucket', 'create', 'dana-files'], tok.secretToken)).code, 0);
  const refused = await cli(['key', 'list'], tok.secretToken);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /may not call ListKeys/);

  const set = await cli(['admin-token', 'set', 'dana', '--scope', '*', '--expires', 'never', '--json']);
  assert.equal(set.code, 0, set.stderr);
  assert.deepEqual(JSON.parse(set.stdout).scope, ['*']);
  assert.equal(JSON.parse(set.stdout).expiration, null);
  assert.equal((await cli(['key', 'list'], tok.secretToken)).code, 0);
  assert.match((await cli(['admin-token', 'info', 'dana'])).stdout, /Scope: +\*/);

  assert.equal((await cli(['admin-token', 'delete', 'dana'])).code, 1, 'needs --yes');
  assert.equal((await cli(['admin-token', 'delete', 'dana', '--yes'])).code, 0);
  assert.equal((await cli(['key', 'list'], tok.secretToken)).code, 1);

  const audit = await cli(['audit', '-n', '10']);
  assert.equal(audit.code, 0, audit.stderr);
  assert.match(audit.stdout, new RegExp(`200 +token dana \\(${tok.id}\\) +CreateBucket +globalAlias=dana-files`));
  assert.match(audit.stdout, /admin_token +DeleteAdminToken +id=/);
  const only = JSON.parse((await cli(['audit', '--op', 'CreateAdminToken', '--json'])).stdout);
  assert.equal(only.length, 2);
  assert.ok(only.every((e: { op: string }) => e.op === 'CreateAdminToken'));
});
