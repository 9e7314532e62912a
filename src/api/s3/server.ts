// The S3 API listener: per request, route → authenticate → resolve bucket and permission →
// run the operation, turning every failure into an S3 XML error (never a crash).
import { localAliasOf } from '../../model/key.ts';
import { requireUsableKey } from './auth/key-usable.ts';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { randomBytes } from 'node:crypto';
import type { Store } from '../../model/store.ts';
import type { Perm } from '../../model/bucket.ts';
import { S3Error } from './errors.ts';
import { toXml } from './xml.ts';
import { operation, target } from './router.ts';
import { authenticate, claimedAccessKeyId, decodeBody, hasCredentials, type AuthResult, type DecodedBody } from './auth/index.ts';
import { authorize } from './authz/authorize.ts';
import { applyCors, preflight } from './cors.ts';
import type { S3Ctx, S3Settings } from './context.ts';
import { HANDLERS } from './ops/index.ts';
import { keySecret } from './ops/common.ts';
import { ModelError, QuorumError } from '../../model/errors.ts';
import { DbKeyTooLongError } from '../../db/db.ts';
import { checkRequestNames } from './input-limits.ts';
import { apiDuration, apiRequests } from '../../util/metrics.ts';
import { log } from '../../util/log.ts';
import { closeAfterAnswer } from '../../util/lingering-close.ts';

const NO_PERM: Perm = { read: false, write: false, owner: false };
/** What an unsigned request's body is decoded with: plain bytes, nothing to verify. */
const ANONYMOUS_AUTH: AuthResult = {
  accessKeyId: '',
  payload: { kind: 'unsigned' },
  signing: { signingKey: Buffer.alloc(0), scope: '', seedSignature: '', amzDate: '' },
};
/** After an error answer on an unread body: how long, and how many body bytes, the connection
 *  is still read (and dropped) so the client sees the answer before the socket is cut. */
const MODEL_CODES = new Set(['InvalidBucketName', 'BucketAlreadyExists', 'BucketAlreadyOwnedByYou', 'BucketNotEmpty']);

/** Requests whose 100 Continue is still to be sent (only from this server's checkContinue: one
 *  arriving through the front had it sent there). */
const awaitingContinue = new WeakSet<IncomingMessage>();

export function createS3Server(store: Store, settings: S3Settings): Server {
  const server = createServer({ requestTimeout: 0, headersTimeout: 60_000, keepAliveTimeout: 65_000 }, (req, res) => {
    void handle(store, settings, req, res);
  });
  // Expect: 100-continue is answered by handle() once the request is authorized (not by Node at
  // once): a refused client gets its error before it sends the body.
  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
    awaitingContinue.add(req);
    void handle(store, settings, req, res);
  });
  return server;
}

/** After an error answer, what becomes of a request body nobody read. An authenticated tenant's
 *  body of an acceptable size is read and dropped, so the client sees the answer and keeps its
 *  connection (it could have stored that much anyway); anything else (anonymous, failed
 *  signature, a declared length over limits.object_bytes_max) gets Connection: close. */
function unreadBody(req: IncomingMessage, authenticated: boolean, objectBytesMax: number): 'none' | 'drain' | 'close' {
  if (req.complete) return 'none';
  if (!authenticated) return 'close';
  const cl = req.headers['content-length'];
  return cl !== undefined && !(Number(cl) <= drainBytesMax(objectBytesMax)) ? 'close' : 'drain';
}

/** aws-chunked framing adds well under 1% to an object's bytes. */
function drainBytesMax(objectBytesMax: number): number {
  return objectBytesMax + Math.ceil(objectBytesMax / 64) + 64 * 1024;
}

function errorResponse(res: ServerResponse, req: IncomingMessage, e: S3Error, resource: string, requestId: string, authenticated: boolean, objectBytesMax: number): void {
  if (res.headersSent) {
    res.destroy(e);
    return;
  }
  const xml = toXml('Error', { Code: e.code, Message: e.message, ...e.extra, Resource: resource, RequestId: requestId }, false);
  const headers: Record<string, string | number> = { ...e.headers, 'x-amz-request-id': requestId };
  // A body of any size (Content-Length 10^12, or a trickle) from someone we do not know: draining
  // it would hold the connection as long as they like. Answer, then close.
  const body = unreadBody(req, authenticated, objectBytesMax);
  if (body === 'close') closeAfterAnswer(req, res);
  if (e.status === 304) {
    res.writeHead(304, headers);
    res.end();
  } else if (req.method === 'HEAD') {
    res.writeHead(e.status, { ...headers, 'x-amz-error-code': e.code });
    res.end();
  } else {
    res.writeHead(e.status, { ...headers, 'content-type': 'application/xml', 'content-length': Buffer.byteLength(xml) });
    res.end(xml);
  }
  if (body === 'drain') drain(req, drainBytesMax(objectBytesMax));
}

/** Reads and drops the rest of a body (the connection stays usable); cut past `max` bytes. Slow
 *  bodies are bounded by the listener's idle timeout. */
function drain(req: IncomingMessage, max: number): void {
  let n = 0;
  req.on('data', (c: Buffer) => {
    n += c.length;
    if (n > max) req.socket.destroy();
  });
  req.resume();
}

function toS3Error(e: unknown): S3Error {
  if (e instanceof S3Error) return e;
  if (e instanceof ModelError && MODEL_CODES.has(e.code)) return new S3Error(e.code, e.message);
  // The request checks refuse long names first; this covers a name built on another path.
  if (e instanceof DbKeyTooLongError) return new S3Error('KeyTooLongError', 'Your key is too long');
  if ((e as NodeJS.ErrnoException)?.code === 'ENOSPC') return new S3Error('InsufficientStorage', 'The node is out of disk space; the write was not stored.');
  // Not enough replicas reachable: the client should retry later or elsewhere (Garage: 503).
  if (e instanceof QuorumError)
    return new S3Error('ServiceUnavailable', `Not enough replicas are reachable right now: ${(e as Error).message}`);
  log.error({ err: e }, 's3 internal error');
  return new S3Error('InternalError', 'We encountered an internal error. Please try again.');
}

async function handle(store: Store, settings: S3Settings, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const started = performance.now();
  const requestId = randomBytes(8).toString('hex').toUpperCase();
  const url = req.url ?? '/';
  const qi = url.indexOf('?');
  const rawPath = qi < 0 ? url : url.slice(0, qi);
  const rawQuery = qi < 0 ? '' : url.slice(qi + 1);
  let op = 'Unknown';
  let authenticated = false;
  res.setHeader('x-amz-request-id', requestId);
  res.setHeader('server', 'Grenier');
  try {
    const query = new URLSearchParams(rawQuery);
    const t = target(req.headers.host, rawPath, settings.rootDomain);
    op = operation(req, t, query);
    checkRequestNames(t, query);
    if (op === 'Options') {
      preflight(req, res, t.bucketName ? await store.bucketByName(t.bucketName) : undefined);
      return;
    }
    if (op === 'NotImplemented') throw new S3Error('NotImplemented', 'A header or query you provided implies functionality that is not implemented.');
    let decoded: DecodedBody | undefined;
    const ctx = { req, res, store, settings, requestId, method: req.method!, query, ...t, perm: NO_PERM } as S3Ctx;
    const anonymous = !hasCredentials({ method: req.method!, rawPath, rawQuery, headers: req.headers });
    if (anonymous && op !== 'PostObject') {
      // No Authorization header, no presigned query: an anonymous principal; authorize() below
      // lets it through only where a policy or ACL makes the resource public.
      if (!t.bucketName || op === 'CreateBucket') throw new S3Error('AccessDenied', 'Access Denied: the request is anonymous (no Authorization header or presigned URL).');
      ctx.auth = ANONYMOUS_AUTH;
      ctx.body = () => {
        if (decoded) throw new Error('request body read twice');
        decoded = decodeBody(ANONYMOUS_AUTH, req.headers, req);
        return decoded;
      };
    } else if (op !== 'PostObject') {
      // The claimed key is read once, before verification (which is synchronous); one created on
      // another node moments ago may not be here yet, so a local miss asks the other nodes.
      const claimed = claimedAccessKeyId(req.headers.authorization, rawQuery);
      let entry = claimed ? await store.keys.getFresh('key', claimed) : undefined;
      if (entry?.deleted.v) entry = undefined;
      const auth = authenticate(
        { method: req.method!, rawPath, rawQuery, headers: req.headers },
        (id) => (entry && id === entry.id ? entry.secret : keySecret(store, id)),
        settings.region,
        Date.now(),
      );
      const key = requireUsableKey(entry && entry.id === auth.accessKeyId ? entry : await store.key(auth.accessKeyId), Date.now());
      ctx.auth = auth;
      authenticated = true;
      ctx.accessKey = key;
      ctx.body = () => {
        if (decoded) throw new Error('request body read twice');
        decoded = decodeBody(auth, req.headers, req);
        return decoded;
      };
    }
    if (t.bucketName && op !== 'CreateBucket' && op !== 'PostObject') {
      // A key's local alias (admin AddBucketAlias localAlias) comes before the global names.
      const local = ctx.accessKey && localAliasOf(ctx.accessKey, t.bucketName);
      const b = (local && (await store.bucketById(local))) || (await store.bucketByName(t.bucketName));
      if (!b) throw new S3Error('NoSuchBucket', 'The specified bucket does not exist', { BucketName: t.bucketName });
      ctx.bucket = b;
      ctx.perm = (ctx.accessKey && b.keys[ctx.accessKey.id]?.v) || NO_PERM;
      // CORS headers first: a browser can read a refusal only if it carries them too.
      applyCors(req, res, b);
      // The one decision (authz/decide.ts): explicit deny, then flags / policy / ACL, else deny.
      await authorize(ctx, op);
    }
    const h = HANDLERS[op];
    if (!h) throw new S3Error('NotImplemented', `${op} is not implemented`);
    if (awaitingContinue.delete(req)) res.writeContinue();
    await h(ctx);
  } catch (e) {
    const err = toS3Error(e);
    errorResponse(res, req, err, rawPath, requestId, authenticated, store.limits.object_bytes_max);
  } finally {
    const done = () => {
      apiRequests.inc({ api: 's3', op, status: String(res.statusCode) });
      apiDuration.observe({ api: 's3', op }, (performance.now() - started) / 1000);
    };
    if (res.writableFinished) done();
    else res.once('close', done);
  }
}
