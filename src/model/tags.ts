// S3 tag sets of object versions and buckets: their limits (as AWS), their canonical order, and the
// LWW register a version's tags live in (PutObjectTagging replaces it; the version stays).
import { mergeLww, type Lww } from '../table/crdt.ts';

/** A tag set, sorted by key (keys unique): [key, value] pairs. */
export type TagSet = [string, string][];

/** AWS's limits: 10 tags per object, 50 per bucket; keys 1–128 and values 0–256 UTF-16 units. */
export const OBJECT_TAGS_MAX = 10;
export const BUCKET_TAGS_MAX = 50;
export const TAG_KEY_CHARS_MAX = 128;
export const TAG_VALUE_CHARS_MAX = 256;

/** What is wrong with a tag set, or undefined. `onPut`: keys may not start with "aws:". */
export function tagSetError(tags: TagSet, max: number, onPut = true): string | undefined {
  if (tags.length > max) return `A tag set may have at most ${max} tags`;
  const seen = new Set<string>();
  for (const [k, v] of tags) {
    if (k.length === 0 || k.length > TAG_KEY_CHARS_MAX) return `The TagKey you have provided is invalid: a key is 1 to ${TAG_KEY_CHARS_MAX} characters`;
    if (v.length > TAG_VALUE_CHARS_MAX) return `The TagValue you have provided is invalid: a value is at most ${TAG_VALUE_CHARS_MAX} characters`;
    if (onPut && k.toLowerCase().startsWith('aws:')) return 'Your TagKey cannot be prefixed with aws:';
    if (seen.has(k)) return 'Cannot provide multiple Tags with the same key';
    seen.add(k);
  }
  return undefined;
}

/** The canonical form: sorted by key (by UTF-16 code units), so equal sets encode equally. */
export function sortTags(tags: TagSet): TagSet {
  return [...tags].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/** The newer of two forms of a version's tag register (either may be absent). */
export function newerTags(a: Lww<TagSet> | undefined, b: Lww<TagSet> | undefined): Lww<TagSet> | undefined {
  if (!a) return b;
  if (!b) return a;
  return mergeLww(a, b);
}
