// Checks the import direction of ARCHITECTURE.md §2: lower layers never import higher ones.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, dirname, resolve } from 'node:path';

const SRC = resolve(import.meta.dirname, '..', 'src');

/** What each layer may import (besides itself and node:/npm packages). */
const ALLOWED: Record<string, string[]> = {
  util: [],
  config: ['util'],
  db: ['util', 'config'],
  net: ['util', 'config'],
  rpc: ['util', 'config', 'net'],
  layout: ['util', 'config', 'rpc', 'net'],
  table: ['util', 'config', 'db', 'net', 'rpc', 'layout'],
  block: ['util', 'config', 'db', 'net', 'rpc', 'layout'],
  model: ['util', 'config', 'db', 'net', 'rpc', 'layout', 'table', 'block'],
  api: ['util', 'config', 'db', 'net', 'rpc', 'layout', 'table', 'block', 'model'],
  web: ['util', 'config', 'db', 'net', 'rpc', 'layout', 'table', 'block', 'model'],
  front: ['util', 'config', 'db', 'net', 'rpc', 'layout', 'table', 'block', 'model', 'web', 'api'],
  console: ['util', 'config', 'db', 'net', 'rpc', 'layout', 'table', 'block', 'model', 'api'],
  cli: ['util', 'config', 'db', 'net', 'rpc', 'layout', 'table', 'block', 'model', 'api', 'web', 'front', 'console', 'node.ts', 'node-cluster.ts'],
};

function* files(dir: string): Generator<string> {
  for (const f of readdirSync(dir)) {
    const p = join(dir, f);
    if (statSync(p).isDirectory()) yield* files(p);
    else if (p.endsWith('.ts') && !p.endsWith('.test.ts')) yield p;
  }
}

function layerOf(file: string): string {
  return relative(SRC, file).split('/')[0]!;
}

test('lower layers never import higher ones', () => {
  const violations: string[] = [];
  let checked = 0;
  for (const f of files(SRC)) {
    const from = layerOf(f);
    if (from === 'node.ts' || from === 'node-cluster.ts') continue;
    const allowed = ALLOWED[from];
    assert.ok(allowed, `src/${from} is not a known layer: add it to ARCHITECTURE.md §2 and this test`);
    const text = readFileSync(f, 'utf8');
    for (const m of text.matchAll(/(?:import|export)[^'"]*?from\s+['"](\.[^'"]+)['"]|import\(\s*['"](\.[^'"]+)['"]\s*\)/g)) {
      const spec = m[1] ?? m[2]!;
      const to = layerOf(resolve(dirname(f), spec));
      checked++;
      if (to !== from && !allowed.includes(to)) violations.push(`${relative(SRC, f)} imports ${spec} (${from} → ${to})`);
    }
    // api/s3 speaks S3 through model/, never to the network directly.
    if (relative(SRC, f).startsWith('api/s3') && /from\s+['"][^'"]*\/(net|rpc)\//.test(text)) violations.push(`${relative(SRC, f)} imports net/ or rpc/`);
  }
  assert.ok(checked > 50, `only ${checked} imports seen: the scan is broken`);
  assert.deepEqual(violations, []);
});
