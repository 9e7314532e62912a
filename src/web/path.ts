// Request target → object key for website serving: decode once and refuse anything ambiguous
// (NUL, bad escapes, encoded slashes, dot segments) instead of guessing what was meant.

export type PathResult = { ok: true; key: string; rawPath: string; query: string } | { ok: false; reason: string };

const MAX_KEY_BYTES = 1024;

export function decodePath(url: string | undefined): PathResult {
  if (!url) return { ok: false, reason: 'empty request target' };
  let target = url;
  // Absolute-form (proxies): keep only the path and query.
  if (!target.startsWith('/')) {
    const m = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*(.*)$/i.exec(target);
    if (!m) return { ok: false, reason: 'the request target must be a path' };
    target = m[1] || '/';
  }
  const hash = target.indexOf('#');
  if (hash >= 0) target = target.slice(0, hash);
  const q = target.indexOf('?');
  const rawPath = q >= 0 ? target.slice(0, q) : target;
  const query = q >= 0 ? target.slice(q + 1) : '';
  if (!rawPath.startsWith('/')) return { ok: false, reason: 'the path must start with /' };
  if (/%(?![0-9a-f]{2})/i.test(rawPath)) return { ok: false, reason: 'invalid percent-encoding in path' };
  if (/%2f/i.test(rawPath)) return { ok: false, reason: 'encoded slashes (%2F) are not allowed in paths' };
  if (/%5c/i.test(rawPath) || rawPath.includes('\\')) return { ok: false, reason: 'backslashes are not allowed in paths' };
  let path: string;
  try {
    path = decodeURIComponent(rawPath);
  } catch {
    return { ok: false, reason: 'path is not valid UTF-8 after percent-decoding' };
  }
  if (path.includes('\0')) return { ok: false, reason: 'NUL bytes are not allowed in paths' };
  const segments = path.split('/');
  if (segments.some((s) => s === '..' || s === '.')) return { ok: false, reason: 'dot segments ("." and "..") are not allowed in paths' };
  const key = path.slice(1);
  if (Buffer.byteLength(key) > MAX_KEY_BYTES) return { ok: false, reason: 'path too long' };
  return { ok: true, key, rawPath, query };
}

/** Percent-encodes a key for a Location header, keeping slashes (and RFC 3986 unreserved). */
export function encodeKey(key: string): string {
  return key.split('/').map(encodeURIComponent).join('/');
}
