// The full-disk nemesis's tmpfs (root only): mounting keeps what the directory held, fill() makes
// the next 64 KiB write fail with ENOSPC, free() lets it succeed again, unmount() leaves the
// directory on the disk below.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { mountSmallDisk, tmpfsProblem, usage } from './lib/disk.ts';

const problem = tmpfsProblem();

test('small disk: mount keeps contents, fill gives ENOSPC, free restores, unmount restores the dir', { skip: problem, timeout: 30_000 }, () => {
  const root = mkdtempSync(join(tmpdir(), 'grenier-disk-test-'));
  const dir = join(root, 'data');
  mkdirSync(join(dir, 'tmp'), { recursive: true });
  writeFileSync(join(dir, 'tmp', 'keep'), 'kept');
  const d = mountSmallDisk(dir, 8 * 1024 * 1024);
  try {
    assert.equal(readFileSync(join(dir, 'tmp', 'keep'), 'utf8'), 'kept');
    assert.equal(usage(dir).size, 8 * 1024 * 1024);
    writeFileSync(join(dir, 'a'), Buffer.alloc(1024 * 1024));
    d.fill();
    assert.ok(d.full());
    assert.throws(() => writeFileSync(join(dir, 'b'), Buffer.alloc(65536)), /ENOSPC/);
    d.free();
    writeFileSync(join(dir, 'c'), Buffer.alloc(65536));
    d.unmount();
    assert.ok(!existsSync(join(dir, 'a')), 'still on the tmpfs after unmount');
    d.unmount(); // idempotent
  } finally {
    d.unmount();
    rmSync(root, { recursive: true, force: true });
  }
});
