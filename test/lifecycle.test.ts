// Lifecycle on a real node with a 1-second lifecycle day (GRENIER_LIFECYCLE_DAY_SECS): the SDK's
// Put/GetBucketLifecycleConfiguration, the `lifecycle` worker in ListWorkers, and an expired
// object gone (unversioned) or under a delete marker (versioned) within a bounded wait.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CreateBucketCommand, GetBucketLifecycleConfigurationCommand, ListObjectVersionsCommand, ListObjectsV2Command,
  PutBucketLifecycleConfigurationCommand, PutBucketVersioningCommand, PutObjectCommand,
} from '@aws-sdk/client-s3';
import { startNode, s3Client } from './lib/node.ts';

async function waitFor<T>(what: string, f: () => Promise<T | undefined>, ms = 15_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

test('lifecycle rules applied by the lifecycle worker of a real node', { timeout: 60_000 }, async () => {
  const node = await startNode({ env: { GRENIER_LIFECYCLE_DAY_SECS: '1' } });
  const c = s3Client(node);
  try {
    const rules = [{ ID: 'tmp', Filter: { Prefix: 'tmp/' }, Status: 'Enabled' as const, Expiration: { Days: 1 } }];
    for (const b of ['plain', 'versioned']) {
      await c.send(new CreateBucketCommand({ Bucket: b }));
      if (b === 'versioned') await c.send(new PutBucketVersioningCommand({ Bucket: b, VersioningConfiguration: { Status: 'Enabled' } }));
      for (const k of ['tmp/a', 'tmp/b', 'keep/c']) await c.send(new PutObjectCommand({ Bucket: b, Key: k, Body: 'x' }));
      await c.send(new PutBucketLifecycleConfigurationCommand({ Bucket: b, LifecycleConfiguration: { Rules: rules } }));
    }
    const got = await c.send(new GetBucketLifecycleConfigurationCommand({ Bucket: 'plain' }));
    assert.equal(got.Rules?.[0]?.ID, 'tmp');
    assert.equal(got.Rules?.[0]?.Expiration?.Days, 1);
    const workers = (await node.admin('ListWorkers')) as { name: string; progress: string }[];
    assert.ok(workers.some((w) => w.name === 'lifecycle'), `lifecycle in ${workers.map((w) => w.name)}`);
    await waitFor('tmp/ to expire in the unversioned bucket', async () => {
      const l = await c.send(new ListObjectsV2Command({ Bucket: 'plain' }));
      const keys = (l.Contents ?? []).map((o) => o.Key);
      return keys.length === 1 ? keys : undefined;
    }).then((keys) => assert.deepEqual(keys, ['keep/c']));
    const v = await waitFor('delete markers in the versioned bucket', async () => {
      const l = await c.send(new ListObjectVersionsCommand({ Bucket: 'versioned' }));
      return (l.DeleteMarkers ?? []).length === 2 ? l : undefined;
    });
    assert.deepEqual((v.DeleteMarkers ?? []).map((m) => m.Key).sort(), ['tmp/a', 'tmp/b']);
    assert.equal((v.Versions ?? []).length, 3, 'the expired versions stay as noncurrent versions');
    const w = ((await node.admin('ListWorkers')) as { name: string; progress: string; errors: number }[]).find((x) => x.name === 'lifecycle')!;
    assert.equal(w.errors, 0);
    assert.match(w.progress, /entries scanned/);
  } finally {
    c.destroy();
    await node.stop();
  }
});
