// Output for people and for scripts: aligned tables, key/value blocks, sizes, and --json.

export function printJson(v: unknown): void {
  process.stdout.write(JSON.stringify(v, null, 2) + '\n');
}

/** Left-aligned columns separated by two spaces; the header row is upper-cased. */
export function table(headers: string[], rows: string[][]): string {
  const all = [headers.map((h) => h.toUpperCase()), ...rows];
  const widths = headers.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  return all.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd()).join('\n') + '\n';
}

export function printTable(headers: string[], rows: string[][], empty = '(none)'): void {
  process.stdout.write(rows.length ? table(headers, rows) : empty + '\n');
}

export function printFields(fields: [string, string][]): void {
  const w = Math.max(...fields.map(([k]) => k.length)) + 1;
  process.stdout.write(fields.map(([k, v]) => `${(k + ':').padEnd(w)}  ${v}`).join('\n') + '\n');
}

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

export function bytes(n: number): string {
  let v = n;
  let u = 0;
  while (v >= 1024 && u < UNITS.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${n} B` : `${v.toFixed(v < 10 ? 2 : 1)} ${UNITS[u]}`;
}

/** Parses "10GB", "512MiB", "1.5 T", "1000" (bytes) into bytes; SI and binary prefixes both work. */
export function parseBytes(s: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgtp]?)(i?)b?\s*$/i.exec(s);
  if (!m) return undefined;
  const exp = ' kmgtp'.indexOf(m[2]!.toLowerCase() || ' ');
  const base = m[3] ? 1024 : 1000;
  const v = Math.round(Number(m[1]) * base ** exp);
  return Number.isSafeInteger(v) ? v : undefined;
}

export function perms(p: { read: boolean; write: boolean; owner: boolean }): string {
  return [p.read ? 'R' : '-', p.write ? 'W' : '-', p.owner ? 'O' : '-'].join('');
}

export function date(iso: string | undefined): string {
  return iso ? iso.slice(0, 19).replace('T', ' ') : '';
}
