// The S3 benchmark's reference: a minimal Node HTTP server that streams a PUT body to a file on
// disk and a file back on GET, with one fsync per PUT (of a small metadata record, like Grenier's
// default data_fsync=false / metadata_fsync=true). Run as its own process; startReference() spawns it.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { spawn } from 'node:child_process';
import { createReadStream, createWriteStream, mkdirSync, openSync, stat, rename, write, fdatasync } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const renameP = promisify(rename);
const statP = promisify(stat);
const writeP = promisify(write);
const fdatasyncP = promisify(fdatasync);

/** Serves `dir` on 127.0.0.1:port (0 = any); resolves to the port. */
export function serveReference(dir: string, port = 0): Promise<number> {
  const objects = join(dir, 'objects');
  const tmp = join(dir, 'tmp');
  mkdirSync(objects, { recursive: true });
  mkdirSync(tmp, { recursive: true });
  // The metadata log: one small record appended and fdatasync'ed per PUT (the "metadata fsync").
  const metaFd = openSync(join(dir, 'meta.log'), 'a');
  let seq = 0;

  const fileOf = (url: string): string | undefined => {
    const path = url.split('?')[0]!;
    const slash = path.indexOf('/', 1);
    if (slash < 0 || slash === path.length - 1) return undefined; // bucket-level request
    return join(objects, encodeURIComponent(decodeURIComponent(path.slice(1))));
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const file = fileOf(req.url ?? '/');
    if (!file) {
      // CreateBucket / HeadBucket and friends: nothing to do.
      req.resume();
      res.writeHead(200, { 'content-length': '0' }).end();
      return;
    }
    if (req.method === 'PUT') {
      const t = join(tmp, `${process.pid}-${seq++}`);
      // Data: written, not fsync'ed (Grenier's data_fsync=false), then renamed into place.
      await pipeline(req, createWriteStream(t));
      await renameP(t, file);
      // Metadata: one record, one fdatasync (Grenier's metadata_fsync=true commits its LMDB write).
      await writeP(metaFd, `${Date.now()} ${file}\n`);
      await fdatasyncP(metaFd);
      res.writeHead(200, { etag: '"0"', 'content-length': '0' }).end();
      return;
    }
    if (req.method === 'GET' || req.method === 'HEAD') {
      req.resume();
      let size: number;
      try {
        size = (await statP(file)).size;
      } catch {
        res.writeHead(404, { 'content-length': '0' }).end();
        return;
      }
      res.writeHead(200, { 'content-length': String(size), 'content-type': 'application/octet-stream', etag: '"0"' });
      if (req.method === 'HEAD' || size === 0) {
        res.end();
        return;
      }
      // Buffer sized to the file (up to 1 MiB), so small GETs do not allocate 1 MiB each.
      await pipeline(createReadStream(file, { highWaterMark: Math.min(size, 1024 * 1024) }), res);
      return;
    }
    req.resume();
    res.writeHead(405, { 'content-length': '0' }).end();
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-length': '0' }).end();
      else res.destroy(e as Error);
    });
  });
  server.keepAliveTimeout = 60_000;
  return new Promise((resolve) => {
    server.listen(port, '127.0.0.1', () => {
      const a = server.address();
      resolve(typeof a === 'object' && a ? a.port : port);
    });
  });
}

export interface ReferenceProcess {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

/** Starts the reference server in its own process (like the Grenier node under test). */
export function startReference(dir: string): Promise<ReferenceProcess> {
  const self = fileURLToPath(import.meta.url);
  const child = spawn(process.execPath, [self, dir], { stdio: ['ignore', 'pipe', 'inherit'] });
  process.once('exit', () => child.kill('SIGKILL'));
  return new Promise((resolve, reject) => {
    let out = '';
    child.once('exit', (code) => reject(new Error(`reference server exited with code ${code}`)));
    child.stdout!.on('data', (b: Buffer) => {
      out += b.toString();
      const m = /listening (\d+)/.exec(out);
      if (!m) return;
      child.removeAllListeners('exit');
      resolve({
        url: `http://127.0.0.1:${m[1]}`,
        pid: child.pid!,
        stop: () =>
          new Promise<void>((r) => {
            if (child.exitCode !== null || child.signalCode !== null) return r();
            child.once('exit', () => r());
            child.kill('SIGTERM');
          }),
      });
    });
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const dir = process.argv[2];
  if (!dir) {
    console.error('usage: node bench/reference-server.ts <dir> [port]');
    process.exit(2);
  }
  const port = await serveReference(dir, Number(process.argv[3] ?? 0));
  console.log(`listening ${port}`);
}
