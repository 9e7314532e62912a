// A closed stdout pipe (`grenier … | head -1`): a CLI command stops quietly (no stack trace),
// while `grenier server` keeps serving when its stdout/stderr (its logs) go away.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { startNode, cleanEnv, REPO_ROOT, type TestNode } from './lib/node.ts';

const MAIN = join(REPO_ROOT, 'src/cli/main.ts');
let node: TestNode | undefined;
let server: ChildProcess | undefined;
after(async () => {
  if (server && server.exitCode === null && server.signalCode === null) {
    server.kill('SIGKILL');
    await new Promise((r) => server!.once('exit', r));
  }
  await node?.stop();
});

/** Runs the CLI with its stdout read end closed at once (what `| head -1` does once it has a line). */
function runWithClosedStdout(args: string[], env: Record<string, string>): Promise<{ code: number | null; signal: string | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const c = spawn(process.execPath, [MAIN, ...args], { cwd: REPO_ROOT, env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
    c.stdout!.destroy();
    let stderr = '';
    c.stderr!.on('data', (b: Buffer) => (stderr += b));
    const t = setTimeout(() => c.kill('SIGKILL'), 20_000);
    c.once('error', reject);
    c.once('close', (code, signal) => {
      clearTimeout(t);
      resolve({ code, signal, stderr });
    });
  });
}

test('a CLI command whose stdout is closed exits quietly; the server survives closed stdout/stderr', async () => {
  node = await startNode({ createKey: false });
  const env = { GRENIER_ADMIN_URL: node.adminUrl, GRENIER_ADMIN_TOKEN: node.adminToken };
  for (const args of [['status'], ['bucket', 'list'], ['layout', 'show']]) {
    const r = await runWithClosedStdout(args, env);
    assert.ok(r.code === 0 || r.code === 141, `grenier ${args.join(' ')}: exit ${r.code} (signal ${r.signal}); stderr:\n${r.stderr}`);
    assert.doesNotMatch(r.stderr, /EPIPE|\n\s+at /, `grenier ${args.join(' ')} printed:\n${r.stderr}`);
  }

  // The same node again, its output pipes closed before it writes a line (info logs on).
  await node.kill();
  const s = spawn(process.execPath, [MAIN, 'server', '-c', node.configPath], { cwd: REPO_ROOT, env: cleanEnv({ GRENIER_LOG: 'info' }), stdio: ['ignore', 'pipe', 'pipe'] });
  server = s;
  s.stdout!.destroy();
  s.stderr!.destroy();
  const deadline = Date.now() + 20_000;
  const health = async () => {
    const r = await fetch(`${node!.adminUrl}/health`, { signal: AbortSignal.timeout(1000) });
    await r.arrayBuffer();
    return r.status;
  };
  for (;;) {
    assert.ok(s.exitCode === null && s.signalCode === null, `server exited (code ${s.exitCode}, signal ${s.signalCode}) with its output closed`);
    if ((await health().catch(() => 0)) === 200) break;
    assert.ok(Date.now() < deadline, 'server never answered /health');
    await new Promise((r) => setTimeout(r, 100));
  }
  // It wrote its "listening" line and logs into the closed pipes by now; still serving.
  await new Promise((r) => setTimeout(r, 1000));
  assert.ok(s.exitCode === null && s.signalCode === null, `server exited (code ${s.exitCode}) after writing to a closed stdout`);
  assert.equal(await health(), 200);
  s.kill('SIGTERM');
  await new Promise((r) => s.once('exit', r));
});
