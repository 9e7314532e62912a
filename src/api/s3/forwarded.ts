// Where a request really came from: {secure, clientIp}. The HTTPS front hands S3 requests to this
// server in-process (front/server.ts dispatch → deps.s3), so the socket is the client's own: TLS
// there means TLS to the client, its peer is the client. X-Forwarded-* are never believed here: a
// client talking straight to the S3 port can send them, and the front's own copies add nothing.
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { socketIp } from '../../util/listener.ts';

export interface RequestOrigin {
  /** The client's connection is TLS (through the front, or a TLS listener). */
  secure: boolean;
  /** The client's address ('' when the socket has none, e.g. a test's fake request). */
  clientIp: string;
}

export function requestOrigin(req: IncomingMessage): RequestOrigin {
  const sock = req.socket as TLSSocket | undefined;
  return { secure: sock?.encrypted === true, clientIp: sock?.remoteAddress ? socketIp(sock) : '' };
}

/** The scheme of absolute URLs the S3 API builds for this request (CompleteMultipartUpload's and
 *  PostObject's Location): what the client's own connection is, never a header it sent. */
export function requestScheme(req: IncomingMessage): 'https' | 'http' {
  return requestOrigin(req).secure ? 'https' : 'http';
}
