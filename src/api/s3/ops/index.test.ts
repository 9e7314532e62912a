// The operation table is written by hand: each S3Op must reach the handler of its own name, and
// the router's permission view must agree with what authorize() checks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HANDLERS } from './index.ts';
import { OP_AUTHZ, opAuthz } from '../authz/actions.ts';
import { PERMISSION } from '../router.ts';

test('every S3Op has the handler of its own name, and only S3Ops have handlers', () => {
  const ops = Object.keys(OP_AUTHZ);
  assert.ok(ops.length > 50, `only ${ops.length} operations`);
  assert.deepEqual(Object.keys(HANDLERS).sort(), [...ops].sort());
  const wrong = ops.filter((op) => HANDLERS[op]!.name !== op).map((op) => `${op} → ${HANDLERS[op]!.name}`);
  assert.deepEqual(wrong, []);
});

test('PERMISSION is the flag authorize() checks; the three self-authorizing ops are none', () => {
  for (const op of Object.keys(OP_AUTHZ)) assert.equal(PERMISSION[op], opAuthz(op)?.flag ?? 'none', op);
  for (const op of ['ListBuckets', 'CreateBucket', 'PostObject']) assert.equal(opAuthz(op), undefined, op);
});
