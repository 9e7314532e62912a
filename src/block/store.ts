// Local content-addressed block files: data_dir/ab/cd/<hash>[.zst], written to a temp file,
// optionally fsynced, then renamed, so a crash never leaves a half-written block under its name.
import { mkdir, open, readFile, rename, unlink, stat, readdir } from 'node:fs/promises';
import { existsSync, mkdirSync } from 'node:fs';
import { privateDir } from '../db/private-files.ts';
import { join } from 'node:path';
import { zstdCompress, zstdDecompress, constants as zc } from 'node:zlib';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import { sha256 } from '../util/hash.ts';

const compress = promisify(zstdCompress);
const decompress = promisify(zstdDecompress);

const SAMPLE = 64 * 1024;

/** Photos, videos and archives do not compress: a fast zstd pass over a 64 KiB sample decides,
 *  so incompressible blocks cost 1/16 of a full compression attempt. */
async function worthCompressing(data: Buffer): Promise<boolean> {
  if (data.length <= SAMPLE * 2) return true;
  const sample = data.subarray(0, SAMPLE);
  const c = await compress(sample, { params: { [zc.ZSTD_c_compressionLevel]: 1 } });
  return c.length < SAMPLE * 0.97;
}

/** Reads a whole file into `buf` when it fits (else into a new buffer). */
async function readInto(path: string, buf: Buffer): Promise<Buffer> {
  const fh = await open(path, 'r');
  try {
    const { size } = await fh.stat();
    const target = size <= buf.length ? buf : Buffer.allocUnsafe(size);
    let n = 0;
    while (n < size) {
      const { bytesRead } = await fh.read(target, n, size - n, n);
      if (bytesRead === 0) break;
      n += bytesRead;
    }
    return target.subarray(0, n);
  } finally {
    await fh.close();
  }
}

export class BlockCorrupted extends Error {
  constructor(hash: string) {
    super(`block ${hash} is corrupted (hash mismatch)`);
    this.name = 'BlockCorrupted';
  }
}
export class BlockMissing extends Error {
  constructor(hash: string) {
    super(`block ${hash} is missing`);
    this.name = 'BlockMissing';
  }
}

export interface BlockStoreOptions {
  fsync: boolean;
  /** zstd level, or 'none'. Blocks that do not shrink are stored raw. */
  compression: number | 'none';
}

export class BlockStore {
  readonly dir: string;
  private readonly opts: BlockStoreOptions;
  constructor(dir: string, opts: BlockStoreOptions) {
    this.dir = dir;
    this.opts = opts;
    privateDir(dir, 'data_dir');
    mkdirSync(join(dir, 'tmp'), { recursive: true });
  }

  private path(hex: string): string {
    return join(this.dir, hex.slice(0, 2), hex.slice(2, 4), hex);
  }

  has(hash: Buffer): boolean {
    const p = this.path(hash.toString('hex'));
    return existsSync(p) || existsSync(p + '.zst');
  }

  /** Stores a block whose hash the caller computed; a block already present is not rewritten (dedup). */
  async put(hash: Buffer, data: Buffer): Promise<void> {
    const hex = hash.toString('hex');
    const p = this.path(hex);
    if (this.has(hash)) return;
    let body = data;
    let suffix = '';
    if (this.opts.compression !== 'none' && (await worthCompressing(data))) {
      const c = await compress(data, { params: { [zc.ZSTD_c_compressionLevel]: this.opts.compression } });
      if (c.length < data.length * 0.95) {
        body = c;
        suffix = '.zst';
      }
    }
    await mkdir(join(this.dir, hex.slice(0, 2), hex.slice(2, 4)), { recursive: true });
    const tmp = join(this.dir, 'tmp', `${hex}.${randomBytes(6).toString('hex')}`);
    const fh = await open(tmp, 'w', 0o600);
    try {
      await fh.writeFile(body);
      if (this.opts.fsync) await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, p + suffix);
  }

  /** Reads a block and verifies its hash. With `into` (a pooled buffer), a raw block is read into
   *  it and a view of it returned, so streaming reads allocate nothing per block. */
  async get(hash: Buffer, into?: Buffer): Promise<Buffer> {
    const hex = hash.toString('hex');
    const p = this.path(hex);
    let data: Buffer;
    try {
      data = into ? await readInto(p, into) : await readFile(p);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      try {
        data = await decompress(await readFile(p + '.zst'));
      } catch (e2) {
        if ((e2 as NodeJS.ErrnoException).code === 'ENOENT') throw new BlockMissing(hex);
        throw new BlockCorrupted(hex);
      }
    }
    if (!sha256(data).equals(hash)) throw new BlockCorrupted(hex);
    return data;
  }

  async delete(hash: Buffer): Promise<void> {
    const p = this.path(hash.toString('hex'));
    for (const f of [p, p + '.zst']) await unlink(f).catch(() => {});
  }

  /** Moves a corrupted block aside so it is re-fetched and kept for inspection. */
  async quarantine(hash: Buffer): Promise<void> {
    const hex = hash.toString('hex');
    const p = this.path(hex);
    await mkdir(join(this.dir, 'quarantine'), { recursive: true });
    const at = Date.now();
    for (const [f, sfx] of [[p, ''], [p + '.zst', '.zst']] as const) await rename(f, join(this.dir, 'quarantine', `${hex}${sfx}.${at}`)).catch(() => {});
  }

  /** Every stored block hash (for scrub and resync). */
  async *list(): AsyncGenerator<Buffer> {
    for (const a of await readdir(this.dir).catch(() => [] as string[])) {
      if (!/^[0-9a-f]{2}$/.test(a)) continue;
      for (const b of await readdir(join(this.dir, a)).catch(() => [] as string[])) {
        for (const f of await readdir(join(this.dir, a, b)).catch(() => [] as string[])) {
          const hex = f.replace(/\.zst$/, '');
          if (/^[0-9a-f]{64}$/.test(hex)) yield Buffer.from(hex, 'hex');
        }
      }
    }
  }

  /** Bytes on disk for a block (compressed size if compressed), or 0 if absent. */
  async sizeOnDisk(hash: Buffer): Promise<number> {
    const p = this.path(hash.toString('hex'));
    for (const f of [p, p + '.zst']) {
      const s = await stat(f).catch(() => undefined);
      if (s) return s.size;
    }
    return 0;
  }
}
