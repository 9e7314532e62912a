// On-the-fly compression of proxied responses: brotli or gzip (node:zlib) for text-like types
// the upstream left uncompressed, when the client accepts it. Streams, so back-pressure holds.
import { constants, createBrotliCompress, createGzip, type BrotliCompress, type Gzip } from 'node:zlib';
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import { acceptsEncoding } from '../util/http.ts';

const TEXTUAL = /^(text\/|application\/(json|javascript|ecmascript|xml|xhtml\+xml|rss\+xml|atom\+xml|manifest\+json|ld\+json|wasm|x-javascript)\b|image\/svg\+xml\b|[a-z]+\/[a-z0-9.+-]*\+(json|xml)\b)/i;

/** Small bodies gain nothing and cost a round of framing. */
const MIN_SIZE = 256;

export function isCompressible(contentType: string | undefined): boolean {
  if (!contentType) return false;
  const t = contentType.trim().toLowerCase();
  // Server-sent events must reach the client event by event.
  if (t.startsWith('text/event-stream')) return false;
  return TEXTUAL.test(t);
}

/** The coding to apply to this response, or undefined to pass it as is. */
export function chooseCoding(
  method: string | undefined,
  reqHeaders: IncomingHttpHeaders,
  status: number,
  resHeaders: IncomingHttpHeaders | OutgoingHttpHeaders,
): 'br' | 'gzip' | undefined {
  if (method === 'HEAD' || status < 200 || status === 204 || status === 206 || status === 304) return undefined;
  if (resHeaders['content-encoding'] && String(resHeaders['content-encoding']).toLowerCase() !== 'identity') return undefined;
  if (resHeaders['content-range']) return undefined;
  if (/\bno-transform\b/i.test(String(resHeaders['cache-control'] ?? ''))) return undefined;
  const len = resHeaders['content-length'];
  if (len !== undefined && Number(len) < MIN_SIZE) return undefined;
  if (!isCompressible(resHeaders['content-type'] as string | undefined)) return undefined;
  const ae = reqHeaders['accept-encoding'];
  if (acceptsEncoding(ae, 'br')) return 'br';
  if (acceptsEncoding(ae, 'gzip')) return 'gzip';
  return undefined;
}

export function compressor(coding: 'br' | 'gzip', sizeHint?: number): BrotliCompress | Gzip {
  if (coding === 'gzip') return createGzip({ level: 6 });
  // Quality 5: most of brotli's gain at a fraction of the default (11)'s CPU, fit for live responses.
  const params: Record<number, number> = { [constants.BROTLI_PARAM_QUALITY]: 5, [constants.BROTLI_PARAM_MODE]: constants.BROTLI_MODE_TEXT };
  if (sizeHint !== undefined) params[constants.BROTLI_PARAM_SIZE_HINT] = sizeHint;
  return createBrotliCompress({ params });
}

/** Adds Accept-Encoding to Vary (keeping what the upstream said). */
export function varyAcceptEncoding(vary: string | string[] | number | undefined): string {
  const cur = vary === undefined ? '' : Array.isArray(vary) ? vary.join(', ') : String(vary);
  if (cur.split(',').some((v) => v.trim().toLowerCase() === 'accept-encoding' || v.trim() === '*')) return cur;
  return cur ? `${cur}, Accept-Encoding` : 'Accept-Encoding';
}
