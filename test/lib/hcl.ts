// A small, bounded reader for the HCL subset our deploy files use (blocks with labels, attributes
// of strings, numbers, booleans, lists, objects and heredocs, three comment styles), so a test can
// check a Nomad job's fields without a Nomad binary. Interpolations stay as text.

export type HclValue = string | number | boolean | HclValue[] | { [k: string]: HclValue };
export interface HclBlock {
  type: string;
  labels: string[];
  body: HclBody;
}
export interface HclBody {
  attrs: Record<string, HclValue>;
  blocks: HclBlock[];
}

const INPUT_CHARS_MAX = 1024 * 1024;
const DEPTH_MAX = 32;

export function parseHcl(text: string): HclBody {
  if (text.length > INPUT_CHARS_MAX) throw new Error(`hcl: input over ${INPUT_CHARS_MAX} characters`);
  let i = 0;
  const line = () => text.slice(0, i).split('\n').length;
  const fail = (why: string): never => {
    throw new Error(`hcl: line ${line()}: ${why}`);
  };
  // Skips spaces and comments; newlines too unless stopAtNewline.
  const skip = (stopAtNewline = false) => {
    for (;;) {
      const c = text[i];
      if (c === '\n' && stopAtNewline) return;
      if (c === ' ' || c === '\t' || c === '\r' || c === '\n') i++;
      else if (c === '#' || (c === '/' && text[i + 1] === '/')) while (i < text.length && text[i] !== '\n') i++;
      else if (c === '/' && text[i + 1] === '*') {
        const end = text.indexOf('*/', i + 2);
        if (end < 0) fail('unterminated comment');
        i = end + 2;
      } else return;
    }
  };
  const ident = (): string => {
    const m = /^[A-Za-z_][A-Za-z0-9_.-]*/.exec(text.slice(i, i + 256));
    if (!m) fail(`expected a name, got ${JSON.stringify(text.slice(i, i + 20))}`);
    i += m![0].length;
    return m![0];
  };
  const string = (): string => {
    i++; // opening quote
    let out = '';
    let depth = 0; // inside ${ ... }, quotes belong to the interpolation
    while (i < text.length) {
      const c = text[i]!;
      if (c === '\\') {
        const n = text[i + 1];
        out += n === 'n' ? '\n' : n === 't' ? '\t' : (n ?? '');
        i += 2;
        continue;
      }
      if (c === '$' && text[i + 1] === '{') depth++;
      else if (c === '}' && depth > 0) depth--;
      else if (c === '"' && depth === 0) {
        i++;
        return out;
      } else if (c === '\n') fail('newline in a string');
      out += c;
      i++;
    }
    return fail('unterminated string');
  };
  const heredoc = (): string => {
    const m = /^<<(-?)([A-Za-z_][A-Za-z0-9_]*)\r?\n/.exec(text.slice(i, i + 300));
    if (!m) fail('bad heredoc');
    i += m![0].length;
    const lines: string[] = [];
    for (;;) {
      if (i >= text.length) fail(`heredoc ${m![2]} not closed`);
      let end = text.indexOf('\n', i);
      if (end < 0) end = text.length;
      const l = text.slice(i, end);
      i = Math.min(end + 1, text.length);
      if (l.trim() === m![2]) break;
      lines.push(l);
    }
    if (m![1] === '-') {
      const indent = Math.min(...lines.filter((l) => l.trim()).map((l) => /^\s*/.exec(l)![0].length));
      return lines.map((l) => l.slice(indent)).join('\n') + '\n';
    }
    return lines.join('\n') + '\n';
  };
  const value = (depth: number): HclValue => {
    if (depth > DEPTH_MAX) fail(`nested deeper than ${DEPTH_MAX}`);
    skip();
    const c = text[i];
    if (c === '"') return string();
    if (c === '<' && text[i + 1] === '<') return heredoc();
    if (c === '[') {
      i++;
      const list: HclValue[] = [];
      for (;;) {
        skip();
        if (text[i] === ']') {
          i++;
          return list;
        }
        list.push(value(depth + 1));
        skip();
        if (text[i] === ',') i++;
        else if (text[i] !== ']') fail('expected , or ] in a list');
      }
    }
    if (c === '{') {
      i++;
      const obj: Record<string, HclValue> = {};
      for (;;) {
        skip();
        if (text[i] === '}') {
          i++;
          return obj;
        }
        const k = text[i] === '"' ? string() : ident();
        skip();
        if (text[i] !== '=' && text[i] !== ':') fail('expected = in an object');
        i++;
        obj[k] = value(depth + 1);
        skip();
        if (text[i] === ',') i++;
      }
    }
    const num = /^-?[0-9]+(\.[0-9]+)?/.exec(text.slice(i, i + 64));
    if (num) {
      i += num[0].length;
      return Number(num[0]);
    }
    const word = ident();
    if (word === 'true') return true;
    if (word === 'false') return false;
    return fail(`unsupported expression ${word} (only literals are read)`);
  };
  const body = (depth: number, closing: boolean): HclBody => {
    if (depth > DEPTH_MAX) fail(`blocks nested deeper than ${DEPTH_MAX}`);
    const out: HclBody = { attrs: {}, blocks: [] };
    for (;;) {
      skip();
      if (i >= text.length) {
        if (closing) fail('unexpected end of input: a block is not closed');
        return out;
      }
      if (text[i] === '}') {
        if (!closing) fail('unexpected }');
        i++;
        return out;
      }
      const name = ident();
      skip(true);
      if (text[i] === '=') {
        i++;
        if (name in out.attrs) fail(`attribute ${name} set twice`);
        out.attrs[name] = value(depth + 1);
        continue;
      }
      const labels: string[] = [];
      for (;;) {
        skip(true);
        if (text[i] === '"') labels.push(string());
        else if (text[i] === '{') break;
        else if (/[A-Za-z_]/.test(text[i] ?? '')) labels.push(ident());
        else fail(`expected a label or { after ${name}`);
      }
      i++;
      out.blocks.push({ type: name, labels, body: body(depth + 1, true) });
    }
  };
  return body(0, false);
}

/** The blocks of a type directly in a body. */
export function blocks(b: HclBody, type: string): HclBlock[] {
  return b.blocks.filter((x) => x.type === type);
}

/** The only block of a type in a body (throws when there is none or several). */
export function block(b: HclBody, type: string, label?: string): HclBlock {
  const found = blocks(b, type).filter((x) => label === undefined || x.labels[0] === label);
  if (found.length !== 1) throw new Error(`hcl: expected one ${type}${label ? ` "${label}"` : ''} block, found ${found.length}`);
  return found[0]!;
}
