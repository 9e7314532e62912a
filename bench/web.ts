// Web section (issue 5): small-file GET req/s of a node's website endpoint vs Debian nginx serving
// the same files from disk (both one process, wrk -t2 -c32 -d10s), then 50,000 sites vs 500:
// req/s and the node RSS, on two nodes side by side (runs alternate); sites are written straight into the store.
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync, readFileSync, existsSync, readdirSync, statSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { S3Client, CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { startNode, freePort, run, type TestNode } from '../test/lib/node.ts';
import { FastPrng } from '../test/lib/files.ts';
import { loadConfig } from '../src/config/config.ts';
import { Store } from '../src/model/store.ts';
import { newBucket, type Bucket } from '../src/model/bucket.ts';
import type { Alias } from '../src/model/alias.ts';
import type { ObjectEntry } from '../src/model/object.ts';
import { MiB, heading, info, load1, loadString, parallel, printResult, result, rssDetail, type Result, type SectionOptions } from './lib.ts';

const ROOT = 'web.localhost';
const SITE = 'bench-site';
const FILES = 100;
const FILE_SIZE = 2048;
const WRK = ['-t2', '-c32'];

const warmUpSeconds = (seconds: number) => Math.max(1, Math.round(seconds / 4));

interface WrkResult {
  reqPerSec: number;
  requests: number;
  non2xx: number;
  errors: string;
  latency: string;
}

/** A wrk Lua script cycling through pre-built requests (each thread starts at its own offset). */
function wrkScript(dir: string, name: string, body: string): string {
  const p = join(dir, `${name}.lua`);
  writeFileSync(
    p,
    `local reqs = {}
local n = 0
local i = 0
local threads = 0
function setup(thread)
  thread:set("offset", threads * 7919)
  threads = threads + 1
end
function init(args)
${body}
  n = #reqs
  i = (offset or 0) % n
end
function request()
  i = i + 1
  if i > n then i = 1 end
  return reqs[i]
end
`,
  );
  return p;
}

/** Script for the 100-file site: rotates paths, one Host. */
function filesScript(dir: string): string {
  return wrkScript(
    dir,
    'files',
    `  for k = 0, ${FILES - 1} do
    reqs[#reqs + 1] = wrk.format("GET", string.format("/f%03d.html", k), { ["Host"] = "${SITE}.${ROOT}" })
  end`,
  );
}

/** Script for n sites: rotates Host over s0..s<n-1>, GET /. */
export function sitesScript(dir: string, n: number, name: string): string {
  return wrkScript(
    dir,
    name,
    `  for k = 0, ${n - 1} do
    reqs[#reqs + 1] = wrk.format("GET", "/", { ["Host"] = "s" .. k .. ".${ROOT}" })
  end`,
  );
}

export async function wrk(url: string, script: string, seconds: number): Promise<WrkResult> {
  const r = await run('wrk', [...WRK, `-d${seconds}s`, '-s', script, url], { timeoutMs: (seconds + 60) * 1000 });
  if (r.code !== 0) throw new Error(`wrk failed (${r.code}): ${r.stderr}${r.stdout}`);
  const rps = /Requests\/sec:\s*([\d.]+)/.exec(r.stdout);
  if (!rps) throw new Error(`wrk output without Requests/sec:\n${r.stdout}`);
  return {
    reqPerSec: Number(rps[1]),
    requests: Number(/(\d+) requests in/.exec(r.stdout)?.[1] ?? 0),
    non2xx: Number(/Non-2xx or 3xx responses:\s*(\d+)/.exec(r.stdout)?.[1] ?? 0),
    errors: /Socket errors:.*/.exec(r.stdout)?.[0] ?? '',
    latency: /Latency\s+(\S+)\s+(\S+)\s+(\S+)/.exec(r.stdout)?.slice(1, 4).join('/') + ' avg/stdev/max',
  };
}

/** wrk (after a short warm-up when asked); throws if any answer was not 2xx/3xx. */
async function measure(what: string, url: string, script: string, seconds: number, warmUp: boolean): Promise<WrkResult> {
  if (warmUp) await wrk(url, script, warmUpSeconds(seconds));
  const w = await wrk(url, script, seconds);
  if (w.non2xx > 0) throw new Error(`${what}: ${w.non2xx} of ${w.requests} answers were not 2xx/3xx`);
  if (w.errors) info(`${what}: ${w.errors}`);
  info(`${what}: ${w.reqPerSec.toFixed(0)} req/s (${w.requests} requests; latency ${w.latency}) [${loadString()}]`);
  return w;
}

/** GET with an exact Host header (fetch cannot set one). */
function hostGet(url: string, host: string, path: string): Promise<{ status: number; body: Buffer }> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({ host: u.hostname, port: u.port, path, headers: { host }, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

async function expectPage(url: string, host: string, path: string, want: Buffer): Promise<void> {
  const r = await hostGet(url, host, path);
  if (r.status !== 200 || !r.body.equals(want)) throw new Error(`GET http://${host}${path} via ${url}: status ${r.status}, ${r.body.length} bytes (wanted 200, ${want.length} bytes)`);
}

interface Nginx {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

/** Debian nginx, one worker, serving `root` from a generated config in `dir`, in the foreground. */
async function startNginx(dir: string, root: string): Promise<Nginx> {
  const port = await freePort();
  const conf = join(dir, 'nginx.conf');
  for (const d of ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(join(dir, `${d}_temp`), { recursive: true });
  writeFileSync(
    conf,
    `worker_processes 1;
error_log ${join(dir, 'error.log')} warn;
pid ${join(dir, 'nginx.pid')};
events { worker_connections 1024; }
http {
  access_log off;
  # Node keeps a client connection for any number of requests; so does this nginx.
  keepalive_requests 1000000;
  sendfile on;
  types { text/html html; }
  default_type application/octet-stream;
  client_body_temp_path ${join(dir, 'client_body_temp')};
  proxy_temp_path ${join(dir, 'proxy_temp')};
  fastcgi_temp_path ${join(dir, 'fastcgi_temp')};
  uwsgi_temp_path ${join(dir, 'uwsgi_temp')};
  scgi_temp_path ${join(dir, 'scgi_temp')};
  server {
    listen 127.0.0.1:${port};
    root ${root};
  }
}
`,
  );
  const child: ChildProcess = spawn('/usr/sbin/nginx', ['-p', dir, '-e', join(dir, 'error.log'), '-c', conf, '-g', 'daemon off;'], { stdio: ['ignore', 'inherit', 'inherit'] });
  process.once('exit', () => child.kill('SIGKILL'));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`nginx exited with ${child.exitCode}: ${existsSync(join(dir, 'error.log')) ? readFileSync(join(dir, 'error.log'), 'utf8') : ''}`);
    try {
      await hostGet(url, 'x', '/');
      break;
    } catch {
      if (Date.now() > deadline) throw new Error('nginx did not answer within 10 s');
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return {
    url,
    pid: child.pid!,
    stop: () =>
      new Promise<void>((r) => {
        if (child.exitCode !== null || child.signalCode !== null) return r();
        child.once('exit', () => r());
        child.kill('SIGQUIT');
      }),
  };
}

/** The index page of site s<i>: 2 KiB, different per site. */
function sitePage(i: number): Buffer {
  const b = new FastPrng(100_000 + i).bytes(FILE_SIZE);
  for (let k = 0; k < b.length; k++) b[k] = 0x20 + (b[k]! % 95); // printable, like HTML
  return b;
}

/** With the node stopped, writes website buckets s<from>..s<to-1> (alias, website config and an
 *  inline index.html each) straight into its store, in batches; returns seconds taken. */
export async function addSites(node: TestNode, from: number, to: number): Promise<number> {
  const t0 = performance.now();
  await node.kill('SIGTERM');
  const c = loadConfig(node.configPath);
  const store = new Store({
    metadataDir: c.metadata_dir,
    dataDir: c.data_dir,
    blockSize: c.block_size,
    compression: c.compression_level,
    dataFsync: c.data_fsync,
    metadataFsync: c.metadata_fsync,
    inlineThreshold: c.inline_threshold,
  });
  try {
    for (let start = from; start < to; start += 5000) {
      const buckets: Bucket[] = [];
      const aliases: Alias[] = [];
      const objects: ObjectEntry[] = [];
      for (let i = start; i < Math.min(to, start + 5000); i++) {
        const t = store.ts();
        const b = newBucket(store.newUuid() + store.newUuid().slice(0, 32), t);
        const name = `s${i}`;
        b.aliases[name] = { t, v: true };
        b.website = { t, v: { indexDocument: 'index.html' } };
        buckets.push(b);
        aliases.push({ name, bucket: { t, v: b.id } });
        const page = sitePage(i);
        objects.push({
          bucket: b.id,
          key: 'index.html',
          versions: [
            {
              uuid: store.newUuid(),
              ts: t,
              state: 'complete',
              nullVersion: true,
              deleteMarker: false,
              multipart: false,
              meta: { size: page.length, etag: createHash('md5').update(page).digest('hex'), headers: [['content-type', 'text/html']] },
              inline: page,
            },
          ],
        });
      }
      store.buckets.local.insertMany(buckets);
      store.aliases.local.insertMany(aliases);
      store.objects.local.insertMany(objects);
    }
  } finally {
    await store.close();
  }
  await node.restart();
  return (performance.now() - t0) / 1000;
}

const mib = (x: number) => x.toFixed(0);

/** MiB of a process's RSS that is its LMDB map (data.mdb): clean file pages, the kernel's page
 *  cache seen through the map, dropped under memory pressure (nginx's files are in the page cache
 *  too, just not mapped). */
function lmdbRssMiB(pid: number): number {
  let inMap = false;
  let kb = 0;
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    if (/^[0-9a-f]+-[0-9a-f]+ /.test(line)) inMap = line.endsWith('/data.mdb');
    else if (inMap && line.startsWith('Rss:')) kb += Number(/(\d+)/.exec(line)![1]);
  }
  return kb / 1024;
}

/** The memory target of issue 12 for 50,000 sites. */
const RSS_TARGET_MIB = 300;
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const each = (xs: number[]) => xs.map((x) => x.toFixed(0)).join(', ');

/** Runs the measurements in turn, `rounds` times (warm-up before each one's first), so load drift
 *  hits them alike; returns each measurement's req/s per round. */
async function alternate(rounds: number, seconds: number, runs: { what: string; url: string; script: string }[]): Promise<number[][]> {
  const out = runs.map(() => [] as number[]);
  for (let r = 0; r < rounds; r++)
    for (const [k, m] of runs.entries()) out[k]!.push((await measure(`${m.what} (round ${r + 1})`, m.url, m.script, seconds, r === 0)).reqPerSec);
  return out;
}

export async function webSection(opts: SectionOptions): Promise<Result[]> {
  heading('web');
  const results: Result[] = [];
  const seconds = Math.max(2, Math.round(10 * opts.scale));
  const rounds = 2;
  const SMALL = 500;
  const BIG = Math.max(SMALL * 2, Math.round(50_000 * Math.min(1, opts.scale)));
  const label = BIG === 50_000 ? '50k' : String(BIG);
  const tmp = mkdtempSync(join(tmpdir(), 'grenier-bench-web-'));
  chmodSync(tmp, 0o755); // nginx workers may run as another user
  const nodes: TestNode[] = [];
  let nginx: Nginx | undefined;
  try {
    // Two nodes side by side, so their runs can alternate: one with 500 sites, one with 50,000.
    // Their micro-cache is off: the goal is about the cost of the host and key lookups, which a
    // cache of hot pages would hide. A third node, with the default config, serves the
    // 100-file site measured against nginx.
    const noCache = { webConfig: 'micro_cache_secs = 0' };
    const [small, big, node] = await Promise.all([startNode(noCache), startNode(noCache), startNode()]);
    nodes.push(small!, big!, node!);
    info(`grenier nodes (pids ${small!.pid}, ${big!.pid}, ${node!.pid}; micro-cache off on the first two) are one process each (S3, admin and web listeners share one event loop); nginx: worker_processes 1, access_log off`);
    info(`load generator: wrk ${WRK.join(' ')} -d${seconds}s (a ${warmUpSeconds(seconds)} s warm-up before each target's first run), ${rounds} alternating rounds, on the same 2-CPU machine`);

    // --- one site with 100 files of 2 KiB, and the same files on disk for nginx ---
    const s3 = new S3Client({
      endpoint: node.s3Url,
      forcePathStyle: true,
      region: node.region,
      credentials: { accessKeyId: node.keyId, secretAccessKey: node.secret },
      maxAttempts: 1,
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
    await s3.send(new CreateBucketCommand({ Bucket: SITE }));
    await node.admin('UpdateBucket', { websiteAccess: { enabled: true, indexDocument: 'index.html' } }, `globalAlias=${SITE}`);
    const www = join(tmp, 'www');
    mkdirSync(www);
    chmodSync(www, 0o755);
    const g = new FastPrng(5);
    const files = Array.from({ length: FILES }, (_, k) => ({ name: `f${String(k).padStart(3, '0')}.html`, body: g.bytes(FILE_SIZE) }));
    for (const f of files) writeFileSync(join(www, f.name), f.body);
    await parallel(16, files.length, async (k) => {
      await s3.send(new PutObjectCommand({ Bucket: SITE, Key: files[k]!.name, Body: files[k]!.body, ContentType: 'text/html' }));
    });
    s3.destroy();

    // --- the sites: s0..s499 on one node, s0..s49999 on the other (GET / → a 2 KiB index.html) ---
    const [tookSmall, tookBig] = await Promise.all([addSites(small!, 0, SMALL), addSites(big!, 0, BIG)]);
    info(`wrote ${SMALL} and ${BIG} sites into the stopped nodes' stores and restarted them in ${tookSmall.toFixed(1)} s and ${tookBig.toFixed(1)} s`);
    await expectPage(node.webUrl, `${SITE}.${ROOT}`, '/f042.html', files[42]!.body);
    await expectPage(small!.webUrl, `s123.${ROOT}`, '/', sitePage(123));
    await expectPage(big!.webUrl, `s${BIG - 1}.${ROOT}`, '/', sitePage(BIG - 1));
    const idleSmall = rssDetail(small!.pid);
    const idleBig = rssDetail(big!.pid);
    nginx = await startNginx(tmp, www);
    await expectPage(nginx.url, 'localhost', '/f042.html', files[42]!.body);
    info(`${FILES} files of ${FILE_SIZE} bytes in site ${SITE}.${ROOT} (written through S3) and in ${www} for nginx`);

    const filesJs = filesScript(tmp);
    let l0 = load1();
    const [gw, nw] = await alternate(rounds, seconds, [
      { what: 'grenier web, 1 site', url: node.webUrl, script: filesJs },
      { what: 'nginx', url: nginx.url, script: filesJs },
    ]);
    results.push(
      result({
        section: 'web',
        name: `GET 2KiB (${FILES} paths)`,
        unit: 'req/s',
        grenier: mean(gw!),
        reference: mean(nw!),
        referenceName: 'nginx',
        goal: 0.6,
        loadStart: l0,
        note: `rounds: grenier ${each(gw!)}, nginx ${each(nw!)} req/s`,
      }),
    );
    printResult(results.at(-1)!);
    await nginx.stop();
    nginx = undefined;

    // --- 500 vs 50,000 sites, requests rotating over every site, and the same 500 hosts on both ---
    const smallJs = sitesScript(tmp, SMALL, 'sites-small');
    const bigJs = sitesScript(tmp, BIG, 'sites-big');
    l0 = load1();
    const [ws, wb, wh] = await alternate(rounds, seconds, [
      { what: `grenier web, ${SMALL} sites, rotating over all`, url: small!.webUrl, script: smallJs },
      { what: `grenier web, ${BIG} sites, rotating over all`, url: big!.webUrl, script: bigJs },
      { what: `grenier web, ${BIG} sites, rotating over ${SMALL} of them`, url: big!.webUrl, script: smallJs },
    ]);
    const rssSmall = rssDetail(small!.pid);
    const rssBig = rssDetail(big!.pid);
    const mapBig = lmdbRssMiB(big!.pid);
    const mapSmall = lmdbRssMiB(small!.pid);
    const metaMiB = (n: TestNode) => {
      const dir = join(n.dir, 'meta');
      return readdirSync(dir).reduce((a, f) => a + statSync(join(dir, f)).blocks * 512, 0) / MiB;
    };
    results.push(
      result({
        section: 'web',
        name: `GET / ${label} vs ${SMALL} sites`,
        unit: 'req/s',
        grenier: mean(wb!),
        reference: mean(ws!),
        referenceName: `${SMALL} sites`,
        goal: 0.9,
        loadStart: l0,
        note:
          `requests rotate over all sites (each wrk thread from its own offset): with ${BIG} sites the first round's are mostly a site's first visit (its LMDB pages not yet mapped); ` +
          `rounds: ${label} ${each(wb!)}, ${SMALL} ${each(ws!)} req/s`,
      }),
    );
    printResult(results.at(-1)!);
    results.push(
      result({
        section: 'web',
        name: `GET / ${label} sites, ${SMALL} hosts vs ${SMALL} sites`,
        unit: 'req/s',
        grenier: mean(wh!),
        reference: mean(ws!),
        referenceName: `${SMALL} sites`,
        goal: 0.9,
        loadStart: l0,
        note: `the same ${SMALL} hosts requested from both nodes: the cost of the larger tables alone; rounds: ${label} ${each(wh!)} req/s`,
      }),
    );
    printResult(results.at(-1)!);
    results.push(
      result({
        section: 'web',
        name: `RSS ${label} vs ${SMALL} sites`,
        unit: 'MiB',
        grenier: rssBig.rss,
        reference: rssSmall.rss,
        referenceName: `${SMALL} sites`,
        loadStart: l0,
        note:
          `node VmRSS after the runs above; anon/file-backed (LMDB map) ${mib(rssBig.anon)}/${mib(rssBig.file)} vs ${mib(rssSmall.anon)}/${mib(rssSmall.file)} MiB; ` +
          `idle after restart ${mib(idleBig.rss)} (${mib(idleBig.anon)}/${mib(idleBig.file)}) vs ${mib(idleSmall.rss)} (${mib(idleSmall.anon)}/${mib(idleSmall.file)}) MiB; ` +
          `metadata on disk ${mib(metaMiB(big!))} vs ${mib(metaMiB(small!))} MiB; of the RSS, the LMDB map ${mib(mapBig)} vs ${mib(mapSmall)} MiB`,
      }),
    );
    printResult(results.at(-1)!);
    if (BIG === 50_000) {
      results.push(
        result({
          section: 'web',
          name: `RSS ${label} sites vs ${RSS_TARGET_MIB} MiB`,
          unit: 'MiB',
          grenier: rssBig.rss,
          reference: RSS_TARGET_MIB,
          referenceName: 'target',
          goal: 1,
          lowerIsBetter: true,
          loadStart: l0,
          note: `VmRSS, every site visited; ${mib(mapBig)} MiB of it are LMDB map pages (each site's 2 KiB page is a 4 KiB LMDB overflow page)`,
        }),
        result({
          section: 'web',
          name: `RSS ${label} sites outside the LMDB map vs ${RSS_TARGET_MIB} MiB`,
          unit: 'MiB',
          grenier: rssBig.rss - mapBig,
          reference: RSS_TARGET_MIB,
          referenceName: 'target',
          goal: 1,
          lowerIsBetter: true,
          loadStart: l0,
          note: `anon ${mib(rssBig.anon)} MiB + the binary and libraries; the map's clean pages are page cache (reclaimable, shared), as nginx's files are`,
        }),
      );
      printResult(results.at(-2)!);
      printResult(results.at(-1)!);
    }
  } finally {
    await nginx?.stop();
    await Promise.all(nodes.map((n) => n.stop()));
    rmSync(tmp, { recursive: true, force: true });
  }
  return results;
}
