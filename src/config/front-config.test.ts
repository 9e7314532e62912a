// The [front] config section: absent means no front; present gets the :80/:443 defaults; bad
// values are refused with the key named.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig, LETS_ENCRYPT_DIRECTORY } from './config.ts';
import { devConfigText } from './dev.ts';

const BASE = `metadata_dir = "m"\ndata_dir = "d"\nrpc_secret = "${'ab'.repeat(32)}"\n`;

test('no [front] section: the front is off (and the dev config keeps it off)', () => {
  assert.equal(parseConfig(BASE, '/tmp').front, undefined);
  assert.equal(parseConfig(devConfigText(), '/tmp').front, undefined);
});

test('[front] defaults: :80, :443, Let’s Encrypt production, 30 days, hourly checks', () => {
  const f = parseConfig(BASE + '[front]\n', '/tmp').front!;
  assert.equal(f.http_bind_addr, '[::]:80');
  assert.equal(f.https_bind_addr, '[::]:443');
  assert.equal(f.acme_directory, LETS_ENCRYPT_DIRECTORY);
  assert.equal(f.renew_before_days, 30);
  assert.equal(f.cert_check_interval_secs, 3600);
  assert.equal(f.auto_certificates, true);
  assert.equal(f.acme_email, undefined);
});

test('[front] values and relative CA path', () => {
  const f = parseConfig(
    BASE +
      '[front]\nhttp_bind_addr = "127.0.0.1:8080"\nhttps_bind_addr = "127.0.0.1:8443"\nacme_directory = "https://127.0.0.1:14000/dir"\n' +
      'acme_email = "ops@example.org"\nacme_ca_cert = "ca.pem"\nauto_certificates = false\n',
    '/etc/grenier',
  ).front!;
  assert.equal(f.http_bind_addr, '127.0.0.1:8080');
  assert.equal(f.acme_ca_cert, '/etc/grenier/ca.pem');
  assert.equal(f.auto_certificates, false);
});

test('[front] rejects bad values naming the key', () => {
  const bad: [string, RegExp][] = [
    ['http_bind_addr = "80"', /front\.http_bind_addr: expected host:port/],
    ['https_bind_addr = "[::]:80"', /front\.https_bind_addr: must differ/],
    ['acme_directory = "not a url"', /front\.acme_directory/],
    ['acme_directory = "ftp://x/dir"', /front\.acme_directory/],
    ['acme_email = "nobody"', /front\.acme_email/],
    ['renew_before_days = 0', /front\.renew_before_days/],
    ['renew_before_days = 90', /front\.renew_before_days/],
    ['health_check_interval_secs = 0', /front\.health_check_interval_secs/],
    ['acme_token = "x"', /front\.acme_token: unknown key/],
    ['auto_certificates = "yes"', /front\.auto_certificates: expected true or false/],
  ];
  for (const [line, re] of bad) assert.throws(() => parseConfig(`${BASE}[front]\n${line}\n`, '/tmp'), re, line);
});
