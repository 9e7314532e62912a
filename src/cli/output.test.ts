// Formatting and node-discovery helpers of the CLI.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bytes, parseBytes, table } from './output.ts';
import { adminUrl, discover } from './client.ts';

test('parseBytes understands SI and binary units', () => {
  assert.equal(parseBytes('1000'), 1000);
  assert.equal(parseBytes('10GB'), 10e9);
  assert.equal(parseBytes('512MiB'), 512 * 1024 * 1024);
  assert.equal(parseBytes('1.5 k'), 1500);
  assert.equal(parseBytes('ten'), undefined);
  assert.equal(parseBytes('-1'), undefined);
});

test('bytes and table', () => {
  assert.equal(bytes(5), '5 B');
  assert.equal(bytes(1536), '1.50 KiB');
  assert.equal(bytes(200 * 1024 * 1024), '200.0 MiB');
  assert.equal(table(['a', 'long'], [['xyz', '1'], ['q', '22']]), 'A    LONG\nxyz  1\nq    22\n');
});

test('adminUrl maps wildcard binds to loopback', () => {
  assert.equal(adminUrl('[::]:3903'), 'http://127.0.0.1:3903');
  assert.equal(adminUrl('0.0.0.0:3903'), 'http://127.0.0.1:3903');
  assert.equal(adminUrl('10.0.0.5:4000'), 'http://10.0.0.5:4000');
  assert.equal(adminUrl('[fd00::1]:3903'), 'http://[fd00::1]:3903');
});

test('discover prefers GRENIER_ADMIN_URL over the dev default and trims the slash', () => {
  const t = discover({}, { GRENIER_ADMIN_URL: 'http://h:1/', GRENIER_ADMIN_TOKEN: 'tok' }, '/nonexistent');
  assert.deepEqual(t, { url: 'http://h:1', token: 'tok', source: 'GRENIER_ADMIN_TOKEN' });
  assert.throws(() => discover({}, {}, '/nonexistent'), /no node to talk to/);
});
