// Large bodies are hashed in the hash workers (hash-pool.ts): same MD5, payload SHA-256 and checksum
// results and the same errors as inline, and a worker dying mid-body fails that body only.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { Readable } from 'node:stream';
import { decodeBody } from './index.ts';
import { collect, collectSettled, s3err } from './testkit.ts';
import type { AuthResult, PayloadMode } from './types.ts';
import { acquireHashPool, hashPool, HashWorkerError } from '../../../util/hash-pool.ts';

const auth = (payload: PayloadMode): AuthResult => ({ accessKeyId: 'AKID', payload }) as AuthResult;
const hex = (alg: string, b: Buffer) => createHash(alg).update(b).digest('hex');
const b64 = (alg: string, b: Buffer) => createHash(alg).update(b).digest('base64');
// A body arriving in socket-sized pieces, slices of bigger buffers as the HTTP parser hands them.
const body = (b: Buffer) => Readable.from((function* () { for (let i = 0; i < b.length; i += 65536) yield b.subarray(i, i + 65536); })());

test('a large body: MD5, payload SHA-256 and x-amz-checksum-sha256 from the workers, errors as inline', async () => {
  const release = acquireHashPool({ hash_workers: 1, hash_queue_max: 64 });
  try {
    const data = randomBytes(3 * 1024 * 1024 + 17);
    const h: IncomingHttpHeaders = { 'content-length': String(data.length), 'content-md5': b64('md5', data), 'x-amz-checksum-sha256': b64('sha256', data) };
    const d = decodeBody(auth({ kind: 'sha256', expected: hex('sha256', data) }), h, body(data));
    assert.ok((await collect(d.stream)).equals(data));
    assert.equal(d.result().md5Hex, hex('md5', data));
    assert.deepEqual(d.result().checksums, { sha256: b64('sha256', data) });
    assert.ok(hashPool().liveWorkers > 0, 'hashed in a worker');

    const bad = decodeBody(auth({ kind: 'sha256', expected: hex('sha256', Buffer.from('other')) }), { 'content-length': String(data.length) }, body(data));
    s3err('XAmzContentSHA256Mismatch')((await collectSettled(bad.stream)).error);
    const badMd5 = decodeBody(auth({ kind: 'unsigned' }), { 'content-length': String(data.length), 'content-md5': b64('md5', Buffer.from('x')) }, body(data));
    s3err('BadDigest')((await collectSettled(badMd5.stream)).error);
    // Unknown length (chunked transfer): offloaded too.
    const u = decodeBody(auth({ kind: 'unsigned' }), {}, body(data));
    await collect(u.stream);
    assert.equal(u.result().md5Hex, hex('md5', data));
    assert.equal(hashPool().pending, 0);
  } finally {
    await release();
  }
});

test('a hash worker dying mid-body errors that body (a 500), not the process', async () => {
  const release = acquireHashPool({ hash_workers: 1, hash_queue_max: 64 });
  try {
    const pool = hashPool();
    await pool.digest('sha256', randomBytes(1 << 20)); // starts the worker
    const data = randomBytes(2 * 1024 * 1024);
    const d = decodeBody(auth({ kind: 'unsigned' }), { 'content-length': String(data.length) }, body(data));
    (pool as unknown as { slots: { worker: import('node:worker_threads').Worker }[] }).slots[0]!.worker.postMessage({ op: 'crash-for-test' });
    const { error } = await collectSettled(d.stream);
    assert.ok(error instanceof HashWorkerError, String(error));
    const again = decodeBody(auth({ kind: 'unsigned' }), { 'content-length': String(data.length) }, body(data));
    await collect(again.stream);
    assert.equal(again.result().md5Hex, hex('md5', data), 'the next body gets a new worker');
  } finally {
    await release();
  }
});

test('a body that fails half-way drops its worker stream (nothing left in the worker)', async () => {
  const release = acquireHashPool({ hash_workers: 1, hash_queue_max: 64 });
  try {
    const pool = hashPool();
    const data = randomBytes(2 * 1024 * 1024);
    const src = new Readable({ read() {} });
    const d = decodeBody(auth({ kind: 'unsigned' }), { 'content-length': String(data.length) }, src);
    const settled = collectSettled(d.stream);
    src.push(data.subarray(0, 1024 * 1024));
    await new Promise((r) => setImmediate(r));
    src.destroy(new Error('client went away'));
    s3err('IncompleteBody')((await settled).error);
    assert.equal((pool as unknown as { streams: Set<unknown> }).streams.size, 0);
    // What was sent is answered; nothing stays pending.
    while (pool.pending > 0) await new Promise((r) => setTimeout(r, 10));
    assert.equal(pool.pending, 0);
  } finally {
    await release();
  }
});
