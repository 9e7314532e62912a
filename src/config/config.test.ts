import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, parseConfig, parseDurationSecs } from './config.ts';
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

test('secrets from files (mode 0600) or the environment, as Garage', () => {
  const dir = mkdtempSync(join(tmpdir(), 'grenier-secrets-'));
  try {
    const secret = 'cd'.repeat(32);
    const file = (name: string, text: string, mode = 0o600) => {
      const p = join(dir, name);
      writeFileSync(p, text);
      chmodSync(p, mode);
      return p;
    };
    const noSecret = 'metadata_dir = "/m"\ndata_dir = "/d"\n';
    file('rpc', secret + '\n');
    file('admin', 'admin-token\n');
    file('metrics', 'metrics-token');
    // Relative paths are read from the config's directory; the trailing newline is not part of the secret.
    const c = parseConfig(noSecret + 'rpc_secret_file = "rpc"\n[admin]\nadmin_token_file = "admin"\nmetrics_token_file = "metrics"\n', dir, {});
    assert.equal(c.rpc_secret, secret);
    assert.equal(c.admin.admin_token, 'admin-token');
    assert.equal(c.admin.metrics_token, 'metrics-token');

    // The environment replaces the config (Garage's GARAGE_RPC_SECRET…); *_FILE names a file.
    const env = { GRENIER_RPC_SECRET: 'ef'.repeat(32), GRENIER_ADMIN_TOKEN: 'from-env', GRENIER_METRICS_TOKEN_FILE: join(dir, 'admin') };
    const e = parseConfig(noSecret + '[admin]\nadmin_token = "inline"\n', dir, env);
    assert.equal(e.rpc_secret, 'ef'.repeat(32));
    assert.equal(e.admin.admin_token, 'from-env');
    assert.equal(e.admin.metrics_token, 'admin-token');

    // A file readable by group or others is refused, naming the key, the file and its mode.
    const wide = file('wide', secret, 0o644);
    assert.throws(() => parseConfig(noSecret + `rpc_secret_file = "${wide}"\n`, dir, {}), (err: Error) => {
      assert.match(err.message, /rpc_secret_file/);
      assert.match(err.message, new RegExp(wide.replaceAll('/', '\\/')));
      assert.match(err.message, /0644/);
      assert.match(err.message, /chmod 600/);
      return true;
    });
    file('group', 'tok', 0o640);
    assert.throws(() => parseConfig(base + '[admin]\nadmin_token_file = "group"\n', dir, {}), /admin\.admin_token_file: .*0640/);
    assert.throws(() => parseConfig(noSecret, dir, { GRENIER_RPC_SECRET_FILE: wide }), /GRENIER_RPC_SECRET_FILE: .*0644/);

    // Inline and file together is ambiguous: an error, not a silent choice.
    assert.throws(() => parseConfig(base + 'rpc_secret_file = "rpc"\n', dir, {}), /rpc_secret_file: .*rpc_secret.*not both/);
    assert.throws(() => parseConfig(base + '[admin]\nmetrics_token = "x"\nmetrics_token_file = "metrics"\n', dir, {}), /admin\.metrics_token_file: .*not both/);
    assert.throws(() => parseConfig(noSecret, dir, { GRENIER_ADMIN_TOKEN: 'a', GRENIER_ADMIN_TOKEN_FILE: join(dir, 'admin') }), /GRENIER_ADMIN_TOKEN_FILE: .*not both/);

    // Missing, empty, oversized or unreadable files and a missing secret say what to do.
    assert.throws(() => parseConfig(noSecret + 'rpc_secret_file = "nope"\n', dir, {}), /rpc_secret_file: cannot read .*nope.*ENOENT/);
    file('empty', '\n');
    assert.throws(() => parseConfig(noSecret + 'rpc_secret_file = "empty"\n', dir, {}), /rpc_secret_file: .*empty/);
    file('big', 'x'.repeat(10_000));
    assert.throws(() => parseConfig(noSecret + '[admin]\nadmin_token_file = "big"\n' , dir, {}), /admin_token_file: .*bytes/);
    assert.throws(() => parseConfig(noSecret, dir, {}), /rpc_secret: missing .*rpc_secret_file.*GRENIER_RPC_SECRET/);
    // The value read from a file is validated like an inline one.
    file('short', 'abc');
    assert.throws(() => parseConfig(noSecret + 'rpc_secret_file = "short"\n', dir, {}), /rpc_secret: expected 64 hex/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('loadConfig takes secrets from the environment', () => {
  const dir = mkdtempSync(join(tmpdir(), 'grenier-secrets-'));
  try {
    const p = join(dir, 'grenier.toml');
    writeFileSync(p, 'metadata_dir = "m"\ndata_dir = "d"\n');
    assert.equal(loadConfig(p, { GRENIER_RPC_SECRET: '12'.repeat(32) }).rpc_secret, '12'.repeat(32));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('metadata snapshots: Garage\'s metadata_auto_snapshot_interval as a duration, a directory and a depth', () => {
  const c = parseConfig(base, '/srv/g', {});
  assert.equal(c.metadata_auto_snapshot_interval, undefined, 'off unless set');
  assert.equal(c.metadata_snapshots_dir, '/m/snapshots', 'Garage\'s default: under metadata_dir');
  assert.equal(c.metadata_snapshots_keep, 2, 'Garage keeps two');
  const d = parseConfig(base + 'metadata_auto_snapshot_interval = "6h"\nmetadata_snapshots_dir = "snaps"\nmetadata_snapshots_keep = 5\n', '/srv/g', {});
  assert.equal(d.metadata_auto_snapshot_interval, '6h');
  assert.equal(d.metadata_snapshots_dir, '/srv/g/snaps');
  assert.equal(d.metadata_snapshots_keep, 5);
  assert.equal(parseDurationSecs('6h'), 21600);
  assert.equal(parseDurationSecs('1d 12h'), 129600);
  assert.equal(parseDurationSecs('90s'), 90);
  assert.equal(parseDurationSecs('15min'), 900);
  assert.throws(() => parseConfig(base + 'metadata_auto_snapshot_interval = "often"\n', '/', {}), /metadata_auto_snapshot_interval: expected a duration like "6h"/);
  assert.throws(() => parseConfig(base + 'metadata_auto_snapshot_interval = "0s"\n', '/', {}), /metadata_auto_snapshot_interval: expected at least 1 s/);
  assert.throws(() => parseConfig(base + 'metadata_snapshots_keep = 0\n', '/', {}), /metadata_snapshots_keep: expected 1 to 100/);
  assert.throws(() => parseConfig(base + 'metadata_auto_snapshot_interval = "999999d"\n', '/', {}), /metadata_auto_snapshot_interval: expected at most 366d/);
});

test('limits.hash_workers: -1 (cores - 1, the default), 0 (inline) or a count; below -1 refused', () => {
  assert.equal(parseConfig(base).limits.hash_workers, -1);
  assert.equal(parseConfig(base + '[limits]\nhash_workers = -1\n').limits.hash_workers, -1);
  assert.equal(parseConfig(base + '[limits]\nhash_workers = 0\n').limits.hash_workers, 0);
  assert.equal(parseConfig(base + '[limits]\nhash_workers = 3\n').limits.hash_workers, 3);
  assert.throws(() => parseConfig(base + '[limits]\nhash_workers = -2\n'), /limits\.hash_workers: expected an integer of at least -1/);
  assert.throws(() => parseConfig(base + '[limits]\nhash_queue_max = -1\n'), /limits\.hash_queue_max: expected a non-negative integer/);
});
