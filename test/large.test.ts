// A 5 GiB object through a single streaming PutObject and back, hashed on both ends, while the
// server's resident memory (VmRSS) is sampled every 500 ms and must stay under 200 MiB.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { statfs } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { Readable } from 'node:stream';
import { CreateBucketCommand, PutObjectCommand, GetObjectCommand, HeadObjectCommand } from '@aws-sdk/client-s3';
import { startNode, s3Client, type TestNode } from './lib/node.ts';
import { FastPrng } from './lib/files.ts';

const SIZE = 5 * 1024 ** 3;
const MIN_FREE = 12 * 1024 ** 3;
const MAX_RSS = 200 * 1024 * 1024;
const CHUNK = 1024 * 1024;

let node: TestNode | undefined;
after(async () => {
  await node?.stop();
});

/** Samples VmRSS of `pid` every 500 ms; stop() returns the maximum in bytes; per-phase maxima too. */
function rssSampler(pid: number): { stop(): number; samples: () => number; phase(name: string): void; report(): string } {
  let max = 0;
  let n = 0;
  let phase = 'idle';
  const byPhase = new Map<string, number>();
  const sample = () => {
    try {
      const s = readFileSync(`/proc/${pid}/status`, 'utf8');
      const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(s);
      if (m) {
        const v = Number(m[1]) * 1024;
        max = Math.max(max, v);
        byPhase.set(phase, Math.max(byPhase.get(phase) ?? 0, v));
        n++;
      }
    } catch {
      /* the process may be gone at the very end */
    }
  };
  sample();
  const timer = setInterval(sample, 500);
  return {
    stop() {
      clearInterval(timer);
      return max;
    },
    samples: () => n,
    phase(name: string) {
      phase = name;
    },
    report: () => [...byPhase].map(([k, v]) => `${k} ${mib(v)} MiB`).join(', '),
  };
}

const mib = (b: number) => (b / 1024 / 1024).toFixed(1);

test('5 GiB single streaming PutObject and GetObject: same SHA-256, server RSS < 200 MiB', { timeout: 20 * 60_000 }, async (t) => {
  const fs = await statfs(tmpdir());
  const free = fs.bavail * fs.bsize;
  if (free < MIN_FREE) {
    t.skip(`skipped: only ${(free / 1024 ** 3).toFixed(1)} GiB free in ${tmpdir()}, need 12 GiB`);
    return;
  }
  node = await startNode();
  const s3 = s3Client(node, { requestHandler: { requestTimeout: 0, connectionTimeout: 5_000 } });
  await s3.send(new CreateBucketCommand({ Bucket: 'large' }));
  const rss = rssSampler(node.pid);
  let maxRss = 0;
  try {
    // Upload: generated on the fly and hashed as it is sent; never held in memory.
    const upHash = createHash('sha256');
    const gen = new FastPrng(5);
    let left = SIZE;
    const body = new Readable({
      highWaterMark: CHUNK,
      read() {
        if (left <= 0) {
          this.push(null);
          return;
        }
        const n = Math.min(CHUNK, left);
        left -= n;
        const b = gen.bytes(n);
        upHash.update(b);
        this.push(b);
      },
    });
    rss.phase('upload');
    const t0 = performance.now();
    const put = await s3.send(new PutObjectCommand({ Bucket: 'large', Key: 'five-gib.bin', Body: body, ContentLength: SIZE }));
    const upSecs = (performance.now() - t0) / 1000;
    assert.equal(put.$metadata.httpStatusCode, 200);
    assert.equal(left, 0, 'the whole body was sent');
    const upDigest = upHash.digest('hex');
    t.diagnostic(`upload: ${mib(SIZE)} MiB in ${upSecs.toFixed(1)} s = ${mib(SIZE / upSecs)} MiB/s`);

    const head = await s3.send(new HeadObjectCommand({ Bucket: 'large', Key: 'five-gib.bin' }));
    assert.equal(head.ContentLength, SIZE);

    // Download, hashing as it streams.
    rss.phase('download');
    const t1 = performance.now();
    const got = await s3.send(new GetObjectCommand({ Bucket: 'large', Key: 'five-gib.bin' }));
    const downHash = createHash('sha256');
    let received = 0;
    for await (const chunk of got.Body as Readable) {
      downHash.update(chunk as Buffer);
      received += (chunk as Buffer).length;
    }
    const downSecs = (performance.now() - t1) / 1000;
    t.diagnostic(`download: ${mib(received)} MiB in ${downSecs.toFixed(1)} s = ${mib(received / downSecs)} MiB/s`);
    assert.equal(received, SIZE);
    assert.equal(downHash.digest('hex'), upDigest, 'downloaded bytes differ from uploaded bytes');
  } finally {
    maxRss = rss.stop();
    t.diagnostic(`server max RSS: ${mib(maxRss)} MiB over ${rss.samples()} samples (per phase: ${rss.report()})`);
    s3.destroy();
    await node.stop();
    node = undefined;
  }
  assert.ok(rss.samples() > 0, 'RSS was never sampled');
  // SERVER ISSUE (reported): measured peaks here were ~209 MiB during the upload and ~249 MiB during
  // the download (idle after start ~110 MiB); the design target is < 200 MiB whatever the object size.
  assert.ok(maxRss < MAX_RSS, `server RSS peaked at ${mib(maxRss)} MiB (limit ${mib(MAX_RSS)} MiB)`);
});
