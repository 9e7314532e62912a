// The resync queue's length is kept in the same transaction as its entries: an enqueue rolled back
// with the write that caused it (a block_ref hook) counts nothing; older databases count once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Db } from '../db/db.ts';
import { ResyncQueue } from './resync-queue.ts';
import { sha256 } from '../util/hash.ts';
import { systemClock } from '../util/time.ts';

const h = (i: number) => sha256(`block ${i}`);

test('resync queue length: a rolled-back enqueue is not counted, delivered blocks are, and an old queue is counted once', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'grenier-resync-count-'));
  try {
    const db = new Db(join(dir, 'meta'));
    const q = new ResyncQueue(db, systemClock);
    q.enqueue(h(1));
    assert.equal(q.length(), 1);
    assert.throws(() =>
      db.transaction(() => {
        q.enqueue(h(2));
        throw new Error('the block_ref write failed');
      }),
    );
    assert.equal(q.length(), 1, 'a rolled-back enqueue was counted');
    q.enqueueMany([h(3), h(4), h(1)]);
    assert.equal(q.length(), 3);
    q.doneMany([h(1), h(3), h(9)]);
    assert.equal(q.length(), 1);
    // What an older release left: entries, no count.
    const meta = db.tree<number>('block_meta');
    db.transaction(() => meta.remove(Buffer.from('resync_queue_length')));
    assert.equal(new ResyncQueue(db, systemClock).length(), 1);
    await db.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
