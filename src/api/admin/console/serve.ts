// Serves the web console from the admin listener: the page at "/", its files under /console/,
// read once from src/console/assets (dist/console/assets when built), with a strict CSP, no
// framing, and ETag revalidation so a new version is picked up without a stale cache.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { sha256Hex } from '../../../util/hash.ts';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};
/** Only these names are served: no path from the URL ever reaches the file system. */
const NAME = /^[a-z0-9][a-z0-9-]*\.(html|js|css|svg)$/;
/** The console is a few dozen KiB; anything past this in the folder is not meant to be served. */
const ASSETS_BYTES_MAX = 4 * 1024 * 1024;

export const CONSOLE_HEADERS: Record<string, string> = {
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};

interface Asset {
  body: Buffer;
  type: string;
  etag: string;
}

let cache: Map<string, Asset> | undefined;

export function assetsDir(): string {
  // src/api/admin/console/ → src/console/assets (dist/ mirrors it: the build copies the assets there).
  return fileURLToPath(new URL('../../../console/assets/', import.meta.url));
}

function load(dir = assetsDir()): Map<string, Asset> {
  const out = new Map<string, Asset>();
  let total = 0;
  let names: string[] = [];
  try {
    names = readdirSync(dir);
  } catch {
    return out; // not built: every path answers 404 with a message
  }
  for (const name of names.sort()) {
    if (!NAME.test(name)) continue;
    const p = join(dir, name);
    if (!statSync(p).isFile()) continue;
    const body = readFileSync(p);
    total += body.length;
    if (total > ASSETS_BYTES_MAX) break;
    out.set(name, { body, type: TYPES[name.slice(name.lastIndexOf('.'))]!, etag: `"${sha256Hex(body).slice(0, 32)}"` });
  }
  return out;
}

/** Whether a request path belongs to the console. */
export function isConsolePath(path: string): boolean {
  return path === '/' || path === '/console' || path.startsWith('/console/');
}

/** What the page needs of the node's configuration (nothing secret: it is served to anyone). */
export interface ConsoleMeta {
  /** A bucket's website URL, with "{bucket}" for its name; null without s3_web.root_domain. */
  webUrl: string | null;
}

/** Answers a console path (GET or HEAD). */
export function serveConsole(req: IncomingMessage, res: ServerResponse, path: string, meta: () => ConsoleMeta): void {
  cache ??= load();
  for (const [k, v] of Object.entries(CONSOLE_HEADERS)) res.setHeader(k, v);
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' });
    res.end('the console is read with GET\n');
    return;
  }
  if (path === '/console/meta.json') {
    const text = JSON.stringify(meta());
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(text) });
    res.end(req.method === 'HEAD' ? undefined : text);
    return;
  }
  const name = path === '/' || path === '/console' || path === '/console/' ? 'index.html' : path.slice('/console/'.length);
  const a = NAME.test(name) ? cache.get(name) : undefined;
  if (!a) {
    const why = cache.size === 0 ? 'the console files are missing on this node (run `npm run build`, which copies src/console/assets)' : `no console file ${name.slice(0, 64)}`;
    res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
    res.end(why + '\n');
    return;
  }
  // Revalidated on every load (cheap: a 304), so a node upgrade never leaves an old script.
  const headers = { 'content-type': a.type, etag: a.etag, 'cache-control': 'no-cache' };
  if (req.headers['if-none-match'] === a.etag) {
    res.writeHead(304, headers);
    res.end();
    return;
  }
  res.writeHead(200, { ...headers, 'content-length': a.body.length });
  res.end(req.method === 'HEAD' ? undefined : a.body);
}
