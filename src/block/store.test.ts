import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { BlockStore, BlockCorrupted, BlockMissing } from './store.ts';
import { chunk } from './chunker.ts';
import { sha256 } from '../util/hash.ts';

test('blocks round-trip, compressed or not, and corruption is detected', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'grenier-blocks-'));
  try {
    for (const compression of ['none', 3] as const) {
      const s = new BlockStore(join(dir, String(compression)), { fsync: true, compression });
      const text = Buffer.alloc(100_000, 'abc');
      const rnd = Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 7919) % 251));
      for (const b of [text, rnd]) {
        await s.put(sha256(b), b);
        assert.ok(s.has(sha256(b)));
        assert.deepEqual(await s.get(sha256(b)), b);
      }
      const listed = [];
      for await (const h of s.list()) listed.push(h.toString('hex'));
      assert.equal(listed.length, 2);
      // Corrupt the raw block on disk.
      const hex = sha256(rnd).toString('hex');
      writeFileSync(join(s.dir, hex.slice(0, 2), hex.slice(2, 4), hex), Buffer.from('evil'));
      await assert.rejects(s.get(sha256(rnd)), BlockCorrupted);
      await s.quarantine(sha256(rnd));
      await assert.rejects(s.get(sha256(rnd)), BlockMissing);
      const q = readdirSync(join(s.dir, 'quarantine'));
      assert.ok(q.length >= 1 && q.every((f) => f.startsWith(hex)), `quarantine holds ${q.join(', ')}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('chunker cuts at exact sizes whatever the input fragmentation', async () => {
  const data = Buffer.from(Array.from({ length: 1000 }, (_, i) => i & 255));
  for (const frag of [1, 7, 100, 333, 1000]) {
    const pieces = [];
    for (let i = 0; i < data.length; i += frag) pieces.push(data.subarray(i, i + frag));
    const out = [];
    for await (const b of chunk(Readable.from(pieces), 256)) out.push(b);
    assert.deepEqual(out.map((b) => b.length), [256, 256, 256, 232]);
    assert.deepEqual(Buffer.concat(out), data);
  }
  const none = [];
  for await (const b of chunk(Readable.from([]), 256)) none.push(b);
  assert.equal(none.length, 0);
});

test('incompressible blocks are stored raw, compressible ones as zstd', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'grenier-blocks-'));
  try {
    const s = new BlockStore(dir, { fsync: false, compression: 1 });
    const { randomBytes } = await import('node:crypto');
    const noise = randomBytes(1024 * 1024);
    const text = Buffer.from('the same line again and again\n'.repeat(40_000));
    for (const b of [noise, text]) await s.put(sha256(b), b);
    const at = (b: Buffer) => {
      const hex = sha256(b).toString('hex');
      return readdirSync(join(dir, hex.slice(0, 2), hex.slice(2, 4)));
    };
    assert.deepEqual(at(noise), [sha256(noise).toString('hex')]);
    assert.deepEqual(at(text), [sha256(text).toString('hex') + '.zst']);
    assert.deepEqual(await s.get(sha256(text)), text);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
