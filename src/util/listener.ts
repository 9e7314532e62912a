// Limits every HTTP(S) listener shares: header and idle timeouts, keep-alive, and caps on open
// connections per listener and per client address, so no client can hold a node's sockets.
import type { Server as HttpServer } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import { listenerRefused } from './metrics.ts';
import { log } from './log.ts';

/** The client's address without the IPv4-mapped prefix. */
export function socketIp(s: Socket): string {
  return (s.remoteAddress ?? '').replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/, '');
}

/** Counts sockets per address; `admit` says whether one more is allowed and tracks its close. */
export class ConnectionCaps {
  private readonly perIp = new Map<string, number>();
  private total = 0;
  private refusedSinceLog = 0;
  private lastLog = 0;
  readonly name: string;
  readonly totalMax: number;
  readonly perIpMax: number;

  constructor(name: string, totalMax: number, perIpMax: number) {
    this.name = name;
    this.totalMax = totalMax;
    this.perIpMax = perIpMax;
  }

  get open(): number {
    return this.total;
  }

  /** Admits the socket (true) or destroys it (false); one log line per burst, not per socket. */
  admit(s: Socket): boolean {
    const ip = socketIp(s);
    const n = this.perIp.get(ip) ?? 0;
    if (this.total >= this.totalMax || n >= this.perIpMax) {
      s.destroy();
      listenerRefused.inc({ listener: this.name, reason: this.total >= this.totalMax ? 'total' : 'per_ip' });
      this.refusedSinceLog++;
      const now = Date.now();
      if (now - this.lastLog > 10_000) {
        log.warn({ listener: this.name, ip, refused: this.refusedSinceLog, open: this.total }, 'connections refused: limit reached');
        this.lastLog = now;
        this.refusedSinceLog = 0;
      }
      return false;
    }
    this.perIp.set(ip, n + 1);
    this.total++;
    s.once('close', () => {
      this.total--;
      const m = (this.perIp.get(ip) ?? 1) - 1;
      if (m <= 0) this.perIp.delete(ip);
      else this.perIp.set(ip, m);
    });
    return true;
  }
}

/** The listener part of the config's [limits] (util/ sits below config/, so the shape is restated). */
export interface ListenerLimits {
  http_headers_timeout_secs: number;
  http_idle_timeout_secs: number;
  http_keepalive_timeout_secs: number;
  http_connections_max: number;
  http_connections_per_ip_max: number;
}

/** Applies the shared limits to an HTTP or HTTPS server (call before listen). Bodies may stream for
 *  a long time over home uplinks, so there is no whole-request deadline: an idle timeout cuts
 *  connections that stop moving instead. */
export function guardListener(server: HttpServer | HttpsServer, limits: ListenerLimits, name: string): ConnectionCaps {
  server.headersTimeout = limits.http_headers_timeout_secs * 1000;
  server.requestTimeout = 0;
  server.keepAliveTimeout = Math.min(limits.http_keepalive_timeout_secs, limits.http_idle_timeout_secs) * 1000;
  // Without a 'timeout' listener Node destroys the idle socket, which is what we want.
  server.setTimeout(limits.http_idle_timeout_secs * 1000);
  const caps = new ConnectionCaps(name, limits.http_connections_max, limits.http_connections_per_ip_max);
  // 'connection' fires for the raw TCP socket, before any TLS handshake: refused sockets cost nothing.
  server.prependListener('connection', (s: Socket) => {
    caps.admit(s);
  });
  return caps;
}
