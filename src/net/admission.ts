// Admission on the RPC port: caps the sockets one address may hold and the sockets still in their
// handshake, and destroys any socket that has not proved a node key by the handshake deadline, so
// silent or slow strangers cannot pile up file descriptors. Refusals are logged once per burst.
import type { Socket } from 'node:net';
import { log } from '../util/log.ts';
import { limitRefused, listenerRefused } from '../util/metrics.ts';
import { holds } from '../util/assert.ts';
import { socketIp } from '../util/listener.ts';

export interface AdmissionLimits {
  /** Sockets accepted but not yet authenticated (TLS + hello), over all addresses. */
  pendingMax: number;
  /** Sockets (pending or authenticated) from one address. */
  perIpMax: number;
  /** From accept to a verified hello. */
  handshakeTimeoutMs: number;
}

/** Counts events and logs at most one line per interval, with how many happened since the last. */
export class BurstLog {
  private count = 0;
  private last = 0;
  private readonly msg: string;
  private readonly intervalMs: number;
  constructor(msg: string, intervalMs = 10_000) {
    this.msg = msg;
    this.intervalMs = intervalMs;
  }
  hit(fields: Record<string, unknown>): void {
    this.count++;
    const now = Date.now();
    if (now - this.last < this.intervalMs) return;
    log.warn({ ...fields, count: this.count, perSecs: Math.round(this.intervalMs / 1000) }, this.msg);
    this.last = now;
    this.count = 0;
  }
}

const keyOf = (s: { remoteAddress?: string; remotePort?: number }): string => `${s.remoteAddress ?? '?'}|${s.remotePort ?? 0}`;

interface Entry {
  raw: Socket;
  ip: string;
  timer: NodeJS.Timeout | undefined;
}

export class RpcAdmission {
  private readonly limits: AdmissionLimits;
  private readonly perIp = new Map<string, number>();
  /** Accepted sockets by "address|port" (unique while open), so the TLS socket finds its raw one. */
  private readonly entries = new Map<string, Entry>();
  private pendingCount = 0;
  private readonly refusedLog = new BurstLog('net: RPC connections refused at accept (limit reached)');
  private readonly timeoutLog = new BurstLog('net: RPC connections closed: no authenticated hello before the deadline');
  private readonly tlsLog = new BurstLog('net: RPC TLS handshakes refused (wrong rpc_secret, or not a Grenier node)');

  constructor(limits: AdmissionLimits) {
    this.limits = limits;
  }

  get pending(): number {
    return this.pendingCount;
  }

  get open(): number {
    return this.entries.size;
  }

  /** Called at accept, before any TLS byte is read: admits the socket (true) or destroys it. */
  admit(raw: Socket): boolean {
    const ip = socketIp(raw);
    const n = this.perIp.get(ip) ?? 0;
    const reason = n >= this.limits.perIpMax ? 'per_ip' : this.pendingCount >= this.limits.pendingMax ? 'pending' : undefined;
    if (reason) {
      raw.destroy();
      listenerRefused.inc({ listener: 'rpc', reason });
      limitRefused.inc({ limit: reason === 'per_ip' ? 'rpc_connections_per_ip_max' : 'rpc_pending_handshakes_max' });
      this.refusedLog.hit({ ip, reason, pending: this.pendingCount, fromIp: n });
      return false;
    }
    const key = keyOf(raw);
    const e: Entry = { raw, ip, timer: undefined };
    this.perIp.set(ip, n + 1);
    this.pendingCount++;
    this.entries.set(key, e);
    // Called from the listener's accept event: a broken bound closes this socket (its close
    // undoes the counts), it never throws.
    if (!holds(this.pendingCount <= this.limits.pendingMax && n + 1 <= this.limits.perIpMax, 'net: admitted sockets within their bounds', { pending: this.pendingCount, pendingMax: this.limits.pendingMax, fromIp: n + 1, perIpMax: this.limits.perIpMax })) raw.destroy();
    e.timer = setTimeout(() => {
      e.timer = undefined;
      limitRefused.inc({ limit: 'rpc_handshake_timeout_secs' });
      this.timeoutLog.hit({ ip });
      raw.destroy();
    }, this.limits.handshakeTimeoutMs);
    e.timer.unref();
    raw.once('close', () => {
      if (e.timer) {
        clearTimeout(e.timer);
        e.timer = undefined;
        this.unpend();
      }
      if (this.entries.get(key) === e) this.entries.delete(key);
      const from = this.perIp.get(ip);
      // Never clamped silently: an address with no count here is a bug, logged.
      if (!holds(from !== undefined && from >= 1, 'net: a closing socket was counted for its address', { ip, count: from })) return;
      if (from! <= 1) this.perIp.delete(ip);
      else this.perIp.set(ip, from! - 1);
    });
    return true;
  }

  /** The peer on this (TLS) socket proved its node key: it no longer counts as pending. */
  authenticated(s: { remoteAddress?: string; remotePort?: number }): void {
    const e = this.entries.get(keyOf(s));
    if (!e?.timer) return;
    clearTimeout(e.timer);
    e.timer = undefined;
    this.unpend();
  }

  /** One socket is no longer pending. A count below zero is a bug: logged, and taken again from
   *  the sockets still waiting for their hello. */
  private unpend(): void {
    this.pendingCount--;
    if (!holds(this.pendingCount >= 0, 'net: pending handshakes never negative', { pending: this.pendingCount }))
      this.pendingCount = [...this.entries.values()].filter((x) => x.timer !== undefined).length;
  }

  /** A TLS handshake failed: the socket is closed (Node leaves it open once we listen). */
  tlsFailed(err: Error, s: Socket): void {
    this.tlsLog.hit({ ip: socketIp(s), err: err.message });
    s.destroy();
  }
}
