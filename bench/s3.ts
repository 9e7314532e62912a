// S3 section (issue 3): 64 MiB PUT/GET throughput and 4 KiB PUT/GET ops/s on a real single node,
// each against bench/reference-server.ts (stream to/from a file, one fsync per PUT) driven by the
// very same @aws-sdk/client-s3 code, measured alternately in the same run.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { S3Client, CreateBucketCommand, PutObjectCommand, GetObjectCommand } from '@aws-sdk/client-s3';
import { startNode } from '../test/lib/node.ts';
import { FastPrng } from '../test/lib/files.ts';
import { startReference } from './reference-server.ts';
import { MiB, benchClient, drain, heading, info, load1, opsFor, printResult, result, type Result, type SectionOptions } from './lib.ts';

const BUCKET = 'bench';
const CONCURRENCY = 16;

interface Target {
  name: string;
  client: S3Client;
}


/** Runs measure(target) alternately (grenier, reference, grenier, reference...) and averages;
 *  also returns the benchmark client's own CPU use per target (% of one core), which bounds small ops. */
async function alternate(
  rounds: number,
  targets: [Target, Target],
  measure: (t: Target, round: number) => Promise<number>,
): Promise<[number, number, string]> {
  const sums = [0, 0];
  const cpu = [0, 0];
  const wall = [0, 0];
  for (let r = 0; r < rounds; r++)
    for (let i = 0; i < 2; i++) {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      sums[i] += await measure(targets[i]!, r);
      const c = process.cpuUsage(c0);
      cpu[i] += (c.user + c.system) / 1000;
      wall[i] += performance.now() - t0;
    }
  const pct = (i: number) => ((100 * cpu[i]!) / wall[i]!).toFixed(0);
  return [sums[0]! / rounds, sums[1]! / rounds, `client CPU ${pct(0)}% / ${pct(1)}% of a core`];
}

export async function s3Section(opts: SectionOptions): Promise<Result[]> {
  heading('S3, single node');
  const results: Result[] = [];
  const node = await startNode();
  const refDir = mkdtempSync(join(tmpdir(), 'grenier-bench-ref-'));
  const ref = await startReference(refDir);
  try {
    info(`grenier node pid ${node.pid} (defaults: data_fsync=false, metadata_fsync=true), data under ${node.dir}`);
    info(`reference pid ${ref.pid}: streams bodies to files in ${refDir}, data not fsync'ed, one fdatasync of a metadata record per PUT`);
    info(`both driven by the same @aws-sdk/client-s3 code (checksums WHEN_REQUIRED, keep-alive), same concurrency; the reference ignores the signature`);
    info(`over http the SDK signs the payload: it hashes each PUT body (SHA-256) for either target; Grenier also verifies that hash, the reference does not`);
    const g: Target = { name: 'grenier', client: benchClient(node.s3Url, node.keyId, node.secret, node.region) };
    const r: Target = { name: 'reference', client: benchClient(ref.url, 'x', 'y', node.region) };
    for (const t of [g, r]) await t.client.send(new CreateBucketCommand({ Bucket: BUCKET }));
    const rounds = 2;

    // --- 64 MiB objects, one at a time ---
    const big = new FastPrng(7).bytes(64 * MiB);
    const bigCount = Math.max(2, Math.round(3 * opts.scale));
    const putBig = async (t: Target, round: number): Promise<number> => {
      const t0 = performance.now();
      for (let i = 0; i < bigCount; i++) await t.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: `big-${round}-${i}`, Body: big, ContentLength: big.length }));
      return (bigCount * 64) / ((performance.now() - t0) / 1000);
    };
    // Warm-up (JIT, connections, first file creation) on both.
    for (const t of [g, r]) await t.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'warm', Body: big.subarray(0, 4 * MiB) }));
    let l0 = load1();
    let [gv, rv, cpu] = await alternate(rounds, [g, r], putBig);
    results.push(result({ section: 's3', name: 'PUT 64MiB', unit: 'MiB/s', grenier: gv, reference: rv, referenceName: 'reference', loadStart: l0, note: `${bigCount} sequential PUTs × ${rounds} rounds each; ${cpu}` }));
    printResult(results.at(-1)!);

    const getBig = async (t: Target): Promise<number> => {
      const t0 = performance.now();
      let bytes = 0;
      for (let i = 0; i < bigCount; i++) bytes += await drain((await t.client.send(new GetObjectCommand({ Bucket: BUCKET, Key: `big-0-${i}` }))).Body);
      if (bytes !== bigCount * 64 * MiB) throw new Error(`${t.name}: GET 64MiB read ${bytes} bytes`);
      return bytes / MiB / ((performance.now() - t0) / 1000);
    };
    l0 = load1();
    [gv, rv, cpu] = await alternate(rounds, [g, r], getBig);
    results.push(result({ section: 's3', name: 'GET 64MiB', unit: 'MiB/s', grenier: gv, reference: rv, referenceName: 'reference', loadStart: l0, note: `${bigCount} sequential GETs × ${rounds} rounds each; ${cpu}` }));
    printResult(results.at(-1)!);

    // --- 4 KiB objects, CONCURRENCY in flight, for a fixed time ---
    const small = new FastPrng(9).bytes(4096);
    const seconds = Math.max(1, 4 * opts.scale);
    const written = new Map<string, number>();
    const putSmall = async (t: Target, round: number): Promise<number> => {
      const { ops, perSec } = await opsFor(CONCURRENCY, seconds, async (i) => {
        await t.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: `small/${round}/${i}`, Body: small, ContentLength: small.length }));
      });
      if (round === 0) written.set(t.name, ops);
      return perSec;
    };
    for (const t of [g, r]) await opsFor(CONCURRENCY, 0.5, (i) => t.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: `warm/${i}`, Body: small })).then(() => {}));
    l0 = load1();
    [gv, rv, cpu] = await alternate(rounds, [g, r], putSmall);
    results.push(result({ section: 's3', name: `PUT 4KiB c=${CONCURRENCY}`, unit: 'ops/s', grenier: gv, reference: rv, referenceName: 'reference', loadStart: l0, note: `${seconds} s × ${rounds} rounds each; ${cpu}` }));
    printResult(results.at(-1)!);

    const getSmall = async (t: Target): Promise<number> => {
      const n = written.get(t.name)!;
      const { perSec } = await opsFor(CONCURRENCY, seconds, async (i) => {
        const got = await drain((await t.client.send(new GetObjectCommand({ Bucket: BUCKET, Key: `small/0/${(i * 7919) % n}` }))).Body);
        if (got !== 4096) throw new Error(`${t.name}: GET 4KiB read ${got} bytes`);
      });
      return perSec;
    };
    l0 = load1();
    [gv, rv, cpu] = await alternate(rounds, [g, r], getSmall);
    results.push(result({ section: 's3', name: `GET 4KiB c=${CONCURRENCY}`, unit: 'ops/s', grenier: gv, reference: rv, referenceName: 'reference', loadStart: l0, note: `${seconds} s × ${rounds} rounds each, over the objects written by round 0; ${cpu}` }));
    printResult(results.at(-1)!);
    for (const t of [g, r]) t.client.destroy();
  } finally {
    await ref.stop();
    await node.stop();
    rmSync(refDir, { recursive: true, force: true });
  }
  return results;
}
