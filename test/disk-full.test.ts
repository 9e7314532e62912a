// A full data disk: writes fail with a clear 507 InsufficientStorage, nothing stored before is
// damaged, and writes work again once space returns. Uses a small tmpfs (root only).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, DeleteObjectCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { startNode, s3Client } from './lib/node.ts';
import { randomBytes } from 'node:crypto';

function canMountTmpfs(dir: string): string | undefined {
  if (process.getuid?.() !== 0) return 'not root: cannot mount a small tmpfs to fill';
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=12m', 'tmpfs', dir], { stdio: 'pipe' });
    return undefined;
  } catch (e) {
    return `mount -t tmpfs failed: ${(e as Error).message.split('\n')[0]}`;
  }
}

test('full disk: 507 InsufficientStorage, no damage, recovery when space returns', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'grenier-full-'));
  const dataDir = join(dir, 'data');
  mkdirSync(dataDir);
  const why = canMountTmpfs(dataDir);
  if (why) {
    rmSync(dir, { recursive: true, force: true });
    t.skip(why);
    return;
  }
  const node = await startNode({ dir, keepDir: true, extraConfig: 'compression_level = "none"\nblock_gc_delay_secs = 0' });
  try {
    const s3 = s3Client(node, { requestChecksumCalculation: 'WHEN_REQUIRED' });
    await s3.send(new CreateBucketCommand({ Bucket: 'full' }));
    const kept = randomBytes(2 * 1024 * 1024);
    await s3.send(new PutObjectCommand({ Bucket: 'full', Key: 'kept', Body: kept }));
    // Fill the 12 MiB disk with 3 MiB objects until the node refuses.
    let refused: { status?: number; code?: string; message?: string } | undefined;
    const stored: string[] = [];
    for (let i = 0; i < 10 && !refused; i++) {
      try {
        await s3.send(new PutObjectCommand({ Bucket: 'full', Key: `fill-${i}`, Body: randomBytes(3 * 1024 * 1024) }));
        stored.push(`fill-${i}`);
      } catch (e) {
        const err = e as { $metadata?: { httpStatusCode?: number }; name?: string; message?: string };
        refused = { status: err.$metadata?.httpStatusCode, code: err.name, message: err.message };
      }
    }
    assert.ok(refused, 'the disk never filled up');
    assert.equal(refused.status, 507, `expected 507, got ${JSON.stringify(refused)}\n${node.output().slice(-1500)}`);
    assert.equal(refused.code, 'InsufficientStorage');
    assert.match(refused.message ?? '', /space/i);
    // What was stored before is intact, and the server still answers.
    const got = await s3.send(new GetObjectCommand({ Bucket: 'full', Key: 'kept' }));
    assert.ok(Buffer.from(await got.Body!.transformToByteArray()).equals(kept), 'an object stored before the disk filled is damaged');
    // Free space (delete + block GC, which runs on a short delay here) and write again.
    for (const k of stored) await s3.send(new DeleteObjectCommand({ Bucket: 'full', Key: k }));
    await node.admin('LaunchRepairOperation', { repairType: 'gc' });
    const deadline = Date.now() + 30_000;
    let ok = false;
    while (!ok && Date.now() < deadline) {
      try {
        await s3.send(new PutObjectCommand({ Bucket: 'full', Key: 'after', Body: randomBytes(3 * 1024 * 1024) }));
        ok = true;
      } catch {
        await node.admin('LaunchRepairOperation', { repairType: 'gc' });
        await new Promise((r) => setTimeout(r, 500));
      }
    }
    assert.ok(ok, 'writes did not work again after space was freed');
  } finally {
    await node.stop();
    try {
      execFileSync('umount', [dataDir]);
    } catch {
      /* already gone */
    }
    rmSync(dir, { recursive: true, force: true });
  }
});
