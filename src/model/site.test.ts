// Manifest diffing and validation, and deploys on a real Store: blob upload with digest and quota
// checks, publish as one switch, rollback, garbage collection, site deletion.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { Store } from './store.ts';
import { createKey } from './bucket-ops.ts';
import {
  blobKey,
  collectGarbage,
  createSite,
  deleteSite,
  diffManifest,
  findSite,
  listSites,
  loadManifest,
  manifestPathError,
  missingBlobs,
  publishDeploy,
  putBlob,
  rollback,
  siteTables,
  validateFiles,
  type ManifestFile,
  type SiteRef,
} from './site.ts';
import { liveVersion } from './object.ts';

const f = (sha: string, size = 1, type = 'text/html'): ManifestFile => ({ sha256: sha.repeat(64).slice(0, 64), size, type });

test('diffManifest: added, changed, removed, and uploads only for content the current deploy lacks', () => {
  assert.deepEqual(diffManifest(null, { 'a.html': f('a'), 'b.html': f('a') }), { upload: [f('a').sha256], added: ['a.html', 'b.html'], changed: [], removed: [], unchanged: 0 });
  const cur = { 'index.html': f('1'), 'old.html': f('2'), 'img/x.png': f('3') };
  const next = { 'index.html': f('4'), 'img/x.png': f('3'), 'img/copy.png': f('3'), 'moved.html': f('2') };
  const d = diffManifest(cur, next);
  assert.deepEqual(d.upload, [f('4').sha256], 'renamed and copied contents are already stored');
  assert.deepEqual(d.added, ['img/copy.png', 'moved.html']);
  assert.deepEqual(d.changed, ['index.html']);
  assert.deepEqual(d.removed, ['old.html']);
  assert.equal(d.unchanged, 1);
  assert.deepEqual(diffManifest(cur, cur).upload, []);
});

test('manifest paths: relative keys only, nothing under .grenier/', () => {
  for (const ok of ['index.html', 'a/b/c.css', '.well-known/x', 'sp ace.html', 'é.html']) assert.equal(manifestPathError(ok), undefined, ok);
  for (const bad of ['', '/abs', 'a//b', 'a/../b', './a', 'a/', '.grenier/blobs/x', '.grenier', 'a\\b', 'x'.repeat(1025)]) assert.ok(manifestPathError(bad), bad);
  assert.throws(() => validateFiles({ '../etc/passwd': f('a') }), /"\.\.\/etc\/passwd"/);
  assert.throws(() => validateFiles({ 'a.html': { sha256: 'XYZ', size: 1, type: 't' } }), /sha256/);
  assert.throws(() => validateFiles({ 'a.html': { ...f('a'), size: -1 } }), /size/);
  assert.throws(() => validateFiles({ 'a.html': { ...f('a'), type: 'x\r\nSet-Cookie: a' } }), /type/);
  assert.throws(() => validateFiles({}), /at least one file/);
  assert.throws(() => validateFiles([]), /object/);
});

let dir: string;
let store: Store;
let ref: SiteRef;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'grenier-site-'));
  store = new Store({ metadataDir: join(dir, 'meta'), dataDir: join(dir, 'data'), blockSize: 1024, compression: 'none', dataFsync: false, metadataFsync: false, inlineThreshold: 100 });
  const k = await createKey(store, 'owner');
  ref = await createSite(store, 'Site.Example.org', k, { indexDocument: 'index.html', maxSize: 20_000 });
});
after(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
async function* chunks(b: Buffer): AsyncGenerator<Buffer> {
  for (let i = 0; i < b.length; i += 700) yield b.subarray(i, i + 700);
  if (b.length === 0) return;
}
async function upload(b: Buffer): Promise<string> {
  const h = sha(b);
  await putBlob(store, await findSite(store, 'site.example.org'), h, chunks(b), b.length);
  return h;
}
const file = (h: string, size: number, type = 'text/html'): ManifestFile => ({ sha256: h, size, type });

test('createSite: lower-cased domain, website on, owner rights, quota; tables shared per store', async () => {
  assert.equal(ref.site.domain, 'site.example.org');
  assert.equal(ref.bucket.website.v?.indexDocument, 'index.html');
  assert.equal(ref.bucket.quotas.v.maxSize, 20_000);
  assert.deepEqual(Object.values(ref.bucket.keys).map((p) => p.v), [{ read: true, write: true, owner: true }]);
  assert.equal(siteTables(store).sites, siteTables(store).sites);
  assert.ok(store.tables().includes(siteTables(store).sites), 'replicated with the other tables');
  assert.deepEqual((await listSites(store)).map((s) => s.domain), ['site.example.org']);
  await assert.rejects(findSite(store, 'nope.example.org'), /no site "nope\.example\.org"/);
});

test('putBlob: content must match its name; stored once; quota checked before commit', async () => {
  const a = Buffer.alloc(3000, 'a');
  await assert.rejects(putBlob(store, ref, sha(Buffer.from('other')), chunks(a), a.length), /hashes to/);
  assert.deepEqual(await missingBlobs(store, ref.bucket.id, [sha(a)]), [sha(a)], 'a refused blob is not committed');
  const h = await upload(a);
  const again = await putBlob(store, ref, h, chunks(a), a.length);
  assert.equal(again.stored, false);
  assert.equal(store.counters.get(ref.bucket.id).bytes, 3000);
  // Declared size over the quota: refused before reading; undeclared: refused after storing, before commit.
  const big = Buffer.alloc(25_000, 'b');
  await assert.rejects(putBlob(store, ref, sha(big), chunks(big), big.length), /quota of site\.example\.org exceeded.*grenier site quota/);
  await assert.rejects(putBlob(store, ref, sha(big), chunks(big), undefined), /quota of site\.example\.org exceeded/);
  assert.equal(store.counters.get(ref.bucket.id).bytes, 3000);
  const empty = Buffer.alloc(0);
  assert.equal((await putBlob(store, ref, sha(empty), chunks(empty), 0)).stored, true);
});

test('publish switches in one write, keeps the previous deploy, rollback swaps, GC keeps only current + previous', async () => {
  const c1 = Buffer.alloc(2000, '1');
  const c2 = Buffer.alloc(2000, '2');
  const c3 = Buffer.alloc(2000, '3');
  const shared = Buffer.alloc(1500, 's');
  const [h1, h2, h3, hs] = [await upload(c1), await upload(c2), await upload(c3), await upload(shared)];
  await assert.rejects(publishDeploy(store, ref, { 'index.html': file(sha(Buffer.from('never uploaded')), 14) }), /not uploaded/);

  const writes: unknown[] = [];
  siteTables(store).sites.local.onUpdate((_b, a) => writes.push(a.deploys.v));
  const d1 = await publishDeploy(store, ref, { 'index.html': file(h1, 2000), 'lib.js': file(hs, 1500, 'text/javascript') });
  assert.equal(d1.previous, null);
  const d2 = await publishDeploy(store, ref, { 'index.html': file(h2, 2000), 'lib.js': file(hs, 1500) });
  assert.equal(d2.previous, d1.id);
  assert.deepEqual(writes, [
    { current: d1.id, previous: null },
    { current: d2.id, previous: d1.id },
  ], 'each publish is one insert of both pointers');
  assert.equal(d2.gc.blobs, 0, 'nothing of the current or previous deploy is collected');
  assert.ok(await loadManifest(store, ref.bucket.id, d1.id));

  assert.deepEqual(await rollback(store, ref), { current: d1.id, previous: d2.id });
  assert.deepEqual(await rollback(store, ref), { current: d2.id, previous: d1.id });

  const d3 = await publishDeploy(store, ref, { 'index.html': file(h3, 2000), 'lib.js': file(hs, 1500) });
  // d1 dropped: its own content c1 goes at once; the shared one and d2's stay.
  assert.deepEqual(d3.gc, { blobs: 1, bytes: 2000, manifests: 1 });
  assert.deepEqual(await missingBlobs(store, ref.bucket.id, [h1, h2, h3, hs]), [h1]);
  assert.equal(await loadManifest(store, ref.bucket.id, d1.id), undefined);
  // The blobs the first test left (3000 × 'a', empty) were never referenced: kept during the grace period, then collected.
  assert.equal((await collectGarbage(store, ref.bucket.id)).blobs, 0);
  assert.equal((await collectGarbage(store, ref.bucket.id, Date.now() + 25 * 3600_000)).blobs, 2);
  assert.equal(liveVersion(await store.objects.get(ref.bucket.id, blobKey(h2))) !== undefined, true);
});

test('rollback without a previous deploy says so; deleteSite frees everything', async () => {
  const k = await createKey(store, 'o2');
  const fresh = await createSite(store, 'fresh.example.org', k, { indexDocument: 'index.html' });
  assert.equal(fresh.bucket.quotas.v.maxSize, 50_000_000);
  await assert.rejects(rollback(store, fresh), /no previous deploy/);
  const cur = await findSite(store, 'site.example.org');
  await deleteSite(store, cur);
  await assert.rejects(findSite(store, 'site.example.org'), /no site/);
  assert.equal(store.counters.get(cur.bucket.id).bytes, 0);
  assert.deepEqual((await listSites(store)).map((s) => s.domain), ['fresh.example.org']);
});
