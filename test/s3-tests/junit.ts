// Reads the JUnit XML that pytest writes (--junitxml) into one outcome per test id, so the
// s3-tests gate compares results in TypeScript instead of scraping pytest's terminal output.

export type Outcome = 'passed' | 'failed' | 'error' | 'skipped';

export interface CaseResult {
  /** pytest node id, e.g. `s3tests/functional/test_s3.py::test_bucket_list_empty`. */
  id: string;
  outcome: Outcome;
  /** The failure/error/skip message (first of them), unescaped; '' when passed. */
  message: string;
  /** The element's text (pytest puts the traceback there), unescaped, at most 8000 characters. */
  detail: string;
  /** Seconds, as pytest reports them. */
  time: number;
  /** The message of an error in the suite's setup or teardown (its bucket cleanup), whatever the outcome. */
  cleanupError?: string;
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

export function unescapeXml(s: string): string {
  return s.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|amp|lt|gt|quot|apos);/g, (_, e: string) => {
    if (e[0] !== '#') return ENTITIES[e]!;
    const cp = e[1] === 'x' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
    return cp <= 0x10ffff ? String.fromCodePoint(cp) : '\uFFFD';
  });
}

function attrs(tag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of tag.matchAll(/([A-Za-z_:][\w:.-]*)\s*=\s*(?:"([^"]*)"|'([^']*)')/g)) out[m[1]!] = unescapeXml(m[2] ?? m[3] ?? '');
  return out;
}

/** `s3tests.functional.test_s3` + `test_x` -> `s3tests/functional/test_s3.py::test_x`; a name with
 *  a class part (`test_s3.TestFoo`) keeps it as `::TestFoo` the way pytest spells node ids. */
export function nodeId(classname: string, name: string): string {
  const parts = classname.split('.');
  // The module is the last lowercase-initial part; anything after it is a class.
  let mod = parts.length;
  while (mod > 1 && /^[A-Z]/.test(parts[mod - 1]!)) mod--;
  const file = parts.slice(0, mod).join('/') + '.py';
  return [file, ...parts.slice(mod), name].join('::');
}

// Worst outcome wins when pytest reports one test twice (a call result and a teardown error).
const RANK: Record<Outcome, number> = { passed: 0, skipped: 1, error: 2, failed: 3 };

export function parseJunit(xml: string): CaseResult[] {
  const byId = new Map<string, CaseResult>();
  const re = /<testcase\b([^>]*?)(\/>|>([\s\S]*?)<\/testcase>)/g;
  for (const m of xml.matchAll(re)) {
    const a = attrs(m[1]!);
    const id = nodeId(a.classname ?? '', a.name ?? '');
    const body = m[3] ?? '';
    let outcome: Outcome = 'passed';
    let message = '';
    let detail = '';
    let cleanupError: string | undefined;
    for (const c of body.matchAll(/<(failure|error|skipped)\b([^>]*?)(\/>|>([\s\S]*?)<\/\1>)/g)) {
      const kind: Outcome = c[1] === 'failure' ? 'failed' : c[1] === 'error' ? 'error' : 'skipped';
      const m = attrs(c[2]!).message ?? '';
      if (kind === 'error' && cleanupError === undefined && /^failed on (setup|teardown)\b/.test(m)) cleanupError = m;
      if (RANK[kind] <= RANK[outcome] && outcome !== 'passed') continue;
      outcome = kind;
      detail = unescapeXml(c[4] ?? '').slice(-8000);
      message = attrs(c[2]!).message ?? detail.slice(0, 2000);
    }
    const r: CaseResult = { id, outcome, message, detail, time: Number(a.time ?? 0) || 0 };
    if (cleanupError !== undefined) r.cleanupError = cleanupError;
    const prev = byId.get(id);
    if (!prev) byId.set(id, r);
    else {
      const worse = RANK[r.outcome] > RANK[prev.outcome] ? r : prev;
      const merged: CaseResult = { ...worse, time: prev.time + r.time };
      const ce = prev.cleanupError ?? r.cleanupError;
      if (ce !== undefined) merged.cleanupError = ce;
      byId.set(id, merged);
    }
  }
  return [...byId.values()];
}
