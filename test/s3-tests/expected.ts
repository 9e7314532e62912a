// The s3-tests gate's expected-pass list (test/s3-tests/expected-pass.txt, one pytest id a line,
// sorted, '#' comments) and the comparison of a run against it: regressions fail, new passes are
// only suggested.
import { readFileSync, writeFileSync } from 'node:fs';
import type { CaseResult } from './junit.ts';

export const EXPECTED_PATH = new URL('./expected-pass.txt', import.meta.url);
/** The extra markers' list (suite.ts EXTRA_MARKERS: SSE-C, conditional writes, checksums). */
export const EXPECTED_EXTRA_PATH = new URL('./expected-pass-extra.txt', import.meta.url);

/** Parses the list; throws (naming the line) on duplicates or an unsorted list, so it stays diffable. */
export function parseExpected(text: string): string[] {
  const ids: string[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    const prev = ids[ids.length - 1];
    if (prev !== undefined && !(prev < line))
      throw new Error(`expected-pass.txt line ${i + 1}: "${line}" ${prev === line ? 'is a duplicate' : `is out of order (after "${prev}")`}`);
    ids.push(line);
  });
  return ids;
}

export function readExpected(path: URL = EXPECTED_PATH): string[] {
  return parseExpected(readFileSync(path, 'utf8'));
}

export function formatExpected(ids: Iterable<string>, subset = 'core subset'): string {
  const header = `# s3-tests ${subset}: tests that pass today (test/s3-tests.test.ts fails when one of them stops).\n` +
    '# Regenerate with S3_TESTS_WRITE_EXPECTED=1; sorted, one pytest id a line.\n';
  return header + [...new Set(ids)].sort().join('\n') + '\n';
}

export function writeExpected(ids: Iterable<string>, path: URL = EXPECTED_PATH, subset?: string): void {
  writeFileSync(path, formatExpected(ids, subset));
}

export interface Comparison {
  /** Expected to pass but did not (with what happened instead; 'not run' when absent from the results). */
  regressions: { id: string; outcome: string; message: string }[];
  /** Passed but not in the list. */
  newlyPassing: string[];
}

export function compare(expected: readonly string[], results: readonly CaseResult[]): Comparison {
  const byId = new Map(results.map((r) => [r.id, r]));
  const want = new Set(expected);
  const regressions = expected
    .map((id) => ({ id, r: byId.get(id) }))
    .filter(({ r }) => r?.outcome !== 'passed')
    .map(({ id, r }) => ({ id, outcome: r?.outcome ?? 'not run', message: r?.message ?? '' }));
  const newlyPassing = results.filter((r) => r.outcome === 'passed' && !want.has(r.id)).map((r) => r.id).sort();
  return { regressions, newlyPassing };
}

export function summaryLine(results: readonly CaseResult[], seconds: number): string {
  const n = (o: string) => results.filter((r) => r.outcome === o).length;
  return `s3-tests: ${n('passed')} passed, ${n('failed')} failed, ${n('error')} errors, ${n('skipped')} skipped (${results.length} tests, ${Math.round(seconds)} s)`;
}
