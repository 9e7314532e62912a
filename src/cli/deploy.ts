// `grenier site deploy`: hash the local tree, upload only contents the server lacks (bounded
// parallelism, progress, retries), then publish the new file list in one call. Uploads are
// content-addressed blobs, so an interrupted deploy resumes by asking again what is missing.
import { createReadStream } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { join, relative, sep } from 'node:path';
import { diffManifest, manifestPathError, type ManifestFile, type PublishResult } from '../model/site.ts';
import { contentTypeFor } from '../web/mime.ts';
import { CliError } from './client.ts';
import { ApiError, type SiteClient } from './site-client.ts';
import { Progress, type ProgressSink } from './progress.ts';

export interface LocalFile {
  path: string;
  abs: string;
  size: number;
}

/** Regular files under `root`, as '/'-separated relative paths in sorted order. Symlinks and
 *  special files are skipped with a warning: a deploy must not leak what is outside the tree. */
export async function walk(root: string, warn: (s: string) => void = () => {}): Promise<LocalFile[]> {
  const st = await lstat(root).catch(() => undefined);
  if (!st?.isDirectory()) throw new CliError(`${root} is not a directory`);
  const out: LocalFile[] = [];
  async function visit(dir: string): Promise<void> {
    const entries = await readdir(dir, { withFileTypes: true });
    for (const e of entries) {
      const abs = join(dir, e.name);
      const rel = relative(root, abs).split(sep).join('/');
      if (e.isDirectory()) await visit(abs);
      else if (e.isFile()) {
        const why = manifestPathError(rel);
        if (why) {
          warn(`skipping ${rel}: ${why}`);
          continue;
        }
        out.push({ path: rel, abs, size: (await lstat(abs)).size });
      } else warn(`skipping ${rel}: not a regular file`);
    }
  }
  await visit(root);
  return out.sort((a, z) => (a.path < z.path ? -1 : 1));
}

function hashFile(abs: string): Promise<{ sha256: string; size: number }> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    let size = 0;
    createReadStream(abs)
      .on('data', (c) => {
        h.update(c as Buffer);
        size += (c as Buffer).length;
      })
      .once('error', reject)
      .once('end', () => resolve({ sha256: h.digest('hex'), size }));
  });
}

/** Runs `fn` over `items` with at most `limit` at once; the first failure stops new starts. */
export async function pool<T>(items: T[], limit: number, fn: (x: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failed: unknown;
  const worker = async () => {
    while (failed === undefined && next < items.length) {
      const x = items[next++]!;
      try {
        await fn(x);
      } catch (e) {
        failed ??= e;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  if (failed !== undefined) throw failed;
}

export interface DeploySummary {
  site: string;
  deploy: string;
  previous: string | null;
  files: number;
  /** Distinct contents sent. */
  uploaded: number;
  /** Files that needed no upload (unchanged, or content already on the server). */
  skipped: number;
  /** Bytes sent. */
  bytes: number;
  added: number;
  changed: number;
  removed: number;
  gc: PublishResult['gc'];
}

export interface DeployOptions {
  concurrency: number;
  progress?: ProgressSink;
  warn?: (s: string) => void;
}

const ATTEMPTS = 3;

export async function deploy(c: SiteClient, site: string, dir: string, o: DeployOptions): Promise<DeploySummary> {
  const local = await walk(dir, o.warn);
  if (local.length === 0) throw new CliError(`${dir} has no files to deploy`);
  const files: Record<string, ManifestFile> = {};
  const bySha = new Map<string, LocalFile>();
  await pool(local, 8, async (f) => {
    const h = await hashFile(f.abs);
    f.size = h.size;
    files[f.path] = { sha256: h.sha256, size: h.size, type: contentTypeFor(f.path, undefined) };
    if (!bySha.has(h.sha256)) bySha.set(h.sha256, f);
  });
  const current = await c.get<{ id: string | null; files: Record<string, ManifestFile> }>('GetSiteDeploy', { site });
  const diff = diffManifest(current.id ? current.files : null, files);
  // The server decides what is missing: blobs of an interrupted run are already there.
  const missing: string[] = [];
  for (let i = 0; i < diff.upload.length; i += 5000) {
    const r = await c.post<{ missing: string[] }>('CheckSiteBlobs', { sha256: diff.upload.slice(i, i + 5000) }, { site });
    missing.push(...r.missing);
  }
  const todo = missing.map((s) => bySha.get(s)!);
  const total = todo.reduce((n, f) => n + f.size, 0);
  const progress = new Progress(todo.length, total, o.progress);
  let sent = 0;
  await pool(todo, o.concurrency, async (f) => {
    const sha = files[f.path]!.sha256;
    for (let attempt = 1; ; attempt++) {
      let n = 0;
      try {
        await c.putBlob(site, sha, f.abs, f.size, (k) => {
          n += k;
          progress.addBytes(k);
        });
        sent += f.size;
        progress.fileDone(f.size - n);
        return;
      } catch (e) {
        progress.undo(n);
        // Refusals (quota, rights, bad data) will not change on retry; dropped connections may.
        if (e instanceof ApiError && e.status < 500) throw e;
        if (attempt >= ATTEMPTS) throw e;
        await new Promise((r) => setTimeout(r, 200 * attempt));
      }
    }
  });
  progress.finish();
  const r = await c.post<PublishResult>('PublishSiteDeploy', { files }, { site });
  return {
    site,
    deploy: r.id,
    previous: r.previous,
    files: local.length,
    uploaded: todo.length,
    skipped: local.length - todo.length,
    bytes: sent,
    added: diff.added.length,
    changed: diff.changed.length,
    removed: diff.removed.length,
    gc: r.gc,
  };
}
