// The files under deploy/ are checked, not just shipped: the systemd units by systemd-analyze
// verify, the Nomad job by reading its fields, the Grafana dashboard's queries against the metric
// names a running node exports.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT, describeRun, run, startNode, which } from './lib/node.ts';
import { block, blocks, parseHcl, type HclBody } from './lib/hcl.ts';
import { loadConfig, parseConfig } from '../src/config/config.ts';

const DEPLOY = join(REPO_ROOT, 'deploy');
const read = (p: string) => readFileSync(join(DEPLOY, p), 'utf8');

test('systemd units pass systemd-analyze verify and keep their hardening', async (t) => {
  const unit = read('systemd/grenier.service');
  for (const line of [
    'User=grenier',
    'StateDirectory=grenier',
    'ProtectSystem=strict',
    'NoNewPrivileges=yes',
    'PrivateTmp=yes',
    'CapabilityBoundingSet=',
    'LimitNOFILE=65536',
    'Restart=on-failure',
  ])
    assert.ok(unit.split('\n').includes(line), `grenier.service has ${line}`);
  assert.match(unit, /^ExecStartPost=.*\/health\/live/m, 'start waits for /health/live');
  assert.doesNotMatch(unit, /^MemoryDenyWriteExecute=yes/m, 'V8 needs W+X pages');
  // systemd keeps a ConfigurationDirectory owned by root and applies its mode: User=grenier gets
  // only the "others" bits, and must be able to enter it to read grenier.toml.
  const configMode = /^ConfigurationDirectoryMode=(\d+)$/m.exec(unit)?.[1];
  if (/^ConfigurationDirectory=/m.test(unit)) assert.equal(parseInt(configMode ?? '0755', 8) & 0o005, 0o005, `ConfigurationDirectoryMode=${configMode} locks the grenier user out of /etc/grenier`);
  assert.match(read('systemd/front.conf'), /^CapabilityBoundingSet=CAP_NET_BIND_SERVICE$/m);

  const analyze = which('systemd-analyze');
  if (!analyze) {
    t.skip('systemd-analyze is not installed (Debian: apt-get install systemd)');
    return;
  }
  const tmp = mkdtempSync(join(tmpdir(), 'grenier-units-'));
  t.after(() => rmSync(tmp, { recursive: true, force: true }));
  // verify insists ExecStart's binary exists: point it at a stand-in in the temp dir.
  const bin = join(tmp, 'grenier');
  writeFileSync(bin, '#!/bin/sh\n');
  chmodSync(bin, 0o755);
  const units: Record<string, string> = {
    'grenier.service': unit,
    'grenier-health.service': read('systemd/grenier-health.service'),
    'grenier-health.timer': read('systemd/grenier-health.timer'),
    // The unit with the front's drop-in applied (a drop-in's [Service] lines appended).
    'grenier-front.service': unit + '\n' + read('systemd/front.conf'),
  };
  for (const [name, text] of Object.entries(units)) writeFileSync(join(tmp, name), text.replaceAll('/usr/local/bin/grenier', bin));
  const r = await run(analyze, ['verify', ...Object.keys(units).map((n) => join(tmp, n))], { timeoutMs: 60_000 });
  // verify prints warnings for problems it does not fail on: treat any output about our units as a failure.
  const noise = (r.stdout + r.stderr).split('\n').filter((l) => l.trim() && /grenier/.test(l));
  assert.equal(r.code, 0, describeRun('systemd-analyze verify', r));
  assert.deepEqual(noise, [], describeRun('systemd-analyze verify', r));
});

/** The Nomad job's task-group, with helpers over the parsed HCL. */
function nomadJob(): { job: HclBody; group: HclBody; task: HclBody } {
  const top = parseHcl(read('nomad/grenier.nomad.hcl'));
  const job = block(top, 'job', 'grenier').body;
  const group = block(job, 'group').body;
  const task = block(group, 'task', 'grenier').body;
  return { job, group, task };
}

test('the Nomad job is a system job with host volumes, health checks and secrets at 0600', () => {
  const { job, group, task } = nomadJob();
  assert.equal(job.attrs.type, 'system');
  assert.equal(block(job, 'update').body.attrs.max_parallel, 1, 'upgrades roll one node at a time');

  const volumes = blocks(group, 'volume');
  assert.deepEqual(volumes.map((v) => [v.labels[0], v.body.attrs.type]).sort(), [['data', 'host'], ['meta', 'host']]);
  const mounts = blocks(task, 'volume_mount').map((m) => [m.body.attrs.volume, m.body.attrs.destination]);
  assert.deepEqual(mounts.sort(), [['data', '/var/lib/grenier/data'], ['meta', '/var/lib/grenier/meta']]);

  const checks = blocks(group, 'service').flatMap((s) =>
    blocks(s.body, 'check').map((c) => ({ port: s.body.attrs.port, type: c.body.attrs.type, path: c.body.attrs.path, restart: blocks(c.body, 'check_restart').length })),
  );
  assert.ok(checks.some((c) => c.type === 'http' && c.path === '/health' && c.port === 'admin'), 'a readiness check on /health');
  assert.ok(checks.some((c) => c.type === 'http' && c.path === '/health/live' && c.restart === 1), 'a liveness check that restarts');
  assert.ok(!checks.some((c) => c.path === '/health' && c.restart), 'not restarted for a missing quorum');

  const ports = Object.fromEntries(blocks(block(group, 'network').body, 'port').map((p) => [p.labels[0], p.body.attrs.static]));
  assert.deepEqual(ports, { s3: 3900, rpc: 3901, web: 3902, admin: 3903 });
  for (const tpl of blocks(task, 'template')) {
    const dest = String(tpl.body.attrs.destination);
    if (dest.startsWith('secrets/')) assert.equal(tpl.body.attrs.perms, '600', `${dest} is written 0600 (Grenier refuses wider)`);
  }
  assert.ok(blocks(task, 'template').some((t) => t.body.attrs.destination === 'local/grenier.toml'));
  assert.deepEqual(block(task, 'config').body.attrs.args, ['server', '-c', 'local/grenier.toml']);
});

// PromQL words that are not metric names.
const PROMQL = new Set(
  ('sum min max avg count stddev stdvar topk bottomk quantile count_values group by without on ignoring group_left group_right ' +
    'rate irate increase delta idelta deriv histogram_quantile label_replace label_join abs ceil floor round clamp clamp_min clamp_max ' +
    'time vector scalar sort sort_desc absent absent_over_time avg_over_time max_over_time min_over_time sum_over_time count_over_time ' +
    'changes resets predict_linear and or unless bool offset le inf nan')
    .split(' '),
);

/** Metric names a PromQL expression reads (label matchers, groupings, ranges and strings removed). */
export function metricNames(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, ' ')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  return [...bare.matchAll(/[A-Za-z_:][A-Za-z0-9_:]*/g)].map((m) => m[0]).filter((w) => !PROMQL.has(w.toLowerCase()));
}

test('every query of the Grafana dashboard reads metrics a running node exports', { timeout: 60_000 }, async (t) => {
  const dash = JSON.parse(read('grafana/grenier-dashboard.json')) as { panels: { title: string; targets?: { expr: string }[] }[]; templating: { list: { query: string }[] } };
  const exprs: [string, string][] = [];
  for (const p of dash.panels) for (const q of p.targets ?? []) exprs.push([p.title, q.expr]);
  for (const v of dash.templating.list) exprs.push([`variable ${v.query}`, v.query.replace(/^label_values\((.*),\s*\w+\)$/, '$1')]);
  assert.ok(exprs.length >= 20, `the dashboard has queries (${exprs.length})`);

  // With automatic snapshots, whose gauge exists only then.
  const node = await startNode({ createKey: false, extraConfig: 'metadata_auto_snapshot_interval = "6h"' });
  t.after(() => node.stop());
  const token = /metrics_token = "([^"]+)"/.exec(readFileSync(node.configPath, 'utf8'))![1];
  const r = await fetch(`${node.adminUrl}/metrics`, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(10_000) });
  assert.equal(r.status, 200);
  const text = await r.text();
  // Names from the # TYPE lines, with the series a histogram or summary exports under it.
  const exported = new Set<string>(['up']); // `up` is Prometheus's own, per scraped target.
  for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    exported.add(m[1]!);
    if (m[2] === 'histogram') for (const s of ['_bucket', '_sum', '_count']) exported.add(m[1] + s);
    if (m[2] === 'summary') for (const s of ['_sum', '_count']) exported.add(m[1] + s);
  }
  const unknown = exprs.flatMap(([title, e]) => metricNames(e).filter((n) => !exported.has(n)).map((n) => `${title}: ${n}`));
  assert.deepEqual(unknown, [], 'dashboard queries name only exported metrics');
  const used = new Set(exprs.flatMap(([, e]) => metricNames(e)));
  for (const core of ['api_requests_total', 'cluster_peers_connected', 'block_resync_queue_length', 'table_pending_propagation', 'limit_refused_total'])
    assert.ok(used.has(core), `the dashboard shows ${core}`);
});

test('metricNames reads names out of PromQL and nothing else', () => {
  assert.deepEqual(metricNames('histogram_quantile(0.99, sum by (le, api) (rate(api_request_duration_seconds_bucket{instance=~"$instance"}[$__rate_interval])))'), [
    'api_request_duration_seconds_bucket',
  ]);
  assert.deepEqual(metricNames('max(cluster_layout_version{a="b"}) - min(nope_total)'), ['cluster_layout_version', 'nope_total']);
});

test('the example configs of a 3-zone cluster load with the project\'s own loadConfig', () => {
  const files = readdirSync(join(DEPLOY, 'examples')).filter((f) => f.endsWith('.toml'));
  assert.ok(files.length >= 3, `three node configs (${files})`);
  // The secret files named there exist only on a real node; the environment stands in for them.
  const env = { GRENIER_RPC_SECRET: 'ab'.repeat(32), GRENIER_ADMIN_TOKEN: 'admin', GRENIER_METRICS_TOKEN: 'metrics' };
  const configs = files.map((f) => ({ f, c: loadConfig(join(DEPLOY, 'examples', f), env) }));
  const addrs = configs.map(({ c }) => c.rpc_public_addr);
  for (const { f, c } of configs) {
    assert.equal(c.replication_factor, 3, `${f}: one copy per zone`);
    assert.equal(c.consistency_mode, 'consistent');
    assert.equal(c.rpc_secret_file, '/etc/grenier/rpc_secret', `${f}: the secret comes from a file`);
    assert.equal(c.admin.admin_token_file, '/etc/grenier/admin_token');
    assert.equal(c.admin.metrics_token_file, '/etc/grenier/metrics_token');
    assert.equal(c.metadata_auto_snapshot_interval, '6h', `${f}: metadata snapshots on`);
    assert.ok(!c.metadata_snapshots_dir.startsWith(c.metadata_dir + '/'), `${f}: snapshots survive the metadata disk`);
    // Each node bootstraps from the two others.
    assert.deepEqual([...c.bootstrap_peers].sort(), addrs.filter((a) => a !== c.rpc_public_addr).sort(), `${f}: peers are the other nodes`);
  }
  assert.equal(new Set(addrs).size, files.length, 'distinct public addresses');
  assert.equal(configs.filter(({ c }) => c.front).length, 1, 'one node runs the HTTPS front');
});

test('the config template of the Nomad job is a valid Grenier config once rendered', (t) => {
  const { task } = nomadJob();
  const tpl = String(blocks(task, 'template').find((x) => x.body.attrs.destination === 'local/grenier.toml')!.body.attrs.data);
  const secrets = mkdtempSync(join(tmpdir(), 'grenier-nomad-'));
  t.after(() => rmSync(secrets, { recursive: true, force: true }));
  // What the secret templates render, at the perms the job gives them.
  for (const [name, value] of [['rpc_secret', 'cd'.repeat(32)], ['admin_token', 'a-token'], ['metrics_token', 'm-token']]) {
    writeFileSync(join(secrets, name!), value!);
    chmodSync(join(secrets, name!), 0o600);
  }
  const vars: Record<string, string> = { NOMAD_IP_rpc: '192.0.2.10', NOMAD_SECRETS_DIR: secrets };
  const rendered = tpl.replace(/\{\{\s*env "([A-Za-z_]+)"\s*\}\}/g, (_, v: string) => {
    assert.ok(v in vars, `the template reads ${v}`);
    return vars[v]!;
  });
  assert.doesNotMatch(rendered, /\{\{/, 'only env lookups in the config template');
  const c = parseConfig(rendered, '/', {});
  assert.equal(c.rpc_secret, 'cd'.repeat(32));
  assert.equal(c.admin.admin_token, 'a-token');
  assert.equal(c.admin.metrics_token, 'm-token');
  assert.equal(c.rpc_public_addr, '192.0.2.10:3901');
  assert.equal(c.metadata_dir, '/var/lib/grenier/meta');
  assert.ok(c.metadata_auto_snapshot_interval && !c.metadata_snapshots_dir.startsWith(c.metadata_dir + '/'), 'snapshots on, on the data volume');
});
