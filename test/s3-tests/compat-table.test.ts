// The README's S3 compatibility table is checked against the router: every operation it names has
// a row (supported or partial) and a handler, every subresource it answers 501 has a "no" row, no
// row names anything else, and the s3-tests figure is the length of expected-pass.txt.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { operation, PERMISSION, UNSUPPORTED_BUCKET, UNSUPPORTED_OBJECT } from '../../src/api/s3/router.ts';
import { HANDLERS } from '../../src/api/s3/ops/index.ts';
import { readExpected } from './expected.ts';

const README = new URL('../../README.md', import.meta.url);
const SUBSET = 424;

/** The README row each 501 subresource falls under. */
const NO_ROWS: Record<string, string> = {
  encryption: 'Bucket encryption (Get/Put/DeleteBucketEncryption)',
  logging: 'Bucket logging (Get/PutBucketLogging)',
  notification: 'Bucket notifications (Get/PutBucketNotificationConfiguration)',
  replication: 'Bucket replication (Get/Put/DeleteBucketReplication)',
  accelerate: 'Transfer acceleration (Get/PutBucketAccelerateConfiguration)',
  requestPayment: 'Requester pays (Get/PutBucketRequestPayment)',
  ownershipControls: 'Ownership controls (Get/Put/DeleteBucketOwnershipControls)',
  analytics: 'Analytics configurations (Get/Put/Delete/ListBucketAnalyticsConfiguration)',
  metrics: 'Metrics configurations (Get/Put/Delete/ListBucketMetricsConfiguration)',
  inventory: 'Inventory configurations (Get/Put/Delete/ListBucketInventoryConfiguration)',
  'intelligent-tiering': 'Intelligent-Tiering configurations (Get/Put/Delete/ListBucketIntelligentTieringConfiguration)',
  torrent: 'GetObjectTorrent',
  restore: 'RestoreObject',
  select: 'SelectObjectContent',
  renameObject: 'RenameObject',
};

function section(): string {
  const md = readFileSync(README, 'utf8');
  const start = md.indexOf('### S3 compatibility table');
  assert.ok(start >= 0, 'README has a "### S3 compatibility table" section');
  const end = md.indexOf('\n#', start + 1);
  return md.slice(start, end < 0 ? undefined : end);
}

function rows(): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of section().split('\n')) {
    const m = /^\| ([^|]+?) \| ([^|]+?) \|/.exec(line);
    if (!m || m[1] === 'Operation' || m[1]!.startsWith('---')) continue;
    assert.ok(!out.has(m[1]!), `one row per operation: ${m[1]}`);
    out.set(m[1]!, m[2]!);
  }
  return out;
}

const req = (method: string) => ({ method, headers: {} }) as IncomingMessage;

test('README S3 compatibility table: every routed operation has a row, 501 subresources are "no", nothing else', () => {
  const table = rows();
  for (const [name, status] of table) assert.ok(['supported', 'partial', 'no'].includes(status), `${name}: status "${status}"`);
  const routed = Object.keys(PERMISSION).filter((op) => op !== 'NotImplemented' && op !== 'Options');
  for (const op of routed) {
    assert.ok(table.has(op), `README table lacks the routed operation ${op}`);
    assert.notEqual(table.get(op), 'no', `${op} is routed to a handler: not "no"`);
    assert.ok(HANDLERS[op], `${op} has a handler`);
  }
  const no = new Set<string>();
  for (const [sub, onKey] of [...UNSUPPORTED_BUCKET.map((s) => [s, false] as const), ...UNSUPPORTED_OBJECT.map((s) => [s, true] as const)]) {
    const row = NO_ROWS[sub];
    assert.ok(row, `a README row for the 501 subresource ?${sub} (add it to NO_ROWS and the table)`);
    assert.equal(table.get(row), 'no', `${row}: "no"`);
    assert.equal(operation(req('GET'), { bucketName: 'b', ...(onKey ? { key: 'k' } : {}) }, new URLSearchParams({ [sub]: '' })), 'NotImplemented');
    no.add(row);
  }
  for (const name of table.keys()) assert.ok(routed.includes(name) || no.has(name), `README row "${name}" names no routed operation or 501 subresource`);
});

test('README: the s3-tests figure is the number of tests in test/s3-tests/expected-pass.txt', () => {
  const m = /\*\*(\d+) of (\d+) pass\*\*/.exec(section());
  assert.ok(m, 'README states "**N of 424 pass**"');
  assert.equal(Number(m[2]), SUBSET);
  assert.equal(Number(m[1]), readExpected().length, 'README figure = expected-pass.txt length');
});
