// Property-based fuzzing of the HTTP helpers every GET goes through: Range, conditional headers and
// Accept-Encoding. Arbitrary header text never throws, and a range is always inside the object.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { acceptsEncoding, evaluateConditions, parseRange } from './http.ts';

const RUNS = Number(process.env.GRENIER_FUZZ_RUNS ?? 300);
const size = fc.oneof(fc.nat({ max: 10_000 }), fc.constantFrom(0, 1, 5 * 1024 ** 3, Number.MAX_SAFE_INTEGER));
const digits = fc.oneof(fc.nat({ max: 20_000 }).map(String), fc.stringMatching(/^[0-9]{0,400}$/));
const rangeHeader = fc.oneof(
  fc.tuple(fc.constantFrom('bytes=', 'bytes =', 'Bytes=', 'items=', ' bytes='), digits, fc.constantFrom('-', '--', ',', ''), digits, fc.constantFrom('', ',0-1', ' ', '\t'))
    .map((p) => p.join('')),
  fc.string({ maxLength: 60 }),
  fc.string({ unit: 'binary', maxLength: 60 }),
);

test('fuzz: parseRange never throws and any range it yields is inside the object', () => {
  fc.assert(
    fc.property(rangeHeader, size, (h, n) => {
      const r = parseRange(h, n);
      if (r === undefined || r === 'unsatisfiable') return;
      assert.ok(Number.isSafeInteger(r.start) && Number.isSafeInteger(r.end), JSON.stringify(r));
      assert.ok(0 <= r.start && r.start < r.end && r.end <= n, `${h} on ${n}: ${JSON.stringify(r)}`);
    }),
    { numRuns: RUNS },
  );
});

test('fuzz: parseRange agrees with the RFC 9110 reading of well-formed single ranges', () => {
  fc.assert(
    fc.property(fc.nat({ max: 5000 }), fc.nat({ max: 6000 }), fc.nat({ max: 6000 }), fc.nat({ max: 2 }), (n, a, b, form) => {
      if (form === 0) {
        // bytes=a-b: a last position before a first one is ignored (whole object), as S3 does.
        const r = parseRange(`bytes=${a}-${b}`, n);
        if (b < a) assert.equal(r, undefined);
        else if (a >= n) assert.equal(r, 'unsatisfiable');
        else assert.deepEqual(r, { start: a, end: Math.min(n, b + 1) });
      } else if (form === 1) {
        const r = parseRange(`bytes=${a}-`, n);
        assert.deepEqual(r, a >= n ? 'unsatisfiable' : { start: a, end: n });
      } else {
        const r = parseRange(`bytes=-${b}`, n);
        if (b === 0 || n === 0) assert.equal(r, 'unsatisfiable');
        else assert.deepEqual(r, { start: Math.max(0, n - b), end: n });
      }
    }),
    { numRuns: RUNS },
  );
});

const etag = fc.stringMatching(/^[0-9a-f]{32}(-[0-9]{1,5})?$/);
const headerText = fc.oneof(fc.string({ maxLength: 80 }), fc.string({ unit: 'binary', maxLength: 80 }), fc.nat({ max: 20_000 }).map((k) => '",'.repeat(k)));
const dateText = fc.oneof(headerText, fc.date({ noInvalidDate: true }).map((d) => d.toUTCString()));

test('fuzz: conditional headers never throw and follow the RFC 9110 §13.2.2 order', () => {
  fc.assert(
    fc.property(
      etag,
      fc.integer({ min: 0, max: 8.64e15 }),
      fc.record({
        'if-match': fc.option(fc.oneof(headerText, etag.map((e) => `"${e}"`), fc.constant('*')), { nil: undefined }),
        'if-none-match': fc.option(fc.oneof(headerText, etag.map((e) => `"${e}"`), fc.constant('*')), { nil: undefined }),
        'if-modified-since': fc.option(dateText, { nil: undefined }),
        'if-unmodified-since': fc.option(dateText, { nil: undefined }),
      }),
      (tag, lm, h) => {
        const headers = Object.fromEntries(Object.entries(h).filter(([, v]) => v !== undefined));
        const r = evaluateConditions(headers, tag, lm);
        assert.ok(['ok', 'not-modified', 'precondition-failed'].includes(r.status));
        const withTag = { ...headers, 'if-match': `"${tag}"` };
        assert.notEqual(evaluateConditions(withTag, tag, lm).status, 'precondition-failed', 'If-Match of the current etag failed');
        assert.equal(evaluateConditions({ ...withTag, 'if-none-match': `"${tag}"` }, tag, lm).status, 'not-modified');
        assert.equal(evaluateConditions({ 'if-match': '*' }, tag, lm).status, 'ok');
      },
    ),
    { numRuns: RUNS },
  );
});

test('fuzz: acceptsEncoding never throws; q=0 refuses, an explicit entry beats *', () => {
  const coding = fc.constantFrom('gzip', 'br', 'zstd');
  fc.assert(
    fc.property(headerText, coding, (h, c) => {
      acceptsEncoding(h, c);
      assert.equal(acceptsEncoding(`${c};q=0, *`, c), false);
      assert.equal(acceptsEncoding(`*;q=0, ${c}`, c), true);
    }),
    { numRuns: RUNS },
  );
});
