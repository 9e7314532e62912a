import { test } from 'node:test';
import assert from 'node:assert/strict';
import { toXml, parseXml, child, children, childText } from './xml.ts';

test('builder escapes and repeats arrays', () => {
  const x = toXml('ListBucketResult', { Name: 'b&<>', Contents: [{ Key: 'a"\'' }, { Key: 'b' }], Skip: undefined, N: 3, T: false });
  assert.equal(
    x,
    '<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>b&amp;&lt;&gt;</Name><Contents><Key>a&quot;&apos;</Key></Contents><Contents><Key>b</Key></Contents><N>3</N><T>false</T></ListBucketResult>',
  );
});

test('parser reads the CompleteMultipartUpload example of the S3 docs', () => {
  const doc = parseXml(`<?xml version="1.0" encoding="UTF-8"?>
<CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Part><PartNumber>1</PartNumber><ETag>"a54357aff0632cce46d942af68356b38"</ETag></Part>
  <Part><PartNumber>2</PartNumber><ETag>&quot;0c78aef83f66abc1fa1e8477f296d394&quot;</ETag></Part>
</CompleteMultipartUpload>`);
  assert.equal(doc.name, 'CompleteMultipartUpload');
  const parts = children(doc, 'Part');
  assert.equal(parts.length, 2);
  assert.equal(childText(parts[1]!, 'ETag'), '"0c78aef83f66abc1fa1e8477f296d394"');
  assert.equal(child(parts[0]!, 'PartNumber')!.text, '1');
});

test('parser handles CDATA, comments, self-closing tags, prefixes, char refs', () => {
  const d = parseXml('<a:R xmlns:a="x"><!-- c --><K><![CDATA[<x&y>]]></K><E/><U>&#x263A;&#65;</U></a:R>');
  assert.equal(d.name, 'R');
  assert.equal(childText(d, 'K'), '<x&y>');
  assert.equal(childText(d, 'E'), '');
  assert.equal(childText(d, 'U'), '☺A');
});

test('malformed documents are MalformedXML, never a crash', () => {
  for (const bad of ['', '<a>', '<a></b>', '<a>x</a><b/>', '<!DOCTYPE x><a/>', 'text', '<a>&#xFFFFFFF;</a>', '<' + 'a>'.repeat(40)]) {
    assert.throws(() => parseXml(bad), (e: any) => e.code === 'MalformedXML', bad);
  }
});

test('control characters in text become numeric references; the parser reads them back', () => {
  const xml = toXml('Error', { Key: 'a\x01b\x1fc\td' }, false);
  assert.match(xml, /<Key>a&#x1;b&#x1F;c\td<\/Key>/);
  assert.ok(!/[\x00-\x08\x0b\x0c\x0e-\x1f]/.test(xml), 'no raw control character in the document');
  assert.equal(childText(parseXml(xml), 'Key'), 'a\x01b\x1fc\td');
});
