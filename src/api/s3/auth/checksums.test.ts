import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Crc32c, Crc64Nvme } from '@aws-sdk/checksums/crc';
import { checksumBase64, createHasher, isValidChecksumValue, type ChecksumAlgorithm } from './checksums.ts';

const hex = (alg: ChecksumAlgorithm, s: string | Buffer) => Buffer.from(checksumBase64(alg, s), 'base64').toString('hex');

test('check values of the catalogue ("123456789")', () => {
  assert.equal(hex('crc32', '123456789'), 'cbf43926');
  assert.equal(hex('crc32c', '123456789'), 'e3069283');
  assert.equal(hex('crc64nvme', '123456789'), 'ae8b14860a799888');
  assert.equal(hex('sha1', 'abc'), 'a9993e364706816aba3e25717850c26c9cd0d89d');
  assert.equal(hex('sha256', ''), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
});

test('empty input and S3 base64 form', () => {
  assert.equal(checksumBase64('crc32', ''), 'AAAAAA==');
  assert.equal(checksumBase64('crc32c', ''), 'AAAAAA==');
  assert.equal(checksumBase64('crc64nvme', ''), 'AAAAAAAAAAA=');
  // a 4-byte CRC is always 8 base64 characters with padding
  assert.equal(checksumBase64('crc32c', 'a').length, 8);
});

test('incremental updates at every split equal the one-shot digest', () => {
  const data = randomBytes(67);
  for (const alg of ['crc32', 'crc32c', 'crc64nvme', 'sha1', 'sha256'] as const) {
    const whole = checksumBase64(alg, data);
    for (let i = 0; i <= data.length; i++) {
      const h = createHasher(alg);
      h.update(data.subarray(0, i));
      h.update(data.subarray(i));
      assert.equal(h.digest().toString('base64'), whole, `${alg} split at ${i}`);
    }
  }
});

test('CRC32C and CRC64NVME agree with the AWS SDK implementations on random data', async () => {
  for (const len of [0, 1, 7, 8, 9, 63, 64, 1000, 65537]) {
    const data = randomBytes(len);
    const a = new Crc32c();
    a.update(data);
    assert.equal(checksumBase64('crc32c', data), Buffer.from(await a.digest()).toString('base64'), `crc32c len ${len}`);
    const b = new Crc64Nvme();
    b.update(data);
    assert.equal(checksumBase64('crc64nvme', data), Buffer.from(await b.digest()).toString('base64'), `crc64 len ${len}`);
  }
});

test('isValidChecksumValue checks base64 and digest length', () => {
  assert.equal(isValidChecksumValue('crc32', 'yZRlqg=='), true);
  assert.equal(isValidChecksumValue('crc32', 'yZRlqg'), false);
  assert.equal(isValidChecksumValue('crc32', 'AAAAAAAAAAA='), false);
  assert.equal(isValidChecksumValue('crc64nvme', 'AAAAAAAAAAA='), true);
  assert.equal(isValidChecksumValue('sha256', checksumBase64('sha256', 'x')), true);
  assert.equal(isValidChecksumValue('sha1', checksumBase64('sha256', 'x')), false);
  assert.equal(isValidChecksumValue('crc32', 'yZR!qg=='), false);
});
