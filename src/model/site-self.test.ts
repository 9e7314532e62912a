// Self-service site allowance under concurrency: creations by one key are serialised on a node,
// so N at once never leave more than sitesMax live sites (the count check and the write used to
// interleave: every create read the same count and passed). Other keys are not held up.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Store } from './store.ts';
import { createKey } from './bucket-ops.ts';
import { createOwnSite, ownLiveSites } from './site-self.ts';
import { siteTables } from './site.ts';
import { ModelError } from './errors.ts';

async function withStore(f: (store: Store) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'grenier-site-self-'));
  const store = new Store({ metadataDir: join(dir, 'meta'), dataDir: join(dir, 'data'), blockSize: 1024, compression: 'none', dataFsync: false, metadataFsync: false, inlineThreshold: 100 });
  try {
    await f(store);
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function allowSites(store: Store, name: string, max: number): Promise<string> {
  const k = await createKey(store, name);
  await store.keys.insert({ ...k, sitesMax: { t: store.ts(), v: max } });
  return k.id;
}

test('N concurrent self-service creates by one key leave at most sitesMax live sites; the rest are SiteAllowanceExceeded', async () => {
  await withStore(async (store) => {
    const MAX = 2;
    const N = 8;
    const id = await allowSites(store, 'racer', MAX);
    const other = await allowSites(store, 'other', 1);
    const results = await Promise.allSettled([
      ...Array.from({ length: N }, (_, i) => createOwnSite(store, id, `site-${i}.web.test`, { indexDocument: 'index.html' })),
      createOwnSite(store, other, 'other.web.test', { indexDocument: 'index.html' }),
    ]);
    const mine = results.slice(0, N);
    const ok = mine.filter((r) => r.status === 'fulfilled').length;
    assert.equal(ok, MAX, `${ok} of ${N} concurrent creates succeeded with sitesMax ${MAX}`);
    for (const r of mine)
      if (r.status === 'rejected') assert.ok(r.reason instanceof ModelError && r.reason.code === 'SiteAllowanceExceeded', String(r.reason));
    assert.equal(results[N]!.status, 'fulfilled', 'another key is not refused');
    const k = (await store.key(id))!;
    assert.equal(ownLiveSites(store, k).length, MAX);
    // No site was created past the allowance, not even unrecorded on the key.
    const live = (await siteTables(store).sites.range('site')).filter((s) => !s.deleted.v && s.domain.startsWith('site-'));
    assert.equal(live.length, MAX, live.map((s) => s.domain).join(', '));
  });
});

test('a failed create (name taken) releases the owner: the next one goes through', async () => {
  await withStore(async (store) => {
    const id = await allowSites(store, 'taker', 2);
    await createOwnSite(store, id, 'taken.web.test', { indexDocument: 'index.html' });
    const [dup, next] = await Promise.allSettled([
      createOwnSite(store, id, 'taken.web.test', { indexDocument: 'index.html' }),
      createOwnSite(store, id, 'fresh.web.test', { indexDocument: 'index.html' }),
    ]);
    assert.equal(dup.status, 'rejected');
    assert.equal(next.status, 'fulfilled', next.status === 'rejected' ? String(next.reason) : '');
  });
});
