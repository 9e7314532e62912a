// PostObject's form reader: fields and file at every split of the body, the bounds on what comes
// before the file (count, per-field size, total), and the bounded read of what follows it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { S3Error } from '../errors.ts';
import { POST_FIELDS_BYTES_MAX, POST_FIELDS_MAX, POST_FIELD_BYTES_MAX, POST_TRAILER_BYTES_MAX, readPostForm } from './post-form.ts';

const BOUNDARY = '----WebKitFormBoundary7MA4YWxkTrZu0gW';
const CT = `multipart/form-data; boundary=${BOUNDARY}`;

type Part = { name: string; value: Buffer | string; filename?: string; type?: string };
function multipart(parts: Part[], trailer = `--${BOUNDARY}--\r\n`): Buffer {
  const out: Buffer[] = [];
  for (const p of parts) {
    let head = `--${BOUNDARY}\r\nContent-Disposition: form-data; name="${p.name}"`;
    if (p.filename !== undefined) head += `; filename="${p.filename}"`;
    head += '\r\n';
    if (p.type) head += `Content-Type: ${p.type}\r\n`;
    out.push(Buffer.from(head + '\r\n'), Buffer.from(p.value), Buffer.from('\r\n'));
  }
  out.push(Buffer.from(trailer));
  return Buffer.concat(out);
}

/** The body cut at the given offsets, as a stream. */
function pieces(body: Buffer, cuts: number[]): Readable {
  const at = [0, ...cuts.filter((c) => c > 0 && c < body.length).sort((a, b) => a - b), body.length];
  const chunks = at.slice(1).map((end, i) => body.subarray(at[i]!, end)).filter((c) => c.length > 0);
  return Readable.from(chunks, { objectMode: false });
}

async function collect(src: AsyncIterable<Buffer>): Promise<Buffer> {
  const out: Buffer[] = [];
  for await (const c of src) out.push(c);
  return Buffer.concat(out);
}

const code = (c: string, re?: RegExp) => (e: unknown) => e instanceof S3Error && e.code === c && (!re || re.test(e.message));

// File content with near-misses of the delimiter.
const FILE = Buffer.concat([Buffer.from(`x\r\n--${BOUNDARY.slice(0, -1)}y\r\n-`), randomBytes(50), Buffer.from('\r\n--')]);

test('fields (lower-cased names) and the file survive any split of the body', async () => {
  const body = multipart([
    { name: 'kEy', value: 'uploads/${filename}', filename: 'kEy' },
    { name: 'X-Amz-Meta-Note', value: 'multi\r\nline' },
    { name: 'file', value: FILE, filename: 'cat.png', type: 'image/png' },
    { name: 'after', value: 'ignored' },
  ]);
  await fc.assert(
    fc.asyncProperty(fc.array(fc.integer({ min: 0, max: body.length }), { maxLength: 6 }), async (cuts) => {
      const f = await readPostForm(pieces(body, cuts), CT);
      assert.deepEqual([...f.fields], [['key', 'uploads/${filename}'], ['x-amz-meta-note', 'multi\r\nline']]);
      assert.equal(f.filename, 'cat.png');
      assert.equal(f.fileContentType, 'image/png');
      assert.ok((await collect(f.file)).equals(FILE));
      assert.equal(await f.finish(), true);
    }),
    { numRuns: 200 },
  );
});

test(`more than ${POST_FIELDS_MAX} fields before the file: MaxPostPreDataLengthExceededError`, async () => {
  const fields = (n: number) => Array.from({ length: n }, (_, i): Part => ({ name: `x-ignore-${i}`, value: '' }));
  const ok = await readPostForm(pieces(multipart([...fields(POST_FIELDS_MAX), { name: 'file', value: 'x' }]), []), CT);
  assert.equal(ok.fields.size, POST_FIELDS_MAX);
  await assert.rejects(readPostForm(pieces(multipart([...fields(10_000), { name: 'file', value: 'x' }]), []), CT), code('MaxPostPreDataLengthExceededError', /fields/));
});

test('one field over its size, or all of them over the total, is refused before it is buffered', async () => {
  const big = multipart([{ name: 'key', value: 'x'.repeat(POST_FIELD_BYTES_MAX + 1) }, { name: 'file', value: 'x' }]);
  await assert.rejects(readPostForm(pieces(big, []), CT), code('MaxPostPreDataLengthExceededError', /'key'/));
  const exact = await readPostForm(pieces(multipart([{ name: 'key', value: 'x'.repeat(POST_FIELD_BYTES_MAX) }, { name: 'file', value: 'x' }]), []), CT);
  assert.equal(exact.fields.get('key')!.length, POST_FIELD_BYTES_MAX);
  const many = Array.from({ length: 20 }, (_, i): Part => ({ name: `x-ignore-${i}`, value: 'v'.repeat(POST_FIELD_BYTES_MAX - 100) }));
  await assert.rejects(readPostForm(pieces(multipart([...many, { name: 'file', value: 'x' }]), []), CT), code('MaxPostPreDataLengthExceededError', new RegExp(`${POST_FIELDS_BYTES_MAX} bytes`)));
  // A stream of huge part headers (no value at all) counts too.
  const heads = Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="a"\r\nX: ${'h'.repeat(20_000)}`);
  await assert.rejects(readPostForm(pieces(heads, []), CT), code('MalformedPOSTRequest', /part headers/));
});

test('a field twice, no file, no name, broken framing', async () => {
  await assert.rejects(readPostForm(pieces(multipart([{ name: 'key', value: 'a' }, { name: 'KEY', value: 'b' }, { name: 'file', value: 'x' }]), []), CT), code('InvalidArgument', /more than once/));
  await assert.rejects(readPostForm(pieces(multipart([{ name: 'key', value: 'k' }]), []), CT), code('InvalidArgument', /file/));
  await assert.rejects(readPostForm(pieces(Buffer.from('x'), []), 'application/json'), code('MalformedPOSTRequest'));
  await assert.rejects(readPostForm(pieces(Buffer.from('x'), []), undefined), code('MalformedPOSTRequest'));
  await assert.rejects(readPostForm(pieces(multipart([{ name: '', value: 'k' }]), []), CT), code('MalformedPOSTRequest', /name/));
  const truncated = multipart([{ name: 'key', value: 'k' }, { name: 'file', value: FILE }]);
  const f = await readPostForm(pieces(truncated.subarray(0, truncated.length - 60), []), CT);
  await assert.rejects(collect(f.file), code('IncompleteBody'));
});

test(`what follows the file is read up to ${POST_TRAILER_BYTES_MAX} bytes, then left for a closing connection`, async () => {
  const short = await readPostForm(pieces(multipart([{ name: 'key', value: 'k' }, { name: 'file', value: 'x' }, { name: 'after', value: 'y'.repeat(1000) }]), []), CT);
  await collect(short.file);
  assert.equal(await short.finish(), true);
  let pulled = 0;
  const endless = new Readable({
    read() {
      pulled += 16384;
      this.push(Buffer.alloc(16384, 'z'));
    },
  });
  const head = multipart([{ name: 'key', value: 'k' }, { name: 'file', value: 'x' }], `--${BOUNDARY}\r\nContent-Disposition: form-data; name="after"\r\n\r\n`);
  const src = Readable.from((async function* () {
    yield head;
    for await (const c of endless) yield c as Buffer;
  })(), { objectMode: false });
  const long = await readPostForm(src, CT);
  assert.ok((await collect(long.file)).equals(Buffer.from('x')));
  assert.equal(await long.finish(), false);
  assert.ok(pulled < POST_TRAILER_BYTES_MAX + 256 * 1024, `read ${pulled} bytes after the file`);
});
