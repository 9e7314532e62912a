import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from './config.ts';
import { devConfigText } from './dev.ts';

const base = `metadata_dir = "/m"\ndata_dir = "/d"\nrpc_secret = "${'ab'.repeat(32)}"\n`;

test('defaults and Garage key names', () => {
  const c = parseConfig(base + '[s3_api]\ns3_region = "eu"\n');
  assert.equal(c.replication_factor, 3);
  assert.equal(c.consistency_mode, 'consistent');
  assert.equal(c.s3_api.s3_region, 'eu');
  assert.equal(c.s3_api.api_bind_addr, '[::]:3900');
  assert.equal(c.s3_web.index, 'index.html');
});

test('unknown keys are rejected with the key named', () => {
  assert.throws(() => parseConfig(base + 'foo = 1\n'), /config: foo: unknown key/);
  assert.throws(() => parseConfig(base + '[s3_api]\nbind = "x"\n'), /s3_api\.bind: unknown key/);
});

test('bad values name the key', () => {
  assert.throws(() => parseConfig(base + 'replication_factor = "3"\n'), /replication_factor: expected an integer/);
  assert.throws(() => parseConfig(base + 'consistency_mode = "strong"\n'), /consistency_mode/);
  assert.throws(() => parseConfig(base.replace('ab'.repeat(32), 'short')), /rpc_secret/);
  assert.throws(() => parseConfig(base + '[admin]\napi_bind_addr = "nope"\n'), /admin\.api_bind_addr: expected host:port/);
  assert.throws(() => parseConfig('metadata_dir = "/m"\n'), /data_dir: missing/);
  assert.throws(() => parseConfig('x = [\n'), /invalid TOML/);
});

test('the dev config is valid and resolves relative dirs', () => {
  const c = parseConfig(devConfigText(), '/srv/g');
  assert.equal(c.metadata_dir, '/srv/g/meta');
  assert.equal(c.replication_factor, 1);
  assert.match(c.admin.admin_token!, /^[0-9a-f]{48}$/);
});
