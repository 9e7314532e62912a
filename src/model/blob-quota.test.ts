// PutSiteBlob with no declared length: the body stops at the site's remaining quota (or
// limits.object_bytes_max) while streaming, and its blocks leave the disk at once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Store } from './store.ts';
import { createKey } from './bucket-ops.ts';
import { ModelError } from './errors.ts';
import { createSite, putBlob } from './site.ts';

const MB = 1_000_000;

function diskBytes(dir: string): number {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    n += e.isDirectory() ? diskBytes(p) : statSync(p).size;
  }
  return n;
}

async function withStore(limits: { object_bytes_max?: number }, fn: (store: Store, dir: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'grenier-blobq-'));
  const store = new Store({ metadataDir: join(dir, 'meta'), dataDir: join(dir, 'data'), blockSize: 1024 * 1024, compression: 'none', dataFsync: false, metadataFsync: false, inlineThreshold: 3072, limits });
  try {
    await fn(store, dir);
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

function body(total: number, counter: { sent: number }): AsyncGenerator<Buffer> {
  return (async function* () {
    while (counter.sent < total) {
      const c = randomBytes(64 * 1024);
      counter.sent += c.length;
      yield c;
    }
  })();
}

test('PutSiteBlob of unknown length stops at the site quota and leaves nothing on disk', async () => {
  await withStore({}, async (store, dir) => {
    const k = await createKey(store, 'owner');
    const ref = await createSite(store, 'blob.example.org', k, { indexDocument: 'index.html', maxSize: 5 * MB });
    const counter = { sent: 0 };
    await assert.rejects(putBlob(store, ref, 'a'.repeat(64), body(40 * MB, counter), undefined), (e: unknown) => e instanceof ModelError && e.code === 'QuotaExceeded');
    assert.ok(counter.sent < 5 * MB + 8 * 1024 * 1024, `read only about the quota (${counter.sent} bytes)`);
    assert.equal(diskBytes(join(dir, 'data')), 0, 'the refused blob left no block');
    assert.deepEqual(store.counters.get(ref.bucket.id), { objects: 0, bytes: 0 });
  });
});

test('PutSiteBlob past limits.object_bytes_max is refused EntityTooLarge, declared or streamed', async () => {
  await withStore({ object_bytes_max: 2 * MB }, async (store, dir) => {
    const k = await createKey(store, 'owner');
    const ref = await createSite(store, 'big.example.org', k, { indexDocument: 'index.html', maxSize: 50 * MB });
    const counter = { sent: 0 };
    const tooLarge = (e: unknown) => e instanceof ModelError && e.code === 'EntityTooLarge';
    await assert.rejects(putBlob(store, ref, 'b'.repeat(64), body(20 * MB, counter), undefined), tooLarge);
    assert.ok(counter.sent < 2 * MB + 8 * 1024 * 1024, `stopped early (${counter.sent} bytes)`);
    assert.equal(diskBytes(join(dir, 'data')), 0);
    const unread = { sent: 0 };
    await assert.rejects(putBlob(store, ref, 'b'.repeat(64), body(20 * MB, unread), 3 * MB), tooLarge);
    assert.equal(unread.sent, 0, 'a declared size over the limit is refused before reading');
  });
});
