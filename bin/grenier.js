#!/usr/bin/env node
// Launcher: runs the CLI from dist/ when built, else from src/ with Node's type stripping (Node 24).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
const built = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
const major = Number(process.versions.node.split('.')[0]);
if (!existsSync(built) && major < 24) {
  // The machine's node may be older; re-exec with the pinned Node 24 from node_modules.
  const { spawnSync } = await import('node:child_process');
  const pinned = fileURLToPath(new URL('../node_modules/node/bin/node', import.meta.url));
  const r = spawnSync(pinned, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: 'inherit' });
  process.exit(r.status ?? 1);
}
await import(existsSync(built) ? built : new URL('../src/cli/main.ts', import.meta.url).href);
