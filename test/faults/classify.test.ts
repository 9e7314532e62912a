// How the workload classes a failed request: certainly not applied (fail) only when no server
// answered (connection refused) or the answer was a 4xx; a 5xx answer is indeterminate (info) even
// when its message names a peer's ECONNREFUSED — the node that answered may have written to some
// replicas before it missed its quorum (seed 27182's 30-minute run read four such writes back).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classify } from './lib/workload.ts';

test('classify: refused connection and 4xx are fail; a 503 naming a peer ECONNREFUSED is info', () => {
  const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { name: 'Error', code: 'ECONNREFUSED' });
  assert.equal(classify(refused).status, 'fail');
  const wrapped = Object.assign(new Error('fetch failed'), { name: 'TypeError', cause: { code: 'ECONNREFUSED' } });
  assert.equal(classify(wrapped).status, 'fail');
  const notFound = Object.assign(new Error('no such bucket'), { name: 'NoSuchBucket', $metadata: { httpStatusCode: 404 } });
  assert.equal(classify(notFound).status, 'fail');
  const quorum = Object.assign(new Error('write quorum not reached: 2fc3c506: connect ECONNREFUSED 10.213.125.12:18909'), {
    name: 'ServiceUnavailable',
    $metadata: { httpStatusCode: 503 },
  });
  assert.deepEqual(classify(quorum), { status: 'info', error: 'ServiceUnavailable 503' });
  const timeout = Object.assign(new Error('aborted'), { name: 'AbortError', code: 23 as unknown as string });
  assert.equal(classify(timeout).status, 'info');
});
