// The server's last-resort net: an unhandled promise rejection is logged and counted, and the
// process goes on (Node's default is to exit). The real fixes are tested where the rejections were.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

test('an unhandled rejection is logged and the process keeps running', () => {
  const mod = fileURLToPath(new URL('./server.ts', import.meta.url));
  const script = `
    const m = await import(${JSON.stringify(mod)});
    m.survivesUnhandledRejections();
    Promise.reject(new Error('nobody catches this'));
    await new Promise((r) => setTimeout(r, 100));
    const { registry } = await import(${JSON.stringify(fileURLToPath(new URL('../util/metrics.ts', import.meta.url)))});
    console.log('still alive', (await registry.getSingleMetric('unhandled_rejections_total').get()).values[0].value);`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000, env: { ...process.env, GRENIER_LOG: 'error' } });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /still alive 1/);
  assert.match(r.stdout + r.stderr, /nobody catches this/);
});
