#!/usr/bin/env node
// Launcher: runs the CLI from src/ with Node's type stripping (Node 24) in a checkout, and from
// dist/ (built with `npm run build`, shipped by `npm pack`) when installed, where there is no src/.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(import.meta.url);
const src = new URL('../src/cli/main.ts', import.meta.url);
// Installed under node_modules (npm install -g) or unpacked from the tarball: only dist/ is there.
const installed = here.includes('/node_modules/') || !existsSync(fileURLToPath(src));
const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  // The machine's node may be older; in a checkout re-exec with the pinned Node 24 from node_modules.
  const pinned = fileURLToPath(new URL('../node_modules/node/bin/node', import.meta.url));
  if (installed || !existsSync(pinned)) {
    process.stderr.write(`grenier needs Node 24 or later; this is Node ${process.versions.node} (${process.execPath})\n`);
    process.exit(1);
  }
  const { spawnSync } = await import('node:child_process');
  const r = spawnSync(pinned, [here, ...process.argv.slice(2)], { stdio: 'inherit' });
  process.exit(r.status ?? 1);
}
await import(installed ? new URL('../dist/cli/main.js', import.meta.url).href : src.href);
