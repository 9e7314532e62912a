// The test harness never lets a server it started keep a test file running: a test that forgets
// to stop its node ends anyway (the node is killed at exit), so CI cannot hang on a failed test.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const FIXTURE = fileURLToPath(new URL('./fixtures/leaks-a-node.ts', import.meta.url));

test('a test file that leaves its server running still exits, and the server is killed', async () => {
  // Run as a plain script (its test() runs at once); NODE_TEST_CONTEXT would make it a subtest of this one.
  const env = { ...process.env };
  delete env.NODE_TEST_CONTEXT;
  const c = spawn(process.execPath, [FIXTURE], { stdio: ['ignore', 'pipe', 'pipe'], env });
  let out = '';
  c.stdout.on('data', (b: Buffer) => (out += b.toString()));
  c.stderr.on('data', (b: Buffer) => (out += b.toString()));
  const code = await new Promise<number | null>((resolve) => {
    const t = setTimeout(() => {
      c.kill('SIGKILL');
      resolve(null);
    }, 90_000);
    c.once('exit', (n) => {
      clearTimeout(t);
      resolve(n);
    });
  });
  assert.notEqual(code, null, `the test file did not exit within 90 s:\n${out.slice(-2000)}`);
  const pid = Number(/LEAKED_PID=(\d+)/.exec(out)?.[1]);
  assert.ok(pid > 0, `the fixture printed its server pid:\n${out.slice(-2000)}`);
  let alive = true;
  for (let i = 0; i < 50 && alive; i++) {
    try {
      process.kill(pid, 0);
      await new Promise((r) => setTimeout(r, 100));
    } catch {
      alive = false;
    }
  }
  assert.equal(alive, false, `server pid ${pid} still runs after its test file ended`);
});
