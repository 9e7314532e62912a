// The reference docs against the program: docs/config.md lists every config key of the schema with
// its default, and docs/metrics.md every metric a running node exports (and nothing else).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CONFIG_SPEC } from '../src/config/config.ts';
import { REPO_ROOT, startNode, type TestNode } from './lib/node.ts';

const doc = (name: string) => readFileSync(join(REPO_ROOT, 'docs', name), 'utf8');

/** First two cells of each table row whose first cell is a `code` name. */
function rows(md: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of md.split('\n')) {
    const r = /^\| `([^`]+)` \| ([^|]*) \|/.exec(line);
    if (r) {
      assert.ok(!m.has(r[1]!), `${r[1]} listed twice`);
      m.set(r[1]!, r[2]!.trim());
    }
  }
  return m;
}

test('docs/config.md: every key of the config schema, each with its default', () => {
  const table = rows(doc('config.md'));
  const expected = new Map<string, string>();
  for (const [sec, spec] of Object.entries(CONFIG_SPEC))
    for (const [k, s] of Object.entries(spec)) expected.set(sec ? `${sec}.${k}` : k, s.required ? 'required' : s.default === undefined ? 'unset' : `\`${JSON.stringify(s.default)}\``);
  assert.deepEqual([...table.keys()].filter((k) => !expected.has(k)), [], 'documented keys the program does not accept');
  assert.deepEqual([...expected.keys()].filter((k) => !table.has(k)), [], 'config keys missing from docs/config.md');
  for (const [k, d] of expected) assert.equal(table.get(k), d, `default of ${k}`);
});

let n: TestNode | undefined;
after(async () => {
  await n?.stop();
});

test('docs/metrics.md: exactly the metrics a running node exports', async () => {
  n = await startNode({ extraConfig: 'metadata_auto_snapshot_interval = "1d"', createKey: false });
  const token = /metrics_token = "([^"]+)"/.exec(readFileSync(n.configPath, 'utf8'))![1]!;
  const r = await fetch(`${n.adminUrl}/metrics`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(r.status, 200);
  const types = new Map<string, string>();
  for (const l of (await r.text()).split('\n')) {
    const m = /^# TYPE (\S+) (\S+)$/.exec(l);
    if (m) types.set(m[1]!, m[2]!);
  }
  const md = doc('metrics.md');
  const table = rows(md);
  const ours = [...types.keys()].filter((x) => !x.startsWith('process_') && !x.startsWith('nodejs_'));
  assert.ok(ours.length >= 10, `${ours.length} metrics`);
  assert.deepEqual(ours.filter((x) => !table.has(x)), [], 'exported but not in docs/metrics.md');
  assert.deepEqual([...table.keys()].filter((x) => !types.has(x)), [], 'documented but not exported');
  for (const [name, type] of table) assert.equal(type, types.get(name), `type of ${name}`);
  assert.ok([...types.keys()].some((x) => x.startsWith('process_')) && md.includes('`process_*`'));
  assert.ok([...types.keys()].some((x) => x.startsWith('nodejs_')) && md.includes('`nodejs_*`'));
});
