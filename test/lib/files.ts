// File-tree helpers for client tests: deterministic pseudo-random files and trees,
// and a byte-for-byte comparison of two directory trees.
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { Readable } from 'node:stream';

/** A Readable of `size` deterministic bytes, generated chunk by chunk (never held whole). */
export function prngReadable(seed: number, size: number, chunk = 1024 * 1024): Readable {
  const g = new FastPrng(seed);
  let left = size;
  return new Readable({
    highWaterMark: chunk,
    read() {
      if (left <= 0) {
        this.push(null);
        return;
      }
      const n = Math.min(chunk, left);
      left -= n;
      this.push(g.bytes(n));
    },
  });
}

/** A fast deterministic byte generator (32-bit xorshift per word), for multi-GiB bodies. */
export class FastPrng {
  private x: number;
  constructor(seed: number) {
    this.x = (seed * 2654435761) >>> 0 || 1;
  }
  bytes(n: number): Buffer {
    const words = Math.ceil(n / 4);
    const a = new Uint32Array(words);
    let x = this.x;
    for (let i = 0; i < words; i++) {
      x ^= x << 13;
      x >>>= 0;
      x ^= x >>> 17;
      x ^= x << 5;
      x >>>= 0;
      a[i] = x;
    }
    this.x = x;
    return Buffer.from(a.buffer, 0, n);
  }
}

/** Writes files (relative path → size) under root with deterministic content; returns their paths. */
export function makeTree(root: string, files: Record<string, number>, seed = 1): string[] {
  const g = new FastPrng(seed);
  const out: string[] = [];
  for (const [rel, size] of Object.entries(files)) {
    const p = join(root, rel);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, g.bytes(size));
    out.push(p);
  }
  return out;
}

/** Relative paths of every regular file under root, sorted. */
export function listFiles(root: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) out.push(relative(root, p));
    }
  };
  walk(root);
  return out.sort();
}

export function sha256File(p: string): string {
  return createHash('sha256').update(readFileSync(p)).digest('hex');
}

/** Differences between two trees (missing, extra or differing files); empty when identical. */
export function diffTrees(expected: string, actual: string): string[] {
  const a = listFiles(expected);
  const b = listFiles(actual);
  const diffs: string[] = [];
  const bs = new Set(b);
  for (const f of a) {
    if (!bs.has(f)) diffs.push(`missing: ${f}`);
    else if (statSync(join(expected, f)).size !== statSync(join(actual, f)).size) diffs.push(`size differs: ${f}`);
    else if (sha256File(join(expected, f)) !== sha256File(join(actual, f))) diffs.push(`content differs: ${f}`);
  }
  const as = new Set(a);
  for (const f of b) if (!as.has(f)) diffs.push(`extra: ${f}`);
  return diffs;
}
