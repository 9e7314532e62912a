// Content-Type for website files: S3 clients often upload without one (stored as the generic
// binary/octet-stream), which browsers would download instead of render, so guess from the name.

const TYPES: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  htm: 'text/html; charset=utf-8',
  css: 'text/css; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  mjs: 'text/javascript; charset=utf-8',
  json: 'application/json',
  map: 'application/json',
  webmanifest: 'application/manifest+json',
  xml: 'application/xml',
  rss: 'application/rss+xml',
  atom: 'application/atom+xml',
  txt: 'text/plain; charset=utf-8',
  md: 'text/markdown; charset=utf-8',
  csv: 'text/csv; charset=utf-8',
  svg: 'image/svg+xml',
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  webp: 'image/webp',
  avif: 'image/avif',
  ico: 'image/x-icon',
  bmp: 'image/bmp',
  pdf: 'application/pdf',
  wasm: 'application/wasm',
  woff: 'font/woff',
  woff2: 'font/woff2',
  ttf: 'font/ttf',
  otf: 'font/otf',
  mp4: 'video/mp4',
  webm: 'video/webm',
  ogv: 'video/ogg',
  mp3: 'audio/mpeg',
  ogg: 'audio/ogg',
  wav: 'audio/wav',
  flac: 'audio/flac',
  zip: 'application/zip',
  gz: 'application/gzip',
  tar: 'application/x-tar',
};

const GENERIC = new Set(['binary/octet-stream', 'application/octet-stream', '']);

/** The type of a key by its extension, or undefined when the extension is unknown. */
export function guessType(key: string): string | undefined {
  const base = key.slice(key.lastIndexOf('/') + 1);
  const dot = base.lastIndexOf('.');
  if (dot < 0) return undefined;
  return TYPES[base.slice(dot + 1).toLowerCase()];
}

/** The Content-Type to send: the stored one unless it is absent or generic, then a guess. */
export function contentTypeFor(key: string, stored: string | undefined): string {
  if (stored !== undefined && !GENERIC.has(stored.trim().toLowerCase())) return stored;
  return guessType(key) ?? 'application/octet-stream';
}
