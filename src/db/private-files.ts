// Secrets at rest: the metadata and data directories are private to the node's user (0700), the
// files of the metadata directory (LMDB holds every secret key in clear, the node key) are 0600.
// Created so; wider modes found on start are narrowed, with a warning (someone widened them).
import { chmodSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { log } from '../util/log.ts';

const DIR_MODE = 0o700;
const FILE_MODE = 0o600;

/** Removes the bits `want` does not allow; true if it had to. */
function narrow(path: string, want: number, what: string): boolean {
  const mode = statSync(path).mode & 0o777;
  if ((mode & ~want) === 0) return false;
  chmodSync(path, mode & want);
  log.warn({ path, mode: mode.toString(8), now: (mode & want).toString(8) }, `${what}: permissions were wider than ${want.toString(8)}; narrowed`);
  return true;
}

/** Creates `path` (and missing parents) 0700, or narrows an existing directory to 0700. */
export function privateDir(path: string, what: string): void {
  mkdirSync(path, { recursive: true, mode: DIR_MODE });
  narrow(path, DIR_MODE, what);
}

/** Narrows every regular file directly in `dir` to 0600 (LMDB's files, the node key). */
export function privateFiles(dir: string, what: string): void {
  for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isFile()) narrow(join(dir, e.name), FILE_MODE, what);
}
