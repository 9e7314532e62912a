// The server's re-execution (tuneRuntime): from a checkout it runs with Node's compile cache, so a
// warm start never loads the TypeScript stripper; a cold start fills the cache and re-executes
// once more. Which stage serves is visible in the process's environment (GRENIER_TUNED).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startNode } from '../../test/lib/node.ts';

const environ = (pid: number): Map<string, string> =>
  new Map(
    readFileSync(`/proc/${pid}/environ`, 'utf8')
      .split('\0')
      .filter((kv) => kv.includes('='))
      .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)] as [string, string]),
  );

test('a cold compile cache is filled and re-executed past; a warm one serves from the first re-execution', async () => {
  const cache = mkdtempSync(join(tmpdir(), 'grenier-compile-cache-'));
  const node = await startNode({ env: { GRENIER_COMPILE_CACHE_DIR: cache } });
  try {
    const cold = environ(node.pid);
    assert.equal(cold.get('NODE_COMPILE_CACHE'), cache);
    // The first re-executed process had to strip the sources (empty cache): it wrote the cache and went on.
    assert.equal(cold.get('GRENIER_TUNED'), '2');
    assert.ok(readdirSync(cache).length > 0, 'the compile cache was written');
    assert.match(readFileSync(`/proc/${node.pid}/cmdline`, 'utf8'), /--max-semi-space-size=1\0/);
    await node.restart();
    // Everything came from the cache: the stripper was never loaded, no second re-execution.
    assert.equal(environ(node.pid).get('GRENIER_TUNED'), '1');
  } finally {
    await node.stop();
    rmSync(cache, { recursive: true, force: true });
  }
});
