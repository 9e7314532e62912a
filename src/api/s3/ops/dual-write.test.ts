// Two overlapping PUTs to one key: the one that FINISHES last wins, as on S3 (s3-tests
// test_atomic_dual_write_*: B starts, A is written while B uploads, B completes last: B is read).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { PutObject } from './object.ts';
import { liveVersion } from '../../../model/object.ts';
import { fakeCtx, testEnv, type TestEnv } from './test-ctx.ts';
import type { Bucket } from '../../../model/bucket.ts';

const SIZE = 256 * 1024;

async function put(env: TestEnv, b: Bucket, body: Buffer | AsyncIterable<Buffer>): Promise<void> {
  const { ctx, res } = fakeCtx(env, { method: 'PUT', bucket: b, bucketName: 'dual', key: 'testobj', headers: { 'content-length': String(SIZE) }, body });
  await PutObject(ctx);
  assert.equal(res.status, 200);
}

for (const [name, inner] of [['a large', SIZE], ['an inline', 0]] as const) {
  test(`PutObject: a write that started first but finished last wins over ${name} write made meanwhile`, async () => {
    const env = await testEnv();
    try {
      const b = await env.bucket('dual');
      // B's body: half of it, then a whole PUT of A (awaited), then the rest.
      async function* bodyB(): AsyncGenerator<Buffer> {
        yield Buffer.alloc(SIZE / 2, 'B');
        if (inner) await put(env, b, Buffer.alloc(SIZE, 'A'));
        else {
          const { ctx } = fakeCtx(env, { method: 'PUT', bucket: b, bucketName: 'dual', key: 'testobj', headers: { 'content-length': '1' }, body: 'A' });
          await PutObject(ctx);
        }
        yield Buffer.alloc(SIZE / 2, 'B');
      }
      await put(env, b, bodyB());
      const live = liveVersion((await env.store.objects.get(b.id, 'testobj'))!);
      const md5B = createHash('md5').update(Buffer.alloc(SIZE, 'B')).digest('hex');
      assert.equal(live?.meta?.etag, md5B, 'the object holds B, the write that finished last');
    } finally {
      await env.close();
    }
  });
}
