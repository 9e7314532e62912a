// DeleteObjects with key names that are only or partly whitespace or XML specials: each entry's
// <Key> is taken verbatim (s3-tests test_bucket_create_special_key_names left ' ' undeletable).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { child, children, childText } from '../xml.ts';
import { escapeXml } from '../xml.ts';
import { DeleteObjects, PutObject } from './object.ts';
import { fakeCtx, testEnv } from './test-ctx.ts';

test('DeleteObjects: keys " ", "_ ", "<", "&", "\'", "\\"" are deleted as given (not trimmed)', async () => {
  const env = await testEnv();
  try {
    const b = await env.bucket('special');
    const keys = [' ', '  ', '"', '$', '%', '&', "'", '<', '>', '_', '_ ', '_ _', '__', ' lead', 'trail '];
    for (const key of keys) {
      const { ctx, res } = fakeCtx(env, { method: 'PUT', bucket: b, bucketName: 'special', key, headers: { 'content-length': '1' }, body: 'x' });
      await PutObject(ctx);
      assert.equal(res.status, 200, `PUT ${JSON.stringify(key)}`);
    }
    const body = `<Delete>${keys.map((k) => `<Object><Key>${escapeXml(k)}</Key></Object>`).join('')}</Delete>`;
    const { ctx, res } = fakeCtx(env, { method: 'POST', bucket: b, bucketName: 'special', query: { delete: '' }, body });
    await DeleteObjects(ctx);
    assert.equal(res.status, 200);
    const doc = res.xml();
    assert.deepEqual(children(doc, 'Error').map((e) => `${JSON.stringify(child(e, 'Key')?.text)}: ${childText(e, 'Code')}`), []);
    assert.deepEqual(children(doc, 'Deleted').map((d) => child(d, 'Key')!.text).sort(), [...keys].sort());
    for (const key of keys) {
      const entry = await env.store.objects.get(b.id, key);
      assert.ok(!entry || entry.versions.every((v) => v.deleteMarker || v.state !== 'complete'), `${JSON.stringify(key)} still there`);
    }
    // An empty <Key/> is still an error of that entry, not of the request.
    const e = fakeCtx(env, { method: 'POST', bucket: b, bucketName: 'special', query: { delete: '' }, body: '<Delete><Object><Key></Key></Object></Delete>' });
    await DeleteObjects(e.ctx);
    assert.equal(childText(child(e.res.xml(), 'Error')!, 'Code'), 'InvalidArgument');
  } finally {
    await env.close();
  }
});
