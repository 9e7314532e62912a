// Admin operations for the console: PresignObjectUrl (a SigV4 presigned URL made on the node with
// an access key the admin picks, e.g. a share link; the key's secret never reaches the page) and
// GetNodeMetricsSummary (the few counters the console charts, as JSON, under the admin token).
import { statfs } from 'node:fs/promises';
import type { Handler } from './context.ts';
import { apiDuration, apiRequests } from '../../util/metrics.ts';
import { badRequest, str } from './http.ts';
import { hasDotSegment, MAX_PRESIGNED_EXPIRES_S, presignUrl } from './console/presign.ts';
import { secretOf } from './console/s3-proxy.ts';
import { splitAddr } from '../../config/config.ts';

/** An object key is at most 1024 bytes in S3. */
const OBJECT_KEY_BYTES_MAX = 1024;
const BUCKET_NAME_CHARS_MAX = 255;
const ENDPOINT_CHARS_MAX = 512;
const METHODS = ['GET', 'HEAD', 'PUT', 'DELETE'] as const;

/** The S3 endpoint a link should point at: the one given, else the host the admin reached this
 *  node by, on the S3 API's port. */
function endpointOf(given: string | undefined, hostHeader: string | undefined, s3Addr: string): string {
  if (given !== undefined) {
    if (given.length > ENDPOINT_CHARS_MAX) throw badRequest(`"endpoint" has at most ${ENDPOINT_CHARS_MAX} characters`);
    let u: URL;
    try {
      u = new URL(given);
    } catch {
      throw badRequest('"endpoint" must be a URL such as https://s3.example.org');
    }
    if ((u.protocol !== 'http:' && u.protocol !== 'https:') || u.username || u.password || (u.pathname !== '/' && u.pathname !== '') || u.search || u.hash)
      throw badRequest('"endpoint" must be an http(s) origin without path, query or credentials');
    return u.origin;
  }
  const { port } = splitAddr(s3Addr);
  let host = 'localhost';
  try {
    if (hostHeader) host = new URL(`http://${hostHeader}`).hostname;
  } catch {
    /* a malformed Host header: fall back to localhost */
  }
  return `http://${host}:${port}`;
}

/** The console's own polling is left out of the request counts it charts. */
const SUMMARY_OP = 'GetNodeMetricsSummary';
export const CONSOLE_READS = [SUMMARY_OP];

async function dataDiskUsed(dir: string): Promise<number | null> {
  try {
    const s = await statfs(dir);
    return (s.blocks - s.bfree) * s.bsize;
  } catch {
    return null;
  }
}

export const CONSOLE_OPS: Record<string, Handler> = {
  /** Counters since the process started (the page charts their rates between two samples). */
  async [SUMMARY_OP]({ deps }) {
    const byApi: Record<string, number> = {};
    let total = 0;
    let serverErrors = 0;
    let clientErrors = 0;
    for (const v of (await apiRequests.get()).values) {
      if (v.labels.op === SUMMARY_OP) continue;
      const api = String(v.labels.api ?? 'other');
      byApi[api] = (byApi[api] ?? 0) + v.value;
      total += v.value;
      const status = Number(v.labels.status);
      if (status >= 500) serverErrors += v.value;
      else if (status >= 400) clientErrors += v.value;
    }
    let latencySumSecs = 0;
    let latencyCount = 0;
    for (const v of (await apiDuration.get()).values) {
      if (v.labels.op === SUMMARY_OP) continue;
      if (v.metricName === 'api_request_duration_seconds_sum') latencySumSecs += v.value;
      else if (v.metricName === 'api_request_duration_seconds_count') latencyCount += v.value;
    }
    return {
      time: new Date().toISOString(),
      uptimeSecs: Math.floor((Date.now() - deps.startedAt) / 1000),
      requests: { total, byApi },
      errors: { server: serverErrors, client: clientErrors },
      latency: { sumSecs: latencySumSecs, count: latencyCount },
      memoryBytes: process.memoryUsage().rss,
      dataDiskUsedBytes: await dataDiskUsed(deps.config.data_dir),
    };
  },

  async PresignObjectUrl({ deps, req, body }) {
    const bucket = str(body, 'bucket', true);
    const key = str(body, 'key') ?? '';
    const accessKeyId = str(body, 'accessKeyId', true);
    const method = (str(body, 'method') ?? 'GET').toUpperCase();
    if (bucket.length > BUCKET_NAME_CHARS_MAX) throw badRequest(`"bucket" has at most ${BUCKET_NAME_CHARS_MAX} characters`);
    if (Buffer.byteLength(key) > OBJECT_KEY_BYTES_MAX) throw badRequest(`"key" has at most ${OBJECT_KEY_BYTES_MAX} bytes`);
    if (!(METHODS as readonly string[]).includes(method)) throw badRequest(`"method" is one of ${METHODS.join(', ')}`);
    const expiresSecs = body.expiresSecs ?? 3600;
    if (typeof expiresSecs !== 'number' || !Number.isInteger(expiresSecs) || expiresSecs < 1 || expiresSecs > MAX_PRESIGNED_EXPIRES_S)
      throw badRequest(`"expiresSecs" is a whole number of seconds from 1 to ${MAX_PRESIGNED_EXPIRES_S} (7 days)`);
    const endpoint = endpointOf(str(body, 'endpoint'), req.headers.host, deps.config.s3_api.api_bind_addr);
    const now = Date.now();
    if (hasDotSegment(key)) throw badRequest('a key with a "." or ".." path segment cannot be shared as a link: browsers rewrite such URLs');
    const url = presignUrl({ method: method as 'GET', endpoint, bucket, key, accessKeyId, secret: secretOf(deps, accessKeyId), region: deps.config.s3_api.s3_region, expiresSecs, now });
    return { url, method, expiresAt: new Date(now + expiresSecs * 1000).toISOString() };
  },
};
