// The deploy progress bar and plain-line mode, the bounded upload pool and the tree walk.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Progress, progressLine } from './progress.ts';
import { pool, walk } from './deploy.ts';

test('progressLine: bar by bytes, files and MB', () => {
  assert.equal(progressLine(12, 40, 3_100_000, 9_800_000, 10), '[===>      ] 12/40 files 3.1/9.8 MB');
  assert.equal(progressLine(0, 0, 0, 0, 4), '[====] 0/0 files 0.0/0.0 MB');
  assert.equal(progressLine(40, 40, 9_800_000, 9_800_000, 4), '[====] 40/40 files 9.8/9.8 MB');
});

test('Progress: plain lines (throttled) without a TTY, one redrawn line with one', () => {
  const plain: string[] = [];
  const p = new Progress(3, 300, { write: (s: string) => plain.push(s) });
  p.addBytes(100);
  p.fileDone();
  p.addBytes(200);
  p.fileDone();
  p.fileDone();
  p.finish();
  assert.ok(plain.length >= 2 && plain.length <= 3, plain.join(''));
  assert.ok(plain.every((l) => l.endsWith('\n') && !l.includes('\r')));
  assert.match(plain.at(-1)!, /3\/3 files/);
  const tty: string[] = [];
  const q = new Progress(1, 10, { write: (s: string) => tty.push(s), isTTY: true });
  q.addBytes(10);
  q.fileDone();
  q.finish();
  assert.ok(tty.slice(0, -1).every((l) => l.startsWith('\r')));
  assert.equal(tty.at(-1), '\n');
});

test('pool: never more than the limit at once, all done, first failure reported', async () => {
  let running = 0;
  let peak = 0;
  const done: number[] = [];
  await pool(Array.from({ length: 30 }, (_, i) => i), 8, async (i) => {
    running++;
    peak = Math.max(peak, running);
    await new Promise((r) => setTimeout(r, 1 + (i % 3)));
    running--;
    done.push(i);
  });
  assert.equal(peak, 8);
  assert.equal(done.length, 30);
  await assert.rejects(pool([1, 2, 3], 2, async (i) => { if (i === 2) throw new Error('boom'); }), /boom/);
});

test('walk: regular files as sorted relative paths; symlinks and .grenier/ skipped with a warning', async () => {
  const d = mkdtempSync(join(tmpdir(), 'grenier-walk-'));
  try {
    mkdirSync(join(d, 'b/c'), { recursive: true });
    mkdirSync(join(d, '.grenier'));
    writeFileSync(join(d, 'index.html'), 'x');
    writeFileSync(join(d, 'b/c/z.css'), 'yy');
    writeFileSync(join(d, '.grenier/evil'), 'z');
    symlinkSync('/etc/passwd', join(d, 'link'));
    const warnings: string[] = [];
    const files = await walk(d, (w) => warnings.push(w));
    assert.deepEqual(files.map((f) => [f.path, f.size]), [['b/c/z.css', 2], ['index.html', 1]]);
    assert.equal(warnings.length, 2, warnings.join('; '));
    await assert.rejects(walk(join(d, 'index.html')), /not a directory/);
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
});
