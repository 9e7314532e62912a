// `grenier bucket list` pages through ListBuckets (?limit=&start=) instead of one answer holding
// every bucket, and `bucket info <id prefix>` (GetBucketInfo ?search=) finds a bucket without
// reading them all: both stay usable at 50,000 buckets.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ADMIN_TOKEN, startTestAdmin, type TestAdmin } from '../api/admin/testkit.ts';
import { newBucket } from '../model/bucket.ts';

const MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));
/** More than one 1000-bucket page and more than one page's scan budget (2000 entries). */
const N = 2500;
let t: TestAdmin;
let scratch: string;
let unaliased: string;

before(async () => {
  t = await startTestAdmin();
  scratch = mkdtempSync(join(tmpdir(), 'grenier-cli-bl-'));
  const now = Date.now();
  for (let i = 0; i < N; i += 250) {
    await Promise.all(
      Array.from({ length: Math.min(250, N - i) }, async (_, j) => {
        const name = `b${String(i + j).padStart(5, '0')}`;
        const b = newBucket(t.store.newUuid(), now);
        b.aliases[name] = { t: now, v: true };
        await t.store.buckets.insert(b);
        await t.store.aliases.insert({ name, bucket: { t: now, v: b.id } });
      }),
    );
  }
  const b = newBucket(t.store.newUuid(), now);
  await t.store.buckets.insert(b);
  unaliased = b.id;
});
after(async () => {
  await t.close();
  rmSync(scratch, { recursive: true, force: true });
});

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', GRENIER_ADMIN_URL: t.url, GRENIER_ADMIN_TOKEN: ADMIN_TOKEN };
  return new Promise((ok) => {
    execFile(process.execPath, [MAIN, ...args], { env, cwd: scratch, timeout: 60_000, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      ok({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
    });
  });
}

test('bucket list: the first 100 by default with a hint to go on, --limit N, --all every bucket once (paged requests)', async () => {
  const first = await cli(['bucket', 'list']);
  assert.equal(first.code, 0, first.stderr);
  const rows = first.stdout.split('\n').filter((l) => /\bb\d{5}\b/.test(l));
  assert.equal(rows.length, 100, 'one default page');
  assert.match(rows[0]!, /\bb00000\b/);
  assert.match(first.stderr, /--all/);

  const five = await cli(['bucket', 'list', '--limit', '5', '--json']);
  assert.equal(five.code, 0, five.stderr);
  assert.deepEqual(JSON.parse(five.stdout).map((b: { globalAliases: string[] }) => b.globalAliases[0]), ['b00000', 'b00001', 'b00002', 'b00003', 'b00004']);

  const all = await cli(['bucket', 'list', '--all', '--json']);
  assert.equal(all.code, 0, all.stderr);
  const ids: string[] = JSON.parse(all.stdout).map((b: { id: string }) => b.id);
  assert.equal(ids.length, N + 1);
  assert.equal(new Set(ids).size, N + 1, 'each bucket once');
  assert.ok(ids.includes(unaliased), 'a bucket without an alias is listed too');

  const bad = await cli(['bucket', 'list', '--limit', '0']);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /--limit/);
});

test('bucket info by id prefix and by alias: found without reading every bucket', async () => {
  const target = (await t.store.bucketByName('b01234'))!;
  const live = t.store.liveBuckets;
  t.store.liveBuckets = () => Promise.reject(new Error('read every bucket'));
  try {
    for (const pattern of [target.id.slice(0, 12), target.id, 'b01234']) {
      const r = await cli(['bucket', 'info', pattern, '--json']);
      assert.equal(r.code, 0, `${pattern}: ${r.stderr}`);
      assert.equal(JSON.parse(r.stdout).id, target.id);
    }
    const none = await cli(['bucket', 'info', 'ffffffffffffffffffff']);
    assert.equal(none.code, 1);
    assert.match(none.stderr, /no bucket/i);
    // Too short to be an id prefix one means: refused as ambiguous (thousands match) or unknown, not read whole.
    const short = await cli(['bucket', 'info', target.id.slice(0, 1)]);
    assert.equal(short.code, 1);
  } finally {
    t.store.liveBuckets = live;
  }
});
