// A node builds one WebHandler that the web listener and the front both use: one set of caches
// (host index, deploys, micro-cache) and one configuration for both ways in.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { parseConfig } from '../config/config.ts';
import { GrenierNode } from '../node.ts';
import { createBucket } from '../model/bucket-ops.ts';
import { freePort } from '../../test/lib/node.ts';
import { get } from './test-env.ts';

test('the web listener and the front share one WebHandler (a page cached through one is a hit through the other)', { timeout: 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'grenier-wiring-'));
  const [s3, web, admin, rpc, http, https] = await Promise.all(Array.from({ length: 6 }, () => freePort()));
  const config = parseConfig(
    [
      `metadata_dir = "${join(dir, 'meta')}"`,
      `data_dir = "${join(dir, 'data')}"`,
      'replication_factor = 1',
      `rpc_secret = "${randomBytes(32).toString('hex')}"`,
      `rpc_bind_addr = "127.0.0.1:${rpc}"`,
      '[s3_api]',
      `api_bind_addr = "127.0.0.1:${s3}"`,
      's3_region = "garage"',
      '[s3_web]',
      `bind_addr = "127.0.0.1:${web}"`,
      'root_domain = ".web.localhost"',
      'micro_cache_secs = 60',
      '[admin]',
      `api_bind_addr = "127.0.0.1:${admin}"`,
      `admin_token = "${randomBytes(16).toString('hex')}"`,
      '[front]',
      `http_bind_addr = "127.0.0.1:${http}"`,
      `https_bind_addr = "127.0.0.1:${https}"`,
      'acme_directory = "https://127.0.0.1:9/directory"',
      'auto_certificates = false',
    ].join('\n'),
  );
  const node = new GrenierNode(config);
  try {
    await node.start();
    const { store } = node;
    const b = await createBucket(store, 'blog');
    await store.buckets.insert({ ...(await store.bucketById(b.id))!, website: { t: store.ts(), v: {} } });
    const page = Buffer.from('<p>hello</p>');
    await store.objects.insert({
      bucket: b.id,
      key: 'index.html',
      versions: [
        {
          uuid: store.newUuid(),
          ts: store.ts(),
          state: 'complete',
          nullVersion: true,
          deleteMarker: false,
          multipart: false,
          meta: { size: page.length, etag: 'e', headers: [['content-type', 'text/html']] },
          inline: page,
        },
      ],
    });
    const host = 'blog.web.localhost';
    // The micro-cache admits a page on its second request: web listener, then front, then web.
    for (const port of [web, http, web]) {
      const r = await get(port!, host, '/');
      assert.equal(r.status, 200);
      assert.equal(r.text, '<p>hello</p>');
    }
    assert.equal(node.web.cache.hits, 1, 'the third request was answered from the cache the front filled');
    assert.equal(node.web.cache.maxAgeMs, 60_000, 'the front serves with [s3_web] micro_cache_secs too');
  } finally {
    await node.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
