// Property-based fuzzing of the S3 XML parser and builder: any input parses or fails with
// MalformedXML, in bounded time; a document built by toXml parses back to the same tree.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { S3Error } from './errors.ts';
import { parseXml, toXml, type XmlElement, type XmlNode } from './xml.ts';

const RUNS = Number(process.env.GRENIER_FUZZ_RUNS ?? 300);

function parseOrMalformed(src: string): XmlElement | undefined {
  try {
    return parseXml(src);
  } catch (e) {
    if (!(e instanceof S3Error)) throw new Error(`non-S3 error escaped: ${(e as Error)?.stack ?? String(e)}`);
    assert.equal(e.code, 'MalformedXML');
    assert.ok(e.message.length < 512, `message of ${e.message.length} chars`);
    return undefined;
  }
}

const name = fc.stringMatching(/^[A-Za-z_][\w.-]{0,12}$/);
// Text as clients send it: any Unicode scalar values (toXml escapes the five markup characters).
const text = fc.string({ unit: 'grapheme', maxLength: 30 });
const tree: fc.Arbitrary<XmlNode> = fc.letrec<{ node: XmlNode }>((tie) => ({
  node: fc.dictionary(name, fc.oneof({ depthSize: 'small', withCrossShrink: true }, text, tie('node'), fc.array(text, { maxLength: 3 })), { maxKeys: 4 }),
})).node;

function same(el: XmlElement, node: XmlNode): void {
  const expected: [string, string | XmlNode][] = [];
  for (const [k, v] of Object.entries(node)) {
    for (const one of Array.isArray(v) ? v : [v]) expected.push([k, one as string | XmlNode]);
  }
  assert.deepEqual(el.children.map((c) => c.name), expected.map(([k]) => k));
  el.children.forEach((c, i) => {
    const v = expected[i]![1];
    if (typeof v === 'string') assert.equal(c.text, v);
    else same(c, v);
  });
}

test('fuzz: toXml output parses back to the same tree', () => {
  fc.assert(
    fc.property(name, tree, fc.boolean(), (root, body, ns) => {
      const el = parseOrMalformed(toXml(root, body, ns));
      assert.ok(el, 'toXml produced a document parseXml refuses');
      assert.equal(el.name, root);
      same(el, body);
    }),
    { numRuns: RUNS },
  );
});

// Fragments that stress the tokenizer: declarations, comments, CDATA, entities, attributes, DTDs.
const fragment = fc.oneof(
  fc.constantFrom('<', '>', '</', '/>', '<?xml version="1.0"?>', '<!--', '-->', '<![CDATA[', ']]>', '<!DOCTYPE x [<!ENTITY a "b">]>', '&', '&amp;', '&#x110000;', '&#xD800;', '&#0;', '&#99999999999999999999;', '&bogus;', '"', "'", '=', ' ', '\u0000', 'a:'),
  name.map((n) => `<${n}>`),
  name.map((n) => `</${n}>`),
  fc.tuple(name, name, fc.string({ maxLength: 10 })).map(([n, a, v]) => `<${n} ${a}="${v.replace(/"/g, '')}">`),
  fc.string({ maxLength: 20 }),
);
const doc = fc.oneof(fc.array(fragment, { maxLength: 40 }).map((f) => f.join('')), fc.string({ maxLength: 200 }), fc.string({ unit: 'binary', maxLength: 200 }));

test('fuzz: any input parses or fails with MalformedXML', () => {
  fc.assert(
    fc.property(doc, (s) => {
      parseOrMalformed(s);
    }),
    { numRuns: RUNS },
  );
});

test('fuzz: adversarial shapes of up to 1 MiB (the XML body limit) parse in bounded time', () => {
  const MiB = 1024 * 1024;
  const shapes: [string, string][] = [
    ['deep nesting', '<a>'.repeat(MiB / 3)],
    ['many siblings', `<r>${'<a/>'.repeat(MiB / 4 - 2)}</r>`],
    ['long open tag, spaces', `<a${' '.repeat(MiB)}`],
    ['attributes without end', `<a${' x="1"'.repeat(MiB / 6)}`],
    ['unterminated comment', `<r><!--${'-'.repeat(MiB)}`],
    ['many entities', `<r>${'&amp;'.repeat(MiB / 5)}</r>`],
    ['many char refs', `<r>${'&#x41;'.repeat(MiB / 6)}</r>`],
    ['many unclosed siblings', `<r>${'<a>x</a><b>'.repeat(MiB / 11)}`],
    ['many bad start tags', `<r>${'<a x=>'.repeat(MiB / 6)}</r>`],
  ];
  for (const [what, src] of shapes) {
    const t0 = performance.now();
    parseOrMalformed(src);
    const ms = performance.now() - t0;
    assert.ok(ms < 3000, `${what}: ${ms.toFixed(0)} ms`);
  }
});
