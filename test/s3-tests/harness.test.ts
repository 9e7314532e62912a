// Unit tests of the s3-tests gate's pieces: JUnit parsing (pytest's shapes, escapes, duplicate
// reports) and the comparison with the expected-pass list (regressions, new passes, list hygiene).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nodeId, parseJunit } from './junit.ts';
import { compare, formatExpected, parseExpected, readExpected, summaryLine } from './expected.ts';

const XML = `<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest" errors="1" failures="1" skipped="1" tests="5">
<testcase classname="s3tests.functional.test_s3" name="test_ok" time="0.120" />
<testcase classname="s3tests.functional.test_s3" name="test_fail" time="1.5"><failure message="assert 403 == 200&#10;second line">Traceback &lt;here&gt; &amp; "quoted"</failure></testcase>
<testcase classname="s3tests.functional.test_s3" name="test_skip" time="0.001"><skipped type="pytest.skip" message="no api_name configured">/x.py:3: no api_name</skipped></testcase>
<testcase classname="s3tests.functional.test_s3" name="test_teardown" time="0.2" />
<testcase classname="s3tests.functional.test_s3" name="test_teardown" time="0.3"><error message="failed on teardown with &quot;botocore.exceptions.ClientError: BucketNotEmpty&quot;">tb</error></testcase>
<testcase classname="s3tests.functional.test_s3.TestGroup" name="test_param[a-1]" time="0"><failure message="x"/><error message="failed on teardown with y"/></testcase>
</testsuite></testsuites>`;

test('parseJunit: one outcome per pytest node id, worst report wins, messages unescaped', () => {
  const r = parseJunit(XML);
  const by = Object.fromEntries(r.map((x) => [x.id.split('::').slice(1).join('::'), x]));
  assert.deepEqual(r.map((x) => x.outcome), ['passed', 'failed', 'skipped', 'error', 'failed']);
  assert.equal(r[0]!.id, 's3tests/functional/test_s3.py::test_ok');
  assert.equal(by.test_fail!.message, 'assert 403 == 200\nsecond line');
  assert.equal(by.test_fail!.detail, 'Traceback <here> & "quoted"');
  assert.equal(by.test_skip!.message, 'no api_name configured');
  assert.match(by.test_teardown!.message, /^failed on teardown with "botocore/);
  assert.equal(by.test_teardown!.time, 0.5);
  assert.equal(by['TestGroup::test_param[a-1]']!.message, 'x');
  // A failed test whose teardown also failed still names the cleanup error (the cascade's start).
  assert.equal(by['TestGroup::test_param[a-1]']!.cleanupError, 'failed on teardown with y');
  assert.match(by.test_teardown!.cleanupError!, /BucketNotEmpty/);
  assert.equal(by.test_fail!.cleanupError, undefined);
});

test('nodeId: module path from classname, classes kept as :: parts', () => {
  assert.equal(nodeId('s3tests.functional.test_s3', 'test_x'), 's3tests/functional/test_s3.py::test_x');
  assert.equal(nodeId('a.test_m.TestC', 'test_y[1]'), 'a/test_m.py::TestC::test_y[1]');
});

test('compare: an expected test that fails, errors, skips or did not run is a regression; new passes are listed', () => {
  const results = parseJunit(XML);
  const p = (n: string) => `s3tests/functional/test_s3.py::${n}`;
  const c = compare([p('test_fail'), p('test_gone'), p('test_ok'), p('test_skip'), p('test_teardown')], results);
  assert.deepEqual(c.regressions.map((x) => [x.id, x.outcome]), [
    [p('test_fail'), 'failed'], [p('test_gone'), 'not run'], [p('test_skip'), 'skipped'], [p('test_teardown'), 'error'],
  ]);
  assert.deepEqual(compare([p('test_ok')], results), { regressions: [], newlyPassing: [] });
  assert.deepEqual(compare([], results).newlyPassing, [p('test_ok')]);
});

test('expected list: sorted, no duplicates, comments ignored; formatExpected round-trips', () => {
  assert.deepEqual(parseExpected('# c\n\na\nb\n'), ['a', 'b']);
  assert.throws(() => parseExpected('b\na\n'), /line 2: "a" is out of order/);
  assert.throws(() => parseExpected('a\na\n'), /line 2: "a" is a duplicate/);
  assert.deepEqual(parseExpected(formatExpected(['z', 'a', 'z'])), ['a', 'z']);
  // The committed list itself must parse (sorted, unique).
  assert.ok(Array.isArray(readExpected()));
});

test('summaryLine: "s3-tests: N passed, N failed" first', () => {
  assert.equal(summaryLine(parseJunit(XML), 12.4), 's3-tests: 1 passed, 2 failed, 1 errors, 1 skipped (5 tests, 12 s)');
});
