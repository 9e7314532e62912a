// Minimal XML for S3: a builder that escapes correctly, and a small non-validating parser for the
// request bodies S3 accepts (no DTDs, no entities beyond the five predefined and numeric ones).
import { S3Error } from './errors.ts';

export type XmlValue = string | number | boolean | null | undefined | XmlNode | XmlValue[] | RawXml;

/** Elements already serialised (by a hot path such as a listing's Contents): emitted verbatim in
 *  place of the element named by its key. The producer escapes what it writes. */
export class RawXml {
  readonly xml: string;
  constructor(xml: string) {
    this.xml = xml;
  }
}
export interface XmlNode {
  [name: string]: XmlValue;
}

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };
const NEEDS_ESCAPE = /[&<>"'\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/;
const ESCAPED = /[&<>"'\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/g;
const entity = (c: string): string => ENTITIES[c] ?? `&#x${c.charCodeAt(0).toString(16).toUpperCase()};`;

/** Escapes text for an element or attribute. Control characters (legal in S3 keys) become numeric
 *  references as AWS writes them, so a key with \x01 never yields a document that is not well formed
 *  at the byte level; clients that cannot read them should list with encoding-type=url. Most
 *  strings (keys, dates, ids) need nothing: a test spares them the replace and its copy. */
export function escapeXml(s: string): string {
  return NEEDS_ESCAPE.test(s) ? s.replace(ESCAPED, entity) : s;
}

/** Appends `v` as element(s) `name` to `out`. A listing emits ~7 elements per key, so this
 *  avoids per-node allocations (Object.entries pairs, escaping of numbers and booleans). */
function emit(name: string, v: XmlValue, out: string[]): void {
  if (v === undefined || v === null) return;
  if (typeof v === 'string') {
    out.push(`<${name}>${escapeXml(v)}</${name}>`);
    return;
  }
  if (typeof v === 'number' || typeof v === 'boolean') {
    // String() of a number or boolean holds no character that needs escaping.
    out.push(`<${name}>${String(v)}</${name}>`);
    return;
  }
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) emit(name, v[i], out);
    return;
  }
  if (v instanceof RawXml) {
    out.push(v.xml);
    return;
  }
  out.push(`<${name}>`);
  for (const k of Object.keys(v)) emit(k, v[k], out);
  out.push(`</${name}>`);
}

const NS = 'http://s3.amazonaws.com/doc/2006-03-01/';

/** Serialises {Root: {...}} with the S3 namespace; arrays repeat the element; undefined is omitted. */
export function toXml(root: string, body: XmlNode, ns = true): string {
  const out: string[] = ['<?xml version="1.0" encoding="UTF-8"?>'];
  out.push(ns ? `<${root} xmlns="${NS}">` : `<${root}>`);
  for (const k of Object.keys(body)) emit(k, body[k], out);
  out.push(`</${root}>`);
  return out.join('');
}

/** A parsed element: name, text content, children in order. */
export interface XmlElement {
  name: string;
  text: string;
  children: XmlElement[];
}

function decodeEntities(s: string): string {
  return s.replace(/&(#x[0-9a-fA-F]+|#\d+|amp|lt|gt|quot|apos);/g, (_, e: string) => {
    if (e[0] === '#') {
      const cp = e[1] === 'x' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
      if (!Number.isFinite(cp) || cp > 0x10ffff) throw new S3Error('MalformedXML', 'bad character reference');
      return String.fromCodePoint(cp);
    }
    return ({ amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" } as Record<string, string>)[e]!;
  });
}

/** Parses a document; namespace prefixes are dropped from element names. Throws MalformedXML. */
export function parseXml(src: string): XmlElement {
  let i = 0;
  const fail = (why: string): never => {
    throw new S3Error('MalformedXML', `The XML you provided was not well-formed: ${why}`);
  };
  const skipMisc = () => {
    for (;;) {
      while (i < src.length && /\s/.test(src[i]!)) i++;
      if (src.startsWith('<?', i)) {
        const e = src.indexOf('?>', i);
        if (e < 0) fail('unterminated declaration');
        i = e + 2;
      } else if (src.startsWith('<!--', i)) {
        const e = src.indexOf('-->', i);
        if (e < 0) fail('unterminated comment');
        i = e + 3;
      } else if (src.startsWith('<!', i)) fail('DTDs are not accepted');
      else return;
    }
  };
  const localName = (n: string) => n.slice(n.indexOf(':') + 1);
  const parseElement = (depth: number): XmlElement => {
    if (depth > 32) fail('nesting too deep');
    if (src[i] !== '<') fail(`expected an element at offset ${i}`);
    const m = /^<([A-Za-z_][\w.:-]*)((?:\s+[\w.:-]+\s*=\s*(?:"[^"]*"|'[^']*'))*)\s*(\/?)>/.exec(src.slice(i, i + 4096));
    if (!m) fail(`bad start tag at offset ${i}`);
    i += m![0].length;
    const el: XmlElement = { name: localName(m![1]!), text: '', children: [] };
    if (m![3] === '/') return el;
    let text = '';
    for (;;) {
      const lt = src.indexOf('<', i);
      if (lt < 0) fail(`unclosed element ${el.name}`);
      text += src.slice(i, lt);
      i = lt;
      if (src.startsWith('</', i)) {
        const e = src.indexOf('>', i);
        if (e < 0) fail('unterminated end tag');
        if (localName(src.slice(i + 2, e).trim()) !== el.name) fail(`mismatched end tag for ${el.name}`);
        i = e + 1;
        break;
      }
      if (src.startsWith('<![CDATA[', i)) {
        const e = src.indexOf(']]>', i);
        if (e < 0) fail('unterminated CDATA');
        text += src.slice(i + 9, e).replace(/&/g, '&amp;').replace(/</g, '&lt;');
        i = e + 3;
        continue;
      }
      if (src.startsWith('<!--', i)) {
        const e = src.indexOf('-->', i);
        if (e < 0) fail('unterminated comment');
        i = e + 3;
        continue;
      }
      el.children.push(parseElement(depth + 1));
    }
    el.text = decodeEntities(text);
    return el;
  };
  skipMisc();
  if (i >= src.length) fail('empty document');
  const root = parseElement(0);
  skipMisc();
  if (i !== src.length) fail('content after the root element');
  return root;
}

export function child(el: XmlElement, name: string): XmlElement | undefined {
  return el.children.find((c) => c.name === name);
}

export function children(el: XmlElement, name: string): XmlElement[] {
  return el.children.filter((c) => c.name === name);
}

export function childText(el: XmlElement, name: string): string | undefined {
  return child(el, name)?.text.trim();
}
