#!/usr/bin/env node
// Launcher: runs the CLI from src/ with Node's type stripping (Node 24) in a checkout, and from
// dist/ (built with `npm run build`) when installed under node_modules, where Node does not strip types.
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(import.meta.url);
const installed = here.includes('/node_modules/');
const major = Number(process.versions.node.split('.')[0]);
if (!installed && major < 24) {
  // The machine's node may be older; re-exec with the pinned Node 24 from node_modules.
  const { spawnSync } = await import('node:child_process');
  const pinned = fileURLToPath(new URL('../node_modules/node/bin/node', import.meta.url));
  const r = spawnSync(pinned, [here, ...process.argv.slice(2)], { stdio: 'inherit' });
  process.exit(r.status ?? 1);
}
await import(new URL(installed ? '../dist/cli/main.js' : '../src/cli/main.ts', import.meta.url).href);
