// The admin API from the page: as an admin (bearer token) or as a site owner (each request signed
// with the access key's secret in the page). The session lives in sessionStorage (gone with the
// tab), never in a URL or a cookie.
import { ownerHeaders, ownerHeadersForHash } from './sign.js';

const KEY = 'grenier.session';

export function getSession() {
  try {
    const s = JSON.parse(sessionStorage.getItem(KEY) ?? 'null');
    if (s && (s.kind === 'admin' || s.kind === 'owner')) return s;
  } catch {
    /* a damaged entry is no session */
  }
  return null;
}

export function setSession(s) {
  if (s) sessionStorage.setItem(KEY, JSON.stringify(s));
  else sessionStorage.removeItem(KEY);
}

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** What to tell a person for each kind of failure. */
function explain(status, code, message) {
  if (status === 401) return `Not logged in: ${message}`;
  if (status === 403 && /invalid token|expired/.test(message)) return `${message}. Log in again with a valid token.`;
  if (status === 403) return `Not allowed: ${message}`;
  if (status === 404) return `Not found: ${message}`;
  if (status === 409) return `Conflict: ${message}`;
  if (status === 413) return `Too large: ${message}`;
  if (status === 503) return `The node is busy or not ready: ${message} (try again shortly)`;
  if (status >= 500) return `The node failed: ${message}`;
  return message || `${code} (HTTP ${status})`;
}

const TIMEOUT_MS = 15_000;

/** This node's id (every admin answer carries it): an owner's signature names it. Asked once. */
let nodeId;
async function thisNode() {
  nodeId ??= fetch('/health/live', { cache: 'no-store', credentials: 'omit', signal: AbortSignal.timeout(TIMEOUT_MS) })
    .then((r) => r.headers.get('x-grenier-node') ?? '')
    .catch(() => '');
  const id = await nodeId;
  if (!id) nodeId = undefined;
  return id;
}

/** One admin API call; resolves to the JSON answer (undefined when empty), throws ApiError. */
export async function call(method, op, query = {}, body, session = getSession()) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null) q.set(k, String(v));
  const qs = q.toString();
  const target = `/v2/${op}${qs ? `?${qs}` : ''}`;
  const text = body === undefined ? '' : JSON.stringify(body);
  const headers = {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (session?.kind === 'admin') headers.authorization = `Bearer ${session.token}`;
  else if (session?.kind === 'owner') Object.assign(headers, await ownerHeaders(session.keyId, session.secret, method, target, text, await thisNode()));
  let res;
  try {
    res = await fetch(target, { method, headers, body: body === undefined ? undefined : text, cache: 'no-store', credentials: 'omit', signal: AbortSignal.timeout(TIMEOUT_MS) });
  } catch (e) {
    const why = e?.name === 'TimeoutError' ? `no answer within ${TIMEOUT_MS / 1000} s` : 'the node cannot be reached';
    throw new ApiError(0, 'NetworkError', `${op}: ${why}`);
  }
  const answer = await res.text();
  let json;
  try {
    json = answer ? JSON.parse(answer) : undefined;
  } catch {
    json = undefined;
  }
  if (res.ok) return json;
  const code = typeof json?.code === 'string' ? json.code : String(res.status);
  const message = typeof json?.message === 'string' ? json.message : `HTTP ${res.status}`;
  throw new ApiError(res.status, code, explain(res.status, code, message));
}

export const get = (op, query, session) => call('GET', op, query, undefined, session);
export const post = (op, body = {}, query, session) => call('POST', op, query, body, session);

/** Requests one paged listing may chain when the node's scan budget ends a page with nothing found yet. */
const EMPTY_HOPS_MAX = 30;

/** One page of a paged list operation (ListBuckets, ListSites: ?limit=&start=&search=, answering
 *  `{[field]: [...], nextStart}`): a page the node's scan budget ended before it found anything
 *  goes on by itself, a few times (a rare name among many). */
export async function getPage(op, field, { limit, search, start }) {
  let token = start;
  for (let hop = 0; ; hop++) {
    const page = await get(op, { limit, search: search || undefined, start: token ?? undefined });
    if (page[field].length > 0 || page.nextStart === null || hop + 1 >= EMPTY_HOPS_MAX) return page;
    token = page.nextStart;
  }
}

/** The object browser's S3 request through the node (/console/s3/…, see api/admin/console/s3-proxy.ts):
 *  the admin token proves the admin, `accessKeyId` is the key the node signs with. Uploads go
 *  through XMLHttpRequest, the one browser API that reports upload progress. */
export function s3(method, bucket, key, { accessKeyId, query = {}, body, onProgress, session = getSession() } = {}) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const path = `/console/s3/${encodeURIComponent(bucket)}${key ? '/' + key.split('/').map(encodeURIComponent).join('/') : ''}${q.size ? `?${q}` : ''}`;
  return new Promise((ok, fail) => {
    const x = new XMLHttpRequest();
    x.open(method, path);
    x.responseType = method === 'GET' && key ? 'blob' : 'text';
    if (session?.kind === 'admin') x.setRequestHeader('authorization', `Bearer ${session.token}`);
    x.setRequestHeader('x-grenier-access-key', accessKeyId);
    if (onProgress) x.upload.onprogress = (e) => e.lengthComputable && onProgress(e.loaded, e.total);
    x.onerror = () => fail(new ApiError(0, 'NetworkError', `${method} ${key || bucket}: the node cannot be reached`));
    x.onload = async () => {
      if (x.status >= 200 && x.status < 300) return ok(x.response);
      const text = typeof x.response === 'string' ? x.response : await x.response?.text?.();
      fail(new ApiError(x.status, ...s3ErrorOf(x.status, text ?? '')));
    };
    x.send(body ?? null);
  });
}

/** One blob upload may take this long (a large file on a slow home uplink). */
const BLOB_TIMEOUT_MS = 30 * 60_000;

/** PutSiteBlob: the file `body` as blob `sha256` of `site` (the CLI's upload, api/admin/site.ts),
 *  signed over its hash for an owner; through XMLHttpRequest for the upload progress. */
export async function putSiteBlob(site, sha256, body, { onProgress, session = getSession() } = {}) {
  const target = `/v2/PutSiteBlob?${new URLSearchParams({ site, sha256 })}`;
  const headers = { 'content-type': 'application/octet-stream' };
  if (session?.kind === 'admin') headers.authorization = `Bearer ${session.token}`;
  else if (session?.kind === 'owner') Object.assign(headers, await ownerHeadersForHash(session.keyId, session.secret, 'PUT', target, sha256, await thisNode()));
  return new Promise((ok, fail) => {
    const x = new XMLHttpRequest();
    x.open('PUT', target);
    for (const [k, v] of Object.entries(headers)) x.setRequestHeader(k, v);
    if (onProgress) x.upload.onprogress = (e) => onProgress(e.loaded);
    x.timeout = BLOB_TIMEOUT_MS;
    x.ontimeout = () => fail(new ApiError(0, 'NetworkError', `PutSiteBlob: no answer within ${BLOB_TIMEOUT_MS / 60_000} min`));
    x.onerror = () => fail(new ApiError(0, 'NetworkError', `PutSiteBlob: the node cannot be reached`));
    x.onload = () => {
      let json;
      try {
        json = x.responseText ? JSON.parse(x.responseText) : undefined;
      } catch {
        json = undefined;
      }
      if (x.status >= 200 && x.status < 300) return ok(json);
      const code = typeof json?.code === 'string' ? json.code : String(x.status);
      fail(new ApiError(x.status, code, explain(x.status, code, typeof json?.message === 'string' ? json.message : `HTTP ${x.status}`)));
    };
    x.send(body);
  });
}

/** [code, message] of an S3 XML error or an admin JSON error. */
function s3ErrorOf(status, text) {
  try {
    const j = JSON.parse(text);
    if (typeof j?.message === 'string') return [j.code ?? String(status), explain(status, j.code, j.message)];
  } catch {
    /* not JSON: S3 answers XML */
  }
  const doc = new DOMParser().parseFromString(text, 'application/xml');
  const code = doc.getElementsByTagName('Code')[0]?.textContent ?? String(status);
  const message = doc.getElementsByTagName('Message')[0]?.textContent ?? `HTTP ${status}`;
  return [code, explain(status, code, `${code}: ${message}`)];
}
