// One authenticated connection to a peer: hello exchange, request multiplexing, and a sender
// that cuts big messages into chunks and interleaves them by priority so a block transfer never
// holds back a small RPC; it honours socket back-pressure and bounds what it queues.
import type { TLSSocket } from 'node:tls';
import type { KeyObject } from 'node:crypto';
import { log } from '../util/log.ts';
import { limitRefused } from '../util/metrics.ts';
import { InvariantError, invariant } from '../util/assert.ts';
import { signHello, verifyHello, type Role } from './auth.ts';
import {
  CHUNK_SIZE,
  FrameReader,
  MAX_MESSAGE,
  ProtocolError,
  T_CANCEL,
  T_HELLO,
  T_PING,
  T_PONG,
  T_REQ,
  T_RES,
  T_RETIRE,
  announcedProtocol,
  encodeFrame,
  incompatibility,
  packMessage,
  payloadBytes,
  packr,
  protocolOf,
  type Frame,
  type Hello,
  type ProtocolRange,
} from './protocol.ts';
import { NODE_ID_RE, NetError, type NodeId, type Priority } from './types.ts';

/** Beyond this many bytes of unfinished outgoing messages, new ones wait (their deadline still runs). */
export const MAX_QUEUED_BYTES = 64 * 1024 * 1024;
/** Partially received messages a peer may have open at once. */
const MAX_PARTIALS = 4096;
/**
 * Bytes of unfinished incoming messages. A well-behaved sender has at most its queue bound plus
 * one message unfinished (admission counts whole messages), so more is a misbehaving peer.
 */
const recvBytesMax = (messageMax: number): number => MAX_QUEUED_BYTES + 2 * messageMax;
/** Handlers running (or whose answer is still being sent) per connection; later requests wait. */
export const MAX_RUNNING_HANDLERS = 64;
/** Stop reading from a peer that has this many requests waiting for a handler slot. */
const PAUSE_READING_AT = 1024;
/** Pings awaiting their pong (older ones are forgotten: a pong that never comes must not pile up). */
const PINGS_OUTSTANDING_MAX = 16;
const SMOOTHING = 0.125; // TCP's SRTT gain

export const PRIORITIES: Record<Priority, number> = { high: 0, normal: 1, background: 2 };

/** What this process announces in its hellos (read once: the build's, or GRENIER_TEST_PROTOCOL). */
const ANNOUNCED: ProtocolRange = announcedProtocol();

/** One error line per incompatible peer and per 10 minutes (it redials; the log must stay readable). */
const INCOMPATIBLE_LOG_MS = 600_000;
const INCOMPATIBLE_LOG_PEERS_MAX = 256;
const incompatibleLogged = new Map<string, number>();
function logIncompatible(fields: Record<string, unknown>, key: string, why: string): void {
  const now = Date.now();
  const last = incompatibleLogged.get(key);
  if (last !== undefined && now - last < INCOMPATIBLE_LOG_MS) return;
  if (incompatibleLogged.size >= INCOMPATIBLE_LOG_PEERS_MAX) incompatibleLogged.clear();
  incompatibleLogged.set(key, now);
  log.error({ ...fields, why }, `net: refusing peer with an incompatible RPC protocol: ${why}`);
}

export interface Identity {
  id: NodeId;
  key: KeyObject;
  advertisedAddr: string | undefined;
  port: number;
  /** The protocol range to announce (default: this build's, see announcedProtocol). */
  protocol?: ProtocolRange;
}

export interface ConnHooks {
  onEstablished(conn: Conn): void;
  onClose(conn: Conn, err: Error | undefined): void;
  onRequest(conn: Conn, endpoint: string, msg: unknown): Promise<unknown>;
}

interface Outgoing {
  kind: typeof T_REQ | typeof T_RES;
  id: number;
  data: Buffer;
  offset: number;
  prio: number;
  state: 'waiting' | 'queued' | 'done';
  canceled: boolean;
}

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
  out: Outgoing;
  chunks: Buffer[];
  size: number;
}

interface Partial {
  chunks: Buffer[];
  size: number;
}

interface Inbound {
  id: number;
  endpoint: string;
  msg: unknown;
  prio: number;
  canceled: boolean;
  started: boolean;
  finished: boolean;
  out?: Outgoing;
}

export function formatAddr(host: string, port: number): string {
  const h = host.startsWith('::ffff:') && host.includes('.') ? host.slice(7) : host;
  return h.includes(':') ? `[${h}]:${port}` : `${h}:${port}`;
}

export class Conn {
  readonly role: Role;
  readonly socket: TLSSocket;
  /** "ip:port" of the other end, for logs. */
  readonly remote: string;
  /** Set once the peer proved its id. */
  peerId: NodeId | undefined;
  /** Where the peer says it can be dialed (or its IP + listening port). */
  peerAddr: string | undefined;
  state: 'hello' | 'open' | 'closed' = 'hello';
  /** We sent RETIRE: no new requests from us on this connection. */
  retiring = false;
  /** The peer sent RETIRE. */
  peerRetired = false;
  lastRecv = Date.now();
  srtt: number | undefined;
  closeError: Error | undefined;
  /** The protocol both ends speak on this connection (the lower of the two versions), once open. */
  protocol: number | undefined;

  private readonly me: Identity;
  private readonly expectedId: NodeId | undefined;
  private readonly hooks: ConnHooks;
  private readonly reader = new FrameReader();
  private helloTimer: NodeJS.Timeout | undefined;
  private retireTimer: NodeJS.Timeout | undefined;
  private nextReqId = 1;
  private nextNonce = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly partials = new Map<number, Partial>();
  private readonly inflight = new Map<number, Inbound>();
  private readonly waitingReqs: Inbound[] = [];
  private running = 0;
  private recvBytes = 0;
  private readingPaused = false;
  private readonly pings = new Map<number, number>();
  private readonly control: Buffer[] = [];
  private readonly queues: Outgoing[][] = [[], [], []];
  private readonly admitQueue: Outgoing[] = [];
  private queuedBytes = 0;
  private waitingDrain = false;
  private pumping = false;

  private readonly dialedAddr: string | undefined;
  /** Largest message (request or response) accepted or sent; bigger ones are refused as they arrive. */
  private readonly messageMax: number;
  private readonly recvMax: number;
  /** Requests refused for their size: the rest of their chunks is dropped, the final one answered. */
  private readonly discarding = new Set<number>();

  constructor(
    socket: TLSSocket,
    role: Role,
    me: Identity,
    hooks: ConnHooks,
    expectedId: NodeId | undefined,
    helloTimeoutMs: number,
    dialedAddr?: string,
    messageMax: number = MAX_MESSAGE,
  ) {
    this.socket = socket;
    this.messageMax = messageMax;
    this.recvMax = recvBytesMax(messageMax);
    this.dialedAddr = dialedAddr;
    this.role = role;
    this.me = me;
    this.hooks = hooks;
    this.expectedId = expectedId;
    this.remote = formatAddr(socket.remoteAddress ?? '?', socket.remotePort ?? 0);
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 30_000);
    socket.on('data', (d: Buffer) => this.onData(d));
    socket.on('error', (e) => {
      this.closeError ??= e;
    });
    socket.on('close', () => this.onSocketClose());
    socket.on('drain', () => {
      this.waitingDrain = false;
      this.pump();
    });
    this.helloTimer = setTimeout(() => this.fail(new Error('no valid hello before the deadline')), helloTimeoutMs);
    const proto = me.protocol ?? ANNOUNCED;
    const hello: Hello = {
      v: proto.v,
      min: proto.min,
      id: me.id,
      addr: me.advertisedAddr,
      port: me.port,
      sig: signHello(socket, role, me.key),
    };
    this.control.push(encodeFrame({ t: T_HELLO, hello }));
    this.pump();
  }

  get dialer(): NodeId | undefined {
    return this.role === 'client' ? this.me.id : this.peerId;
  }

  /** Closes the connection, logging why when it is the peer's fault. */
  fail(err: Error): void {
    if (this.state === 'closed') return;
    log.warn({ peer: this.remote, node: this.peerId?.slice(0, 16), err: err.message }, 'net: closing connection');
    this.closeError ??= err;
    this.socket.destroy();
  }

  close(reason?: Error): void {
    if (this.state === 'closed') return;
    this.closeError ??= reason;
    this.socket.destroy();
  }

  /**
   * Stop using this duplicate connection. It ends once both sides retired it and nothing is in
   * flight: requests the peer sent before its RETIRE reached us before it, so none is lost.
   */
  retire(maxWaitMs: number): void {
    if (this.retiring || this.state === 'closed') return;
    this.retiring = true;
    // If the peer never agrees (it kept this one), give up on it after every call could have finished.
    this.retireTimer = setTimeout(() => this.close(new Error('retired')), maxWaitMs);
    this.retireTimer.unref();
    this.control.push(encodeFrame({ t: T_RETIRE }));
    this.pump();
  }

  private checkRetired(): void {
    if (!this.retiring || !this.peerRetired || this.state === 'closed') return;
    if (this.pending.size || this.inflight.size || this.running || this.control.length || this.queues.some((q) => q.length)) return;
    this.socket.end();
  }

  ping(): void {
    if (this.state !== 'open') return;
    const nonce = this.nextNonce++;
    this.pings.set(nonce, performance.now());
    // Pongs that never come must not pile up.
    if (this.pings.size > PINGS_OUTSTANDING_MAX) this.pings.delete(this.pings.keys().next().value!);
    this.control.push(encodeFrame({ t: T_PING, nonce }));
    this.guard(() => this.check(this.pings.size <= PINGS_OUTSTANDING_MAX, 'net: outstanding pings within their bound', { pings: this.pings.size }));
    this.pump();
  }

  call(endpoint: string, msg: unknown, timeoutMs: number, priority: Priority): Promise<unknown> {
    if (this.state !== 'open') return Promise.reject(new NetError('ConnectionClosed', `connection to ${this.peerId} is closed`));
    let data: Buffer;
    try {
      data = packMessage([endpoint, PRIORITIES[priority], msg], payloadBytes(msg));
    } catch (e) {
      return Promise.reject(new NetError('BadMessage', `cannot encode message: ${(e as Error).message}`));
    }
    if (data.length > this.messageMax) return Promise.reject(new NetError('TooLarge', `message of ${data.length} bytes exceeds ${this.messageMax}`));
    const id = this.nextReqId++;
    const out: Outgoing = { kind: T_REQ, id, data, offset: 0, prio: PRIORITIES[priority], state: 'waiting', canceled: false };
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        const p = this.pending.get(id);
        this.pending.delete(id);
        reject(new NetError('Timeout', `${endpoint} to ${this.peerId?.slice(0, 16)}: no answer within ${timeoutMs} ms`));
        this.guard(() => {
          if (p) this.unreceive(p.size);
          this.cancelOut(out, true);
          this.checkRetired();
        });
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer, out, chunks: [], size: 0 });
      try {
        this.enqueue(out);
      } catch (e) {
        if (!(e instanceof InvariantError)) throw e;
        // The caller learns the real reason (a bug here: 500), then the connection closes.
        clearTimeout(timer);
        this.pending.delete(id);
        reject(e);
        this.broken(e);
      }
    });
  }

  // ---- receiving ----

  private onData(d: Buffer): void {
    if (this.socket.destroyed) return;
    this.lastRecv = Date.now();
    let frames: Frame[];
    try {
      frames = this.reader.push(d);
    } catch (e) {
      this.fail(e as Error);
      return;
    }
    for (const f of frames) {
      if (this.socket.destroyed) return;
      try {
        this.onFrame(f);
      } catch (e) {
        this.fail(e instanceof ProtocolError || e instanceof InvariantError ? e : new ProtocolError(`while handling frame: ${(e as Error).message}`));
        return;
      }
    }
  }

  private onFrame(f: Frame): void {
    if (this.state === 'hello') {
      if (f.t !== T_HELLO) throw new ProtocolError('expected hello');
      this.onHello(f.hello);
      return;
    }
    switch (f.t) {
      case T_HELLO:
        throw new ProtocolError('second hello');
      case T_REQ:
        this.onReqChunk(f.id, f.final, f.data);
        return;
      case T_RES:
        this.onResChunk(f.id, f.final, f.data);
        return;
      case T_PING:
        this.control.push(encodeFrame({ t: T_PONG, nonce: f.nonce }));
        this.pump();
        return;
      case T_PONG: {
        const sent = this.pings.get(f.nonce);
        if (sent === undefined) return;
        this.pings.delete(f.nonce);
        const rtt = performance.now() - sent;
        this.srtt = this.srtt === undefined ? rtt : this.srtt + SMOOTHING * (rtt - this.srtt);
        return;
      }
      case T_RETIRE:
        this.peerRetired = true;
        this.checkRetired();
        return;
      case T_CANCEL: {
        this.discarding.delete(f.id);
        const part = this.partials.get(f.id);
        if (part) {
          this.unreceive(part.size);
          this.partials.delete(f.id);
        }
        const h = this.inflight.get(f.id);
        if (h) {
          h.canceled = true;
          this.inflight.delete(f.id);
          if (h.out) {
            this.cancelOut(h.out, false);
            this.finish(h);
          }
          // A running handler finishes on its own; a waiting one is skipped when its turn comes.
          this.checkRetired();
        }
        return;
      }
    }
  }

  private onHello(h: Hello): void {
    const peerRole: Role = this.role === 'client' ? 'server' : 'client';
    if (!NODE_ID_RE.test(h.id) || !verifyHello(this.socket, peerRole, h.id, h.sig))
      throw new ProtocolError(`hello claiming node ${h.id.slice(0, 64)} has no valid signature (forged id or replayed signature)`);
    if (h.id === this.me.id) {
      this.closeError = new NetError('Self', 'connected to ourselves');
      this.socket.destroy();
      return;
    }
    if (this.expectedId !== undefined && h.id !== this.expectedId) {
      this.fail(new NetError('WrongPeer', `expected node ${this.expectedId.slice(0, 16)}, peer proved ${h.id.slice(0, 16)}`));
      return;
    }
    // After the signature: only a proven member of the cluster gets this far, so the log line is about a real node.
    const mine = this.me.protocol ?? ANNOUNCED;
    const theirs = protocolOf(h);
    const why = incompatibility(mine, theirs);
    if (why !== undefined) {
      const addr = h.addr ?? this.dialedAddr ?? this.remote;
      logIncompatible({ peer: addr, node: h.id.slice(0, 16), peerProtocol: theirs, protocol: mine }, `${h.id}|${theirs.v}|${theirs.min}`, why);
      this.closeError = new NetError('IncompatibleProtocol', `node ${h.id.slice(0, 16)} at ${addr}: ${why}`);
      this.socket.destroy();
      return;
    }
    this.protocol = Math.min(mine.v, theirs.v);
    clearTimeout(this.helloTimer);
    this.peerId = h.id;
    // The peer's advertised address wins; else the address we dialed; else its IP + listening port.
    this.peerAddr = h.addr ?? this.dialedAddr ?? (this.socket.remoteAddress ? formatAddr(this.socket.remoteAddress, h.port) : undefined);
    this.state = 'open';
    this.hooks.onEstablished(this);
  }

  private gather(map: Map<number, Partial>, id: number, data: Buffer): Partial {
    let p = map.get(id);
    if (!p) {
      if (map.size >= MAX_PARTIALS) throw new ProtocolError('too many partial messages');
      p = { chunks: [], size: 0 };
      map.set(id, p);
    }
    p.size += data.length;
    this.recvBytes += data.length;
    if (this.recvBytes > this.recvMax) throw new ProtocolError(`more than ${this.recvMax} bytes of unfinished messages`);
    p.chunks.push(data);
    return p;
  }

  private onReqChunk(id: number, final: boolean, data: Buffer): void {
    if (this.inflight.has(id)) throw new ProtocolError(`request id ${id} reused while in flight`);
    if (this.discarding.has(id)) {
      if (final) this.refuseRequest(id, 'TooLarge', `request larger than ${this.messageMax} bytes (limits.rpc_message_bytes_max)`);
      return;
    }
    const p = this.gather(this.partials, id, data);
    if (p.size > this.messageMax) {
      // Refused before it is joined or decoded; the sender learns why instead of losing the connection.
      this.partials.delete(id);
      this.unreceive(p.size);
      limitRefused.inc({ limit: 'rpc_message_bytes_max' });
      if (final) this.refuseRequest(id, 'TooLarge', `request larger than ${this.messageMax} bytes (limits.rpc_message_bytes_max)`);
      else {
        if (this.discarding.size >= MAX_PARTIALS) throw new ProtocolError('too many refused messages in flight');
        this.discarding.add(id);
      }
      return;
    }
    if (!final) return;
    this.partials.delete(id);
    this.unreceive(p.size);
    let v: unknown;
    try {
      v = packr.unpack(p.chunks.length === 1 ? p.chunks[0]! : Buffer.concat(p.chunks));
    } catch (e) {
      throw new ProtocolError(`bad request body: ${(e as Error).message}`);
    }
    if (!Array.isArray(v) || v.length !== 3 || typeof v[0] !== 'string' || ![0, 1, 2].includes(v[1] as number))
      throw new ProtocolError('bad request envelope');
    const [endpoint, prio, msg] = v as [string, number, unknown];
    const entry: Inbound = { id, endpoint, msg, prio, canceled: false, started: false, finished: false };
    this.inflight.set(id, entry);
    this.waitingReqs.push(entry);
    this.startHandlers();
    if (this.waitingReqs.length >= PAUSE_READING_AT && !this.readingPaused) {
      // TCP back-pressure on a peer that sends requests faster than we serve them.
      this.readingPaused = true;
      this.socket.pause();
    }
  }

  /** Answers a request with an error without running a handler. */
  private refuseRequest(id: number, code: string, message: string): void {
    this.discarding.delete(id);
    const entry: Inbound = { id, endpoint: '', msg: undefined, prio: PRIORITIES.normal, canceled: false, started: true, finished: false };
    this.inflight.set(id, entry);
    this.running++;
    entry.out = { kind: T_RES, id, data: packr.pack([0, { message, code }]), offset: 0, prio: entry.prio, state: 'waiting', canceled: false };
    this.enqueue(entry.out);
  }

  private startHandlers(): void {
    while (this.running < MAX_RUNNING_HANDLERS && this.waitingReqs.length) {
      const e = this.waitingReqs.shift()!;
      if (e.canceled) continue;
      e.started = true;
      this.running++;
      this.check(this.running <= MAX_RUNNING_HANDLERS, 'net: running handlers within their bound', { running: this.running, max: MAX_RUNNING_HANDLERS });
      this.runHandler(e);
    }
    if (this.readingPaused && this.waitingReqs.length < PAUSE_READING_AT / 4 && this.state !== 'closed') {
      this.readingPaused = false;
      this.socket.resume();
    }
  }

  /** The handler slot is free once its answer is fully on the wire (or will never be). */
  private finish(e: Inbound): void {
    if (e.finished || !e.started) return;
    e.finished = true;
    if (this.state === 'closed') return; // counters were reset on close
    if (this.inflight.get(e.id) === e) this.inflight.delete(e.id);
    this.running--;
    this.check(this.running >= 0, 'net: running handlers never negative', { running: this.running });
    this.startHandlers();
    this.checkRetired();
  }

  private runHandler(entry: Inbound): void {
    const { id, endpoint, msg, prio } = entry;
    entry.msg = undefined;
    const reply = (body: unknown[]): void => this.guard(() => send(body));
    const send = (body: unknown[]): void => {
      if (entry.canceled || this.state === 'closed') return this.finish(entry);
      let out: Buffer;
      try {
        out = packMessage(body, payloadBytes(body[1]));
      } catch (e) {
        out = packr.pack([0, { message: `cannot encode response: ${(e as Error).message}`, code: 'BadResponse' }]);
      }
      if (out.length > this.messageMax) out = packr.pack([0, { message: `response of ${out.length} bytes is too large`, code: 'TooLarge' }]);
      entry.out = { kind: T_RES, id, data: out, offset: 0, prio, state: 'waiting', canceled: false };
      this.enqueue(entry.out);
    };
    let p2: Promise<unknown>;
    try {
      p2 = this.hooks.onRequest(this, endpoint, msg);
    } catch (e) {
      p2 = Promise.reject(e);
    }
    p2.then(
      (value) => reply([1, value]),
      (e: unknown) => {
        const err = e as { message?: unknown; code?: unknown };
        const message = e instanceof Error ? e.message : typeof err?.message === 'string' ? err.message : String(e);
        const code = err && typeof err === 'object' && err.code !== undefined ? String(err.code) : 'RemoteError';
        reply([0, { message, code }]);
      },
    );
  }

  private onResChunk(id: number, final: boolean, data: Buffer): void {
    const pend = this.pending.get(id);
    if (!pend) return; // late answer to a call that timed out: dropped
    pend.size += data.length;
    this.recvBytes += data.length;
    if (pend.size > this.messageMax) {
      // The rest of this answer is dropped as it arrives (the call is no longer pending).
      this.pending.delete(id);
      this.unreceive(pend.size);
      clearTimeout(pend.timer);
      limitRefused.inc({ limit: 'rpc_message_bytes_max' });
      pend.reject(new NetError('TooLarge', `response larger than ${this.messageMax} bytes (limits.rpc_message_bytes_max)`));
      this.checkRetired();
      return;
    }
    if (this.recvBytes > this.recvMax) throw new ProtocolError(`more than ${this.recvMax} bytes of unfinished messages`);
    pend.chunks.push(data);
    if (!final) return;
    this.pending.delete(id);
    this.unreceive(pend.size);
    clearTimeout(pend.timer);
    let v: unknown;
    try {
      v = packr.unpack(pend.chunks.length === 1 ? pend.chunks[0]! : Buffer.concat(pend.chunks));
    } catch (e) {
      pend.reject(new NetError('BadResponse', 'undecodable response'));
      throw new ProtocolError(`bad response body: ${(e as Error).message}`);
    }
    if (!Array.isArray(v) || v.length !== 2 || (v[0] !== 0 && v[0] !== 1)) {
      pend.reject(new NetError('BadResponse', 'malformed response'));
      throw new ProtocolError('bad response envelope');
    }
    if (v[0] === 1) pend.resolve(v[1]);
    else {
      const e = v[1] as { message?: unknown; code?: unknown } | null;
      pend.reject(new NetError(typeof e?.code === 'string' ? e.code : 'RemoteError', typeof e?.message === 'string' ? e.message : 'remote error', true));
    }
    this.checkRetired();
  }

  // ---- sending ----

  private enqueue(out: Outgoing): void {
    if (this.state === 'closed') return;
    if (this.admitQueue.length === 0 && (this.queuedBytes === 0 || this.queuedBytes + out.data.length <= MAX_QUEUED_BYTES)) this.admit(out);
    else this.admitQueue.push(out);
    this.pump();
  }

  private admit(out: Outgoing): void {
    out.state = 'queued';
    this.queuedBytes += out.data.length;
    // One message larger than the bound is admitted alone (an empty queue takes anything).
    this.check(this.queuedBytes <= Math.max(MAX_QUEUED_BYTES, out.data.length), 'net: queued bytes within their bound', { queued: this.queuedBytes, max: MAX_QUEUED_BYTES, message: out.data.length });
    this.queues[out.prio]!.push(out);
  }

  private admitWaiting(): void {
    while (this.admitQueue.length) {
      const out = this.admitQueue[0]!;
      if (out.canceled) {
        this.admitQueue.shift();
        continue;
      }
      if (this.queuedBytes !== 0 && this.queuedBytes + out.data.length > MAX_QUEUED_BYTES) return;
      this.admitQueue.shift();
      this.admit(out);
    }
  }

  /** Withdraws what is left of a message; tells the peer if it had seen part of it. */
  private cancelOut(out: Outgoing, notify: boolean): void {
    if (out.canceled) return;
    out.canceled = true;
    if (out.state === 'queued') this.unqueue(out.data.length);
    const seen = out.offset > 0;
    out.state = 'done';
    this.admitWaiting();
    if (notify && seen && this.state === 'open') {
      this.control.push(encodeFrame({ t: T_CANCEL, id: out.id }));
      this.pump();
    }
  }

  private nextFrame(): Buffer | undefined {
    if (this.control.length) return this.control.shift();
    if (this.state !== 'open') return undefined; // nothing but the hello before authentication
    for (const q of this.queues) {
      while (q.length) {
        const out = q.shift()!;
        if (out.canceled) continue;
        const end = Math.min(out.offset + CHUNK_SIZE, out.data.length);
        const chunk = out.data.subarray(out.offset, end);
        out.offset = end;
        const final = end === out.data.length;
        // Round-robin within a priority: a big message yields after every chunk.
        if (final) {
          out.state = 'done';
          this.unqueue(out.data.length);
          this.admitWaiting();
          if (out.kind === T_RES) {
            const e = this.inflight.get(out.id);
            if (e?.out === out) this.finish(e);
          }
        } else q.push(out);
        return encodeFrame({ t: out.kind, id: out.id, final, data: chunk });
      }
    }
    return undefined;
  }

  private pump(): void {
    if (this.pumping || this.waitingDrain || this.state === 'closed') return;
    this.pumping = true;
    try {
      for (;;) {
        const f = this.nextFrame();
        if (!f) break;
        if (!this.socket.write(f)) {
          this.waitingDrain = true;
          break;
        }
      }
    } catch (e) {
      // Called from socket events and timers too: a broken invariant closes the connection here.
      if (!this.broken(e)) throw e;
    } finally {
      this.pumping = false;
    }
    this.checkRetired();
  }

  // ---- bounds ----

  /** An invariant of this connection's bookkeeping (its queues and counters). */
  private check(cond: boolean, what: string, details: Record<string, unknown>): void {
    invariant(cond, what, { peer: this.peerId?.slice(0, 16) ?? this.remote, ...details });
  }

  /** A broken invariant means this connection's counters are wrong: it is closed (the close resets
   *  them; its calls fail as on any lost connection), never the process. False for other errors. */
  private broken(e: unknown): boolean {
    if (!(e instanceof InvariantError)) return false;
    this.fail(e);
    return true;
  }

  /** Runs `fn` where nothing may throw (timers, promise callbacks): a broken invariant closes the connection. */
  private guard(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      if (!this.broken(e)) throw e;
    }
  }

  private unqueue(bytes: number): void {
    this.queuedBytes -= bytes;
    this.check(this.queuedBytes >= 0, 'net: queued bytes never negative', { queued: this.queuedBytes, bytes });
  }

  private unreceive(bytes: number): void {
    this.recvBytes -= bytes;
    this.check(this.recvBytes >= 0, 'net: bytes of unfinished incoming messages never negative', { recv: this.recvBytes, bytes });
  }

  private onSocketClose(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    clearTimeout(this.helloTimer);
    clearTimeout(this.retireTimer);
    const why = this.closeError?.message ?? 'closed by peer';
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(new NetError('ConnectionClosed', `connection to ${this.peerId?.slice(0, 16) ?? this.remote} lost: ${why}`));
    }
    this.pending.clear();
    this.partials.clear();
    this.discarding.clear();
    for (const h of this.inflight.values()) h.canceled = true;
    this.inflight.clear();
    this.waitingReqs.length = 0;
    this.running = 0;
    this.recvBytes = 0;
    this.queues.forEach((q) => (q.length = 0));
    this.admitQueue.length = 0;
    this.control.length = 0;
    this.queuedBytes = 0;
    this.hooks.onClose(this, this.closeError);
  }
}
