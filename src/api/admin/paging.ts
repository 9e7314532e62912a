// The query parameters of the admin API's paged listings (ListBuckets, ListSites: ?limit=&search=&start=),
// checked one way for both: a bounded whole-number limit, a bounded search, and a start token that
// names one of the listing's phases (`<phase>:<last key read>`).
import { badRequest } from './http.ts';

/** ?limit=: `dflt` when absent, else a whole number from 1 to `max`. */
export function parseLimit(raw: string | null, dflt: number, max: number): number {
  if (raw === null) return dflt;
  const n = /^\d{1,7}$/.test(raw) ? Number(raw) : NaN;
  if (!(n >= 1 && n <= max)) throw badRequest(`query parameter "limit" must be a whole number from 1 to ${max}`);
  return n;
}

/** ?search=, trimmed and lower-cased, at most `maxChars` characters. */
export function parseSearch(raw: string | null, maxChars: number): string {
  const s = (raw ?? '').trim().toLowerCase();
  if (s.length > maxChars) throw badRequest(`query parameter "search" is longer than ${maxChars} characters`);
  return s;
}

/** ?start=: absent, the listing's first phase ('p', the prefix phase, when searching, else 'a');
 *  otherwise a token `<phase>:<after>` that `op` returned as nextStart ('p' only with a search). */
export function parseStart<P extends string>(raw: string | null, search: string, phases: readonly P[], op: string): { phase: P; after?: string } {
  if (raw === null || raw === '') return { phase: (search === '' ? 'a' : 'p') as P };
  const colon = raw.indexOf(':');
  const phase = raw.slice(0, colon) as P;
  if (colon < 0 || !phases.includes(phase) || (phase === 'p' && search === '')) throw badRequest(`query parameter "start" is not a token returned by ${op} ("nextStart")`);
  return { phase, after: raw.slice(colon + 1) || undefined };
}
