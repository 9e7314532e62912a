// Memory section (issue 12): a 1 GiB upload and download through AWS CLI v2 (multipart, its
// defaults: 8 MiB parts, 10 in flight) to one node; the node's peak RSS (VmHWM) against 200 MB.
import { createReadStream, createWriteStream, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { cleanEnv, describeRun, run, startNode, which } from '../test/lib/node.ts';
import { prngReadable } from '../test/lib/files.ts';
import { MiB, heading, info, load1, printResult, result, rssDetail, type Result, type SectionOptions } from './lib.ts';

const GOAL_MB = 200;

/** VmHWM (peak resident set since exec) of a process, in MB (10^6 bytes, as the goal is stated). */
function hwmMB(pid: number): number {
  const m = /VmHWM:\s*(\d+)\s*kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmHWM for pid ${pid}`);
  return (Number(m[1]) * 1024) / 1e6;
}

async function sha256File(p: string): Promise<string> {
  const h = createHash('sha256');
  for await (const c of createReadStream(p)) h.update(c as Buffer);
  return h.digest('hex');
}

export async function memorySection(_opts: SectionOptions): Promise<Result[]> {
  heading('Memory: 1 GiB through the AWS CLI');
  const aws = which('/usr/bin/aws');
  if (!aws) {
    info('skipped: /usr/bin/aws not installed (Debian package awscli)');
    return [];
  }
  const mib = Number(process.env.BENCH_MEMORY_MIB ?? 1024);
  const work = mkdtempSync(join(tmpdir(), 'grenier-bench-mem-'));
  const node = await startNode();
  let sampler: NodeJS.Timeout | undefined;
  try {
    const file = join(work, 'big.bin');
    await pipeline(prngReadable(7, mib * MiB), createWriteStream(file));
    const env = cleanEnv({
      AWS_ACCESS_KEY_ID: node.keyId,
      AWS_SECRET_ACCESS_KEY: node.secret,
      AWS_DEFAULT_REGION: node.region,
      AWS_CONFIG_FILE: join(work, 'none'),
      AWS_SHARED_CREDENTIALS_FILE: join(work, 'none'),
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_PAGER: '',
    });
    const cli = async (...args: string[]) => {
      const r = await run(aws, ['--endpoint-url', node.s3Url, ...args], { env, timeoutMs: 1_800_000 });
      if (r.code !== 0) throw new Error(describeRun(`aws ${args.join(' ')}`, r));
    };
    info(`node pid ${node.pid}; ${mib} MiB file; aws s3 cp up then down (CLI defaults: 8 MiB parts, 10 requests in flight)`);
    const l0 = load1();
    const before = hwmMB(node.pid);
    // VmHWM does not split anonymous from file-backed pages (the LMDB map, the node binary): the
    // sample with the largest RSS, every 100 ms, does.
    let top = { rss: 0, anon: 0, file: 0 };
    sampler = setInterval(() => {
      try {
        const d = rssDetail(node.pid);
        if (d.rss > top.rss) top = d;
      } catch {
        // the node exited: the run fails below
      }
    }, 100);
    await cli('s3', 'mb', 's3://mem');
    const t0 = performance.now();
    await cli('s3', 'cp', '--no-progress', file, 's3://mem/big.bin');
    const up = (performance.now() - t0) / 1000;
    const afterUp = hwmMB(node.pid);
    const t1 = performance.now();
    await cli('s3', 'cp', '--no-progress', 's3://mem/big.bin', join(work, 'back.bin'));
    const down = (performance.now() - t1) / 1000;
    const peak = hwmMB(node.pid);
    clearInterval(sampler);
    const same = (await sha256File(file)) === (await sha256File(join(work, 'back.bin')));
    if (!same) throw new Error('memory bench: the downloaded file differs from the uploaded one');
    const r = result({
      section: 'memory',
      name: `node RSS peak, ${mib} MiB aws cp up+down`,
      unit: 'MB',
      grenier: peak,
      reference: GOAL_MB,
      referenceName: 'goal',
      goal: 1,
      lowerIsBetter: true,
      loadStart: l0,
      note: `VmHWM: ${before.toFixed(0)} MB after start-up, ${afterUp.toFixed(0)} after the upload (${up.toFixed(1)} s), ${peak.toFixed(0)} after the download (${down.toFixed(1)} s); largest sample ${(top.rss * 1.048576).toFixed(0)} MB = anonymous ${(top.anon * 1.048576).toFixed(0)} + file-backed ${(top.file * 1.048576).toFixed(0)}`,
    });
    printResult(r);
    return [r];
  } finally {
    clearInterval(sampler);
    await node.stop();
    rmSync(work, { recursive: true, force: true });
  }
}
