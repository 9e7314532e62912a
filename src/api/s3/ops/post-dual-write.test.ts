// Two overlapping PostObjects (and CopyObjects that share the source's bytes) to one key: the one
// that FINISHES last wins, as PutObject's (dual-write.test.ts) and S3's; the request's start time
// must not decide.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import { PostObject } from './post.ts';
import { CopyObject, PutObject } from './object.ts';
import { liveVersion } from '../../../model/object.ts';
import { fakeCtx, testEnv, type TestEnv } from './test-ctx.ts';
import type { Bucket } from '../../../model/bucket.ts';

const SIZE = 256 * 1024;
const BOUNDARY = 'dualwriteboundary';

/** A SigV2 form for `key` signed with the test key, its file given as chunks. */
async function* form(env: TestEnv, key: string, file: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  const policy = Buffer.from(JSON.stringify({ expiration: new Date(Date.now() + 3600_000).toISOString(), conditions: [{ bucket: 'dual' }, ['starts-with', '$key', '']] })).toString('base64');
  const fields: Record<string, string> = {
    key,
    AWSAccessKeyId: env.accessKey.id,
    policy,
    signature: createHmac('sha1', env.accessKey.secret).update(policy).digest('base64'),
  };
  let head = '';
  for (const [k, v] of Object.entries(fields)) head += `--${BOUNDARY}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`;
  yield Buffer.from(`${head}--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="f"\r\nContent-Type: application/octet-stream\r\n\r\n`);
  yield* file;
  yield Buffer.from(`\r\n--${BOUNDARY}--\r\n`);
}

async function post(env: TestEnv, file: AsyncIterable<Buffer>): Promise<void> {
  const { ctx, res } = fakeCtx(env, { method: 'POST', bucketName: 'dual', headers: { 'content-type': `multipart/form-data; boundary=${BOUNDARY}` }, body: form(env, 'testobj', file) });
  await PostObject(ctx);
  assert.ok(res.status === 204 || res.status === 200, `POST answered ${res.status}`);
}

async function* once(b: Buffer): AsyncGenerator<Buffer> {
  yield b;
}

const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');

test('PostObject: a POST that started first but finished last wins over a POST made meanwhile', async () => {
  const env = await testEnv();
  try {
    const b = await env.bucket('dual');
    async function* fileB(): AsyncGenerator<Buffer> {
      yield Buffer.alloc(SIZE / 2, 'B');
      await post(env, once(Buffer.alloc(SIZE, 'A')));
      yield Buffer.alloc(SIZE / 2, 'B');
    }
    await post(env, fileB());
    const live = liveVersion((await env.store.objects.get(b.id, 'testobj'))!);
    assert.equal(live?.meta?.etag, md5(Buffer.alloc(SIZE, 'B')), 'the object holds B, the POST that finished last');
  } finally {
    await env.close();
  }
});

async function putObject(env: TestEnv, b: Bucket, key: string, body: Buffer): Promise<void> {
  const { ctx } = fakeCtx(env, { method: 'PUT', bucket: b, bucketName: 'dual', key, headers: { 'content-length': String(body.length) }, body });
  await PutObject(ctx);
}

for (const [name, size] of [['blocks', SIZE], ['inline', 100]] as const) {
  test(`CopyObject sharing the source's ${name}: stamped when it commits, so it wins over a PUT that finished before it`, async () => {
    const env = await testEnv();
    try {
      const b = await env.bucket('dual');
      const src = Buffer.alloc(size, 'C');
      await putObject(env, b, 'src', src);
      const { ctx } = fakeCtx(env, { method: 'PUT', bucket: b, bucketName: 'dual', key: 'testobj', headers: { 'x-amz-copy-source': '/dual/src' } });
      // The copy starts (its version is made) before the PUT, which finishes first: the PUT is
      // written after the copy read the key's entry for its commit, before its object entry.
      const store = env.store;
      const get = store.objects.get.bind(store.objects);
      let raced = false;
      store.objects.get = async (bucket: string, key: string) => {
        const r = await get(bucket, key);
        if (key === 'testobj' && !raced && new Error().stack!.includes('commitVersion')) {
          raced = true;
          await putObject(env, b, 'testobj', Buffer.alloc(size, 'P'));
        }
        return r;
      };
      await CopyObject(ctx);
      assert.ok(raced, 'the PUT ran during the copy');
      store.objects.get = get;
      const live = liveVersion((await env.store.objects.get(b.id, 'testobj'))!);
      assert.equal(live?.meta?.etag, md5(src), 'the object holds the copy, the write that finished last');
    } finally {
      await env.close();
    }
  });
}
