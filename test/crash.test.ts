// Crash safety: kill -9 a server in the middle of ~40 concurrent uploads of varied sizes, restart it
// on the same directory, then check every acknowledged object reads back byte-identical and that
// no listed object is unexpected, unreadable or half-written.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  CreateBucketCommand,
  PutObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  type S3Client,
} from '@aws-sdk/client-s3';
import { startNode, s3Client, type TestNode } from './lib/node.ts';
import { FastPrng, prngReadable } from './lib/files.ts';

const WORKERS = 40;
const BUCKET = 'crash-test';
/** Keys every worker overwrites now and then, to crash in the middle of overwrites too. */
const SHARED_KEYS = ['shared/a', 'shared/b', 'shared/c'];
const SIZES = [0, 1, 100, 2000, 3071, 3072, 3073, 64 * 1024, 1024 * 1024, 1024 * 1024 + 1, 2.5 * 1024 * 1024, 4 * 1024 * 1024 + 7, 6 * 1024 * 1024];

interface Write {
  key: string;
  seed: number;
  size: number;
  sha: string;
  state: 'in-flight' | 'acked' | 'failed';
}

let node: TestNode | undefined;
after(async () => {
  await node?.stop();
});

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

async function readAll(s3: S3Client, key: string): Promise<Buffer> {
  const r = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  return Buffer.from(await r.Body!.transformToByteArray());
}

/** Runs WORKERS upload loops until `stop()` says so; returns every write attempted. */
function uploadLoops(s3: S3Client, round: number, stop: () => boolean): { writes: Write[]; done: Promise<void> } {
  const writes: Write[] = [];
  const done = Promise.all(
    Array.from({ length: WORKERS }, async (_, w) => {
      for (let i = 0; !stop(); i++) {
        const seed = round * 1_000_000 + w * 10_000 + i;
        const size = SIZES[(w * 7 + i * 3) % SIZES.length]!;
        const key = i % 5 === 4 ? SHARED_KEYS[(w + i) % SHARED_KEYS.length]! : `r${round}/w${w}/o${i}`;
        const data = new FastPrng(seed).bytes(size);
        const rec: Write = { key, seed, size, sha: sha256(data), state: 'in-flight' };
        writes.push(rec);
        // Half the bodies are buffers, half streams (sent aws-chunked with a trailing checksum).
        const Body = i % 2 === 0 ? data : prngReadable(seed, size, 256 * 1024);
        try {
          const r = await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body, ContentLength: size }));
          rec.state = r.$metadata.httpStatusCode === 200 ? 'acked' : 'failed';
        } catch {
          // The server was killed under this request: its outcome is unknown (stays in-flight).
          if (!stop()) rec.state = 'failed';
          return;
        }
      }
    }),
  ).then(() => undefined);
  return { writes, done };
}

async function listAll(s3: S3Client): Promise<{ key: string; size: number }[]> {
  const out: { key: string; size: number }[] = [];
  let token: string | undefined;
  for (let pages = 0; ; pages++) {
    assert.ok(pages < 1000, 'ListObjectsV2 did not end within 1000 pages');
    const r = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, ContinuationToken: token }));
    for (const c of r.Contents ?? []) out.push({ key: c.Key!, size: c.Size! });
    if (!r.IsTruncated) return out;
    token = r.NextContinuationToken;
  }
}

async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, t]);
  } finally {
    clearTimeout(timer);
  }
}

test('kill -9 during concurrent uploads: acknowledged objects survive, nothing half-written is visible', { timeout: 240_000 }, async (t) => {
  node = await startNode();
  {
    const s3 = s3Client(node);
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
    s3.destroy();
  }
  const all: Write[] = [];
  for (let round = 1; round <= 2; round++) {
    const quiet = { debug() {}, info() {}, warn() {}, error() {} };
    const s3 = s3Client(node, { requestHandler: { requestTimeout: 60_000, connectionTimeout: 5_000 }, logger: quiet });
    let killed = false;
    const { writes, done } = uploadLoops(s3, round, () => killed);
    // Let uploads run until enough have been acknowledged (at least 1.5 s), then kill -9.
    const started = Date.now();
    for (;;) {
      const acked = writes.filter((w) => w.state === 'acked').length;
      if (acked >= 60 && Date.now() - started > 1500) break;
      assert.ok(Date.now() - started < 60_000, `only ${acked} uploads acknowledged after 60 s; server output:\n${node.output()}`);
      const failed = writes.filter((w) => w.state === 'failed').length;
      assert.equal(failed, 0, `${failed} uploads failed before the kill; server output:\n${node.output()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    killed = true;
    await node.kill('SIGKILL');
    await withTimeout(done, 30_000, 'upload loops after kill -9');
    s3.destroy();
    const acked = writes.filter((w) => w.state === 'acked').length;
    const inflight = writes.filter((w) => w.state === 'in-flight').length;
    assert.equal(writes.filter((w) => w.state === 'failed').length, 0, 'no upload may fail before the kill');
    t.diagnostic(`round ${round}: killed after ${Date.now() - started} ms with ${acked} acknowledged and ${inflight} in-flight uploads`);
    assert.ok(inflight > 0, 'the kill should interrupt some uploads (else the test proves nothing)');
    all.push(...writes);

    await node.restart();
    const c = s3Client(node);
    try {
      await check(c, all);
    } finally {
      c.destroy();
    }
  }
});

/** The checker: every acknowledged write readable with the right bytes; nothing else visible. */
async function check(s3: S3Client, writes: Write[]): Promise<void> {
  const byKey = new Map<string, Write[]>();
  for (const w of writes) {
    if (!byKey.has(w.key)) byKey.set(w.key, []);
    byKey.get(w.key)!.push(w);
  }
  const listed = await listAll(s3);
  const listedKeys = new Set(listed.map((l) => l.key));
  assert.equal(listedKeys.size, listed.length, 'ListObjectsV2 returned a key twice');
  const problems: string[] = [];

  // 1. Every listed object was attempted, reads back fully, and equals one attempted body.
  await pool(listed, 16, async ({ key, size }) => {
    const cands = byKey.get(key);
    if (!cands) {
      problems.push(`listed object ${key} was never written`);
      return;
    }
    let body: Buffer;
    try {
      body = await readAll(s3, key);
    } catch (e) {
      problems.push(`listed object ${key} cannot be read: ${(e as Error).name}: ${(e as Error).message}`);
      return;
    }
    if (body.length !== size) problems.push(`listed object ${key}: listing says ${size} bytes, GET gave ${body.length}`);
    const h = sha256(body);
    const match = cands.find((w) => w.sha === h && w.state !== 'failed');
    if (!match) problems.push(`listed object ${key} (${body.length} bytes) matches no acknowledged or in-flight write (half-written?)`);
  });

  // 2. Every key with an acknowledged write exists; a unique key holds exactly its bytes.
  await pool([...byKey.entries()], 16, async ([key, ws]) => {
    const acked = ws.filter((w) => w.state === 'acked');
    if (acked.length === 0) {
      if (!listedKeys.has(key)) {
        // Never acknowledged and not listed: it must not be readable either.
        try {
          await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }));
          problems.push(`${key}: not listed and never acknowledged, yet HEAD finds it`);
        } catch (e) {
          const status = (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
          if (status !== 404) problems.push(`${key}: HEAD of an unacknowledged key answered ${status} (expected 404)`);
        }
      }
      return;
    }
    if (!listedKeys.has(key)) {
      problems.push(`${key}: acknowledged (${acked.length}×) but missing from the listing`);
      return;
    }
    if (ws.length === 1) {
      const body = await readAll(s3, key);
      if (sha256(body) !== ws[0]!.sha) problems.push(`${key}: acknowledged ${ws[0]!.size} bytes, read back ${body.length} bytes with another hash`);
    }
  });
  assert.deepEqual(problems.slice(0, 50), [], `${problems.length} problems after restart`);
}

async function pool<T>(items: T[], limit: number, fn: (x: T) => Promise<void>): Promise<void> {
  let i = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (i < items.length) await fn(items[i++]!);
    }),
  );
}
