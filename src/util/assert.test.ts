// Invariant assertions: what they check, that they throw before anything is written, and that a
// failed one on an S3 request is a 500 InternalError that leaves the object as it was.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { S3Client, PutObjectCommand, DeleteObjectCommand, GetObjectCommand } from '@aws-sdk/client-s3';
import { InvariantError, invariant, assertInTransaction } from './assert.ts';
import { Db } from '../db/db.ts';
import { BlockManager } from '../block/manager.ts';
import { systemClock } from './time.ts';
import { sha256 } from './hash.ts';
import { createS3Server } from '../api/s3/server.ts';
import { testEnv } from '../api/s3/ops/test-ctx.ts';

function tempDb(): { db: Db; dir: string; close: () => Promise<void> } {
  const dir = mkdtempSync(join(tmpdir(), 'grenier-assert-'));
  const db = new Db(join(dir, 'meta'), { fsync: false });
  return { db, dir, close: async () => (await db.close(), rmSync(dir, { recursive: true, force: true })) };
}

test('invariant: passes when true, throws an InvariantError naming what broke otherwise', () => {
  invariant(true, 'never thrown');
  assert.throws(
    () => invariant(false, 'refcount is negative', { block: 'ab' }),
    (e: unknown) => e instanceof InvariantError && /invariant broken: refcount is negative/.test(e.message) && e.details?.block === 'ab',
  );
});

test('Db.inTransaction: true inside transaction() (nested too), false outside, also after a throw', async () => {
  const t = tempDb();
  try {
    assert.equal(t.db.inTransaction, false);
    t.db.transaction(() => {
      assert.equal(t.db.inTransaction, true);
      t.db.transaction(() => assert.equal(t.db.inTransaction, true));
      assert.equal(t.db.inTransaction, true);
    });
    assert.throws(() => t.db.transaction(() => { throw new Error('boom'); }), /boom/);
    assert.equal(t.db.inTransaction, false);
    assert.throws(() => assertInTransaction(t.db, 'x'), InvariantError);
    t.db.transaction(() => assertInTransaction(t.db, 'x'));
  } finally {
    await t.close();
  }
});

test('BlockManager.refChanged: a refcount going negative throws before writing (no silent clamp to 0)', async () => {
  const t = tempDb();
  try {
    const m = new BlockManager(t.db, join(t.dir, 'data'), systemClock, { blockSize: 1024 * 1024, compression: 'none', fsync: false });
    const h = sha256(Buffer.from('a block'));
    const hex = h.toString('hex');
    assert.throws(() => t.db.transaction(() => m.refChanged(hex, -1)), InvariantError);
    assert.equal(m.rcCount(), 0, 'nothing written by the refused decrement');
    t.db.transaction(() => m.refChanged(hex, 1));
    t.db.transaction(() => m.refChanged(hex, -1));
    assert.equal(m.refcount(h), 0);
    assert.throws(() => t.db.transaction(() => m.refChanged(hex, -1)), InvariantError);
    assert.equal(m.refcount(h), 0);
    assert.equal(m.rcCount(), 1);
  } finally {
    await t.close();
  }
});

test('BlockManager.refChanged and LocalTable.mergeIn refuse to run outside a transaction', async () => {
  const env = await testEnv();
  try {
    const h = sha256(Buffer.from('x')).toString('hex');
    assert.throws(() => env.store.blocks.refChanged(h, 1), InvariantError);
    assert.equal(env.store.blocks.rcCount(), 0);
    assert.throws(() => env.store.blockRefs.local.mergeIn({ block: h, version: 'v', deleted: false }), InvariantError);
    assert.equal(env.store.blockRefs.local.get(h, 'v'), undefined);
    env.store.db.transaction(() => env.store.blockRefs.local.mergeIn({ block: h, version: 'v', deleted: false }));
    assert.equal(env.store.blocks.refcount(Buffer.from(h, 'hex')), 1);
  } finally {
    await env.close();
  }
});

test('a broken refcount invariant on an S3 request: 500 InternalError, and the object is left intact', async () => {
  const env = await testEnv();
  await env.bucket('inv');
  const srv = createS3Server(env.store, { region: 'garage' });
  await new Promise<void>((ok) => srv.listen(0, '127.0.0.1', ok));
  const c = new S3Client({
    endpoint: `http://127.0.0.1:${(srv.address() as AddressInfo).port}`,
    forcePathStyle: true,
    region: 'garage',
    credentials: { accessKeyId: env.accessKey.id, secretAccessKey: env.accessKey.secret },
    maxAttempts: 1,
  });
  try {
    const body = Buffer.alloc(8192, 7); // above the inline threshold: one block
    await c.send(new PutObjectCommand({ Bucket: 'inv', Key: 'k', Body: body }));
    const h = sha256(body);
    assert.equal(env.store.blocks.refcount(h), 1);
    // Simulate the bug the assertion guards against: the block's refcount row lost.
    env.store.db.transaction(() => env.store.db.tree('block_rc').remove(h));
    await assert.rejects(c.send(new DeleteObjectCommand({ Bucket: 'inv', Key: 'k' })), (e: Error & { $metadata?: { httpStatusCode?: number } }) => {
      assert.equal(e.name, 'InternalError');
      assert.equal(e.$metadata?.httpStatusCode, 500);
      return true;
    });
    // Nothing of the delete was kept: the object still reads back, its reference is still live.
    const got = Buffer.from(await (await c.send(new GetObjectCommand({ Bucket: 'inv', Key: 'k' }))).Body!.transformToByteArray());
    assert.deepEqual(got, body);
    const refs = [...env.store.blockRefs.local.range(h.toString('hex'))];
    assert.equal(refs.length, 1);
    assert.equal(refs[0]!.deleted, false);
  } finally {
    c.destroy();
    await new Promise<void>((ok) => srv.close(() => ok()));
    await env.close();
  }
});
