// PostObject's multipart/form-data reader: the fields before the file part are read into memory
// under count and size bounds (checked as the bytes arrive), the file part is streamed with
// back-pressure, and what follows it is read under a bound too.
import type { Readable } from 'node:stream';
import { S3Error } from '../errors.ts';
import { limitRefused } from '../../../util/metrics.ts';

/** Parts before the file (S3's forms carry about 15). */
export const POST_FIELDS_MAX = 64;
/** One field's value; the policy has its own bound (POST_POLICY_FIELD_BYTES_MAX). */
export const POST_FIELD_BYTES_MAX = 20 * 1024;
/** The base64 policy field: a 20 KiB policy document (S3's limit) is 27 KiB of base64. */
export const POST_POLICY_FIELD_BYTES_MAX = 28 * 1024;
/** Everything before the file part, delimiters and part headers included. */
export const POST_FIELDS_BYTES_MAX = 256 * 1024;
/** The header block of one part. */
export const POST_PART_HEADER_BYTES_MAX = 8 * 1024;
/** What may follow the file part (ignored fields, the closing delimiter) before the answer. */
export const POST_TRAILER_BYTES_MAX = 64 * 1024;

export interface PostForm {
  /** The fields before the file, by lower-cased name (S3's field names are case-insensitive). */
  fields: Map<string, string>;
  /** The file part's bytes, streamed; iterate once. */
  file: AsyncIterable<Buffer>;
  filename: string;
  /** Content-Type of the file part, if the browser sent one. */
  fileContentType?: string;
  /** Once the file is read: reads (and drops) the rest of the body, at most POST_TRAILER_BYTES_MAX
   *  bytes. True when the body ended within that bound; false when more is still coming (the
   *  caller should close the connection after answering). */
  finish(): Promise<boolean>;
  /** Stops reading the body here (on an error): the request stream is left intact, with nothing
   *  attached, so the lingering close (util/lingering-close.ts) can still read and drop the rest
   *  and the client sees the answer instead of a reset. */
  release(): void;
}

function malformed(msg: string): S3Error {
  return new S3Error('MalformedPOSTRequest', `The body of your POST request is not well-formed multipart/form-data: ${msg}`);
}

function tooLarge(limit: string, msg: string): S3Error {
  limitRefused.inc({ limit });
  return new S3Error('MaxPostPreDataLengthExceededError', `Your POST request fields preceding the upload file were too large: ${msg}`);
}

/** Pulls buffers from a stream on demand, so the file part can be handed out with back-pressure intact. */
class PullReader {
  buf: Buffer;
  /** Bytes taken from the source so far. */
  read = 0;
  private readonly it: AsyncIterator<Buffer | string>;
  private eof = false;
  constructor(src: Readable, prefix: Buffer) {
    // Not destroyed on return: a refused upload's body is still read (and dropped) after the answer.
    this.it = src.iterator({ destroyOnReturn: false });
    this.buf = prefix;
  }
  /** Detaches from the stream (its 'readable' listener would keep resume() from flowing it). */
  release(): void {
    if (this.eof) return;
    this.eof = true;
    this.it.return?.().catch(() => {});
  }
  get ended(): boolean {
    return this.eof;
  }
  async fill(): Promise<boolean> {
    if (this.eof) return false;
    let r: IteratorResult<Buffer | string>;
    try {
      r = await this.it.next();
    } catch (e) {
      throw new S3Error('IncompleteBody', `The request body could not be read: ${(e as Error).message}`);
    }
    if (r.done) {
      this.eof = true;
      return false;
    }
    const chunk = typeof r.value === 'string' ? Buffer.from(r.value) : r.value;
    this.read += chunk.length;
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    return true;
  }
  /** Bytes up to `delim` (consumed with it); `over()` is thrown once more than `max` bytes are
   *  buffered without it, so nothing larger is ever held. */
  async until(delim: Buffer, max: number, over: () => S3Error, what: string): Promise<Buffer> {
    let from = 0;
    for (;;) {
      const idx = this.buf.indexOf(delim, from);
      if (idx >= 0) {
        if (idx > max) throw over();
        const out = this.buf.subarray(0, idx);
        this.buf = this.buf.subarray(idx + delim.length);
        return out;
      }
      if (this.buf.length > max + delim.length) throw over();
      from = Math.max(0, this.buf.length - delim.length + 1);
      if (!(await this.fill())) throw malformed(`unexpected end of body in ${what}`);
    }
  }
  async take(n: number): Promise<Buffer> {
    while (this.buf.length < n) if (!(await this.fill())) throw malformed('unexpected end of body');
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    return out;
  }
}

export function parseBoundary(contentType: string | undefined): string {
  const [type, ...params] = (contentType ?? '').split(';');
  if (type?.trim().toLowerCase() !== 'multipart/form-data') throw malformed('Content-Type must be multipart/form-data');
  for (const p of params) {
    const m = /^\s*boundary\s*=\s*(?:"([^"]+)"|([^\s;]+))\s*$/i.exec(p);
    if (m) {
      const b = m[1] ?? m[2]!;
      if (b.length > 70) throw malformed('boundary longer than 70 characters');
      return b;
    }
  }
  throw malformed('missing boundary');
}

function dispositionParam(header: string, name: string): string | undefined {
  const re = new RegExp(`;\\s*${name}\\s*=\\s*(?:"((?:[^"\\\\]|\\\\.)*)"|([^;\\s]*))`, 'i');
  const m = re.exec(header);
  if (!m) return undefined;
  return m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : m[2];
}

/** Reads the form up to the file part. Throws MaxPostPreDataLengthExceededError past the bounds,
 *  MalformedPOSTRequest on broken framing, InvalidArgument without a file or with a field twice. */
export async function readPostForm(req: Readable, contentType: string | undefined): Promise<PostForm> {
  const boundary = parseBoundary(contentType);
  const r = new PullReader(req, Buffer.from('\r\n'));
  try {
    return await readFields(r, boundary);
  } catch (e) {
    r.release();
    throw e;
  }
}

async function readFields(r: PullReader, boundary: string): Promise<PostForm> {
  // Every delimiter is CRLF--boundary; a virtual leading CRLF makes the first one match too (and skips any preamble).
  const delim = Buffer.from(`\r\n--${boundary}`, 'latin1');
  // Bytes before the file, counted from the source (headers, delimiters, preamble and values).
  const room = () => POST_FIELDS_BYTES_MAX - (r.read - r.buf.length);
  const overTotal = () => tooLarge('post_fields_bytes_max', `more than ${POST_FIELDS_BYTES_MAX} bytes before the file`);
  await r.until(delim, Math.min(room(), POST_PART_HEADER_BYTES_MAX), overTotal, 'preamble');
  const fields = new Map<string, string>();
  for (;;) {
    const after = await r.take(2);
    if (after.toString('latin1') === '--') throw new S3Error('InvalidArgument', 'POST requires exactly one file upload per request.', { ArgumentName: 'file' });
    if (after.toString('latin1') !== '\r\n') throw malformed('boundary not followed by CRLF');
    const overHead = () => (room() < POST_PART_HEADER_BYTES_MAX ? overTotal() : malformed('part headers are too large'));
    const head = (await r.until(Buffer.from('\r\n\r\n'), Math.min(room(), POST_PART_HEADER_BYTES_MAX), overHead, 'part headers')).toString('utf8');
    let disposition: string | undefined;
    let partType: string | undefined;
    for (const line of head.split('\r\n')) {
      const colon = line.indexOf(':');
      if (colon <= 0) continue;
      const hname = line.slice(0, colon).trim().toLowerCase();
      if (hname === 'content-disposition') disposition = line.slice(colon + 1).trim();
      else if (hname === 'content-type') partType = line.slice(colon + 1).trim();
    }
    if (disposition === undefined || !/^form-data\b/i.test(disposition)) throw malformed('part without Content-Disposition: form-data');
    const name = dispositionParam(disposition, 'name');
    if (name === undefined || name === '') throw malformed('part without a name');
    const lname = name.toLowerCase();
    if (lname === 'file') {
      const filename = dispositionParam(disposition, 'filename') ?? '';
      const form: PostForm = { fields, file: fileBody(r, delim), filename, finish: () => finish(r), release: () => r.release() };
      if (partType !== undefined) form.fileContentType = partType;
      return form;
    }
    if (fields.size >= POST_FIELDS_MAX) throw tooLarge('post_fields_max', `more than ${POST_FIELDS_MAX} fields before the file`);
    if (fields.has(lname)) throw new S3Error('InvalidArgument', `The form field '${name.slice(0, 64)}' is given more than once.`, { ArgumentName: name.slice(0, 64) });
    const max = lname === 'policy' ? POST_POLICY_FIELD_BYTES_MAX : POST_FIELD_BYTES_MAX;
    const overField = () => (room() < max ? overTotal() : tooLarge('post_field_bytes_max', `the field '${name.slice(0, 64)}' is longer than ${max} bytes`));
    const value = await r.until(delim, Math.min(room(), max), overField, `field '${name.slice(0, 64)}'`);
    fields.set(lname, value.toString('utf8'));
  }
}

/**
 * Yields the file part up to the next delimiter. Only the last delimiter-length-minus-one bytes are
 * held back, since they may be the start of a delimiter split across reads.
 */
async function* fileBody(r: PullReader, delim: Buffer): AsyncGenerator<Buffer> {
  const keep = delim.length - 1;
  for (;;) {
    const idx = r.buf.indexOf(delim);
    if (idx >= 0) {
      if (idx > 0) yield r.buf.subarray(0, idx);
      r.buf = r.buf.subarray(idx + delim.length);
      return;
    }
    if (r.buf.length > keep) {
      const out = r.buf.subarray(0, r.buf.length - keep);
      r.buf = Buffer.from(r.buf.subarray(r.buf.length - keep));
      yield out;
    }
    if (!(await r.fill())) throw new S3Error('IncompleteBody', 'The request body ended inside the file part.');
  }
}

/** Fields after the file are ignored, as S3 does; only POST_TRAILER_BYTES_MAX of them are read. */
async function finish(r: PullReader): Promise<boolean> {
  let n = r.buf.length;
  r.buf = Buffer.alloc(0);
  while (n <= POST_TRAILER_BYTES_MAX) {
    if (!(await r.fill())) return true;
    n += r.buf.length;
    r.buf = Buffer.alloc(0);
  }
  r.release();
  return false;
}
