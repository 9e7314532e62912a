// The shared commit (model/commit.ts) on a real Store: a write that fails before its object entry
// gives back what it recorded, whichever operation made it; a multipart completion is never undone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { Store } from './store.ts';
import { createBucket, createKey } from './bucket-ops.ts';
import { createSite, missingBlobs, putBlob } from './site.ts';
import { commitVersion, writtenData } from './commit.ts';
import type { ObjectVersion } from './object.ts';

function diskBytes(dir: string): number {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    n += e.isDirectory() ? diskBytes(p) : statSync(p).size;
  }
  return n;
}

async function withStore(fn: (store: Store, dataDir: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'grenier-commit-'));
  // 1 KiB blocks: a 6 KiB body has more blocks than an object entry embeds (a version entry too).
  const store = new Store({ metadataDir: join(dir, 'meta'), dataDir: join(dir, 'data'), blockSize: 1024, compression: 'none', dataFsync: false, metadataFsync: false, inlineThreshold: 100 });
  try {
    await fn(store, join(dir, 'data'));
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function* once(b: Buffer): AsyncGenerator<Buffer> {
  yield b;
}

const live = (store: Store, hashes: Buffer[]) => hashes.filter((h) => store.blocks.refcount(h) > 0).length;

test('a site blob whose commit fails after its block list is recorded gives its blocks back', async () => {
  await withStore(async (store, dataDir) => {
    const ref = await createSite(store, 'commit.example.org', await createKey(store, 'owner'), { indexDocument: 'index.html', maxSize: 1_000_000 });
    const data = randomBytes(6 * 1024);
    const sha = createHash('sha256').update(data).digest('hex');
    const empty = diskBytes(dataDir);
    // The object entry's read fails once the blocks are recorded (a replica set unreachable).
    let recorded: Buffer[] | undefined;
    const commitBlocks = store.commitBlocks.bind(store);
    store.commitBlocks = async (uuid, blocks) => {
      recorded = blocks.map((b) => b.hash);
      return commitBlocks(uuid, blocks);
    };
    const get = store.objects.get.bind(store.objects);
    store.objects.get = async (...a) => {
      if (recorded) throw new Error('replicas unreachable');
      return get(...a);
    };
    await assert.rejects(putBlob(store, ref, sha, once(data), data.length), /replicas unreachable/);
    store.objects.get = get;
    store.commitBlocks = commitBlocks;
    assert.equal(recorded?.length, 6);
    assert.equal(live(store, recorded!), 0, 'no reference is left on the blocks');
    assert.equal(diskBytes(dataDir) <= empty + 1024, true, `the blocks are deleted at once (${diskBytes(dataDir) - empty} bytes more than before)`);
    assert.deepEqual(await missingBlobs(store, ref.bucket.id, [sha]), [sha]);
    // And the same blob stores fine afterwards.
    assert.equal((await putBlob(store, ref, sha, once(data), data.length)).stored, true);
    assert.equal(live(store, recorded!), 6);
  });
});

test('a multipart completion is written whole: a failure after it began undoes nothing', async () => {
  await withStore(async (store) => {
    const b = await createBucket(store, 'complete-whole');
    const w = await store.writeData(once(randomBytes(6 * 1024)), 'part-version');
    const refs = (await store.commitBlocks('part-version', w.blocks)) ?? (await store.versions.get('part-version', ''))!.blocks;
    const uploadId = store.newUuid();
    const v: ObjectVersion = { uuid: uploadId, ts: store.ts(), state: 'uploading', nullVersion: true, deleteMarker: false, multipart: true, meta: { size: w.size, etag: 'x-1', headers: [] } };
    const insert = store.objects.insert.bind(store.objects);
    store.objects.insert = async () => {
      throw new Error('replicas unreachable');
    };
    await assert.rejects(
      commitVersion(store, { bucket: b, key: 'k', version: v, data: { completion: { ts: v.ts, etag: 'x-1' }, blocks: refs.map((r) => ({ ...r, part: 1 })) }, stamp: 'kept' }),
      /replicas unreachable/,
    );
    store.objects.insert = insert;
    // A retried Complete finds the upload's version entry and references as written.
    const ve = await store.versions.get(uploadId, '');
    assert.equal(ve?.deleted, false);
    assert.equal(ve?.blocks.length, 6);
    assert.equal(live(store, w.blocks.map((x) => x.hash)), 6);
    // writtenData: an inline body is committed inline, a stored one by its blocks.
    assert.deepEqual(writtenData({ inline: Buffer.from('x'), blocks: [] }), { inline: Buffer.from('x') });
    assert.deepEqual(writtenData(w), { stored: w.blocks });
  });
});
