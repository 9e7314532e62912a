// The node's view of its peers: listens and dials, keeps exactly one connection per peer,
// reconnects with backoff, pings for RTT and liveness, and gossips peer lists so a node
// that knows one bootstrap peer ends up connected to the whole cluster.
import * as tls from 'node:tls';
import type { Socket, AddressInfo } from 'node:net';
import type { KeyObject } from 'node:crypto';
import { log } from '../util/log.ts';
import { splitAddr } from '../config/config.ts';
import { clientTlsOptions, derivePsk, idFromPrivateKey, loadPrivateKey, serverTlsOptions } from './auth.ts';
import { Conn, formatAddr, type ConnHooks, type Identity } from './conn.ts';
import { BurstLog, RpcAdmission } from './admission.ts';
import { MAX_MESSAGE } from './protocol.ts';
import { limitRefused } from '../util/metrics.ts';
import { holds } from '../util/assert.ts';
import { NODE_ID_RE, NetError, type CallOptions, type Handler, type NetOptions, type NodeId, type PeerInfo } from './types.ts';

const GOSSIP_ENDPOINT = '__net/peers';
const GOSSIP_FANOUT = 3;
/** A peer heard of only through gossip that was never reached after this many dials is forgotten. */
const GOSSIP_DIALS_MAX = 8;
/** A peer silent for this many ping intervals is considered gone. */
const MISSED_PINGS = 4;
/** A call to a known peer without a connection waits this long at most for one dial. */
const REDIAL_WAIT_MS = 3_000;
/** At most one such dial per peer this often, so calls to a dead node fail fast and never storm it. */
const REDIAL_MIN_INTERVAL_MS = 1_000;

interface Peer {
  id: NodeId;
  addr: string | undefined;
  conn: Conn | undefined;
  attempts: number;
  timer: NodeJS.Timeout | undefined;
  dialing: boolean;
  rttMs: number | undefined;
  lastSeen: number | undefined;
  lastError: string | undefined;
  /** Where we first heard of it: only gossip-learned peers may be forgotten. */
  source: 'config' | 'hello' | 'gossip';
  everUp: boolean;
  /** When a call last started a dial to it (see callAfterRedial). */
  lastRedial?: number;
}

interface AnonPeer {
  attempts: number;
  timer: NodeJS.Timeout | undefined;
  dialing: boolean;
}

type Event = 'peer-up' | 'peer-down';

/** Parses "id@host:port" or "host:port". */
export function parsePeerAddr(s: string): { id: NodeId | undefined; addr: string } {
  const at = s.indexOf('@');
  const id = at >= 0 ? s.slice(0, at).toLowerCase() : undefined;
  const addr = at >= 0 ? s.slice(at + 1) : s;
  if (id !== undefined && !NODE_ID_RE.test(id)) throw new NetError('BadAddress', `bad node id in ${JSON.stringify(s)}`);
  validAddr(addr, s);
  return { id, addr };
}

function validAddr(addr: string, what: string): void {
  const { host, port } = splitAddr(addr);
  if (!host || !Number.isInteger(port) || port <= 0 || port > 65535) throw new NetError('BadAddress', `bad address ${JSON.stringify(what)}`);
}

const isWildcard = (host: string): boolean => host === '' || host === '::' || host === '0.0.0.0';

export class NetApp {
  readonly id: NodeId;
  private readonly key: KeyObject;
  private readonly psk: Buffer;
  private readonly opts: NetOptions;
  private readonly pingIntervalMs: number;
  private readonly gossipIntervalMs: number;
  private readonly reconnectMinMs: number;
  private readonly reconnectMaxMs: number;
  private readonly handshakeTimeoutMs: number;
  private readonly defaultTimeoutMs: number;
  private readonly messageBytesMax: number;
  private readonly knownPeersMax: number;
  private readonly admission: RpcAdmission;
  private readonly peersFullLog = new BurstLog('net: gossiped peers ignored: limits.rpc_known_peers_max reached');
  private readonly handlers = new Map<string, Handler>();
  private readonly peerMap = new Map<NodeId, Peer>();
  private readonly anon = new Map<string, AnonPeer>();
  private readonly dials = new Map<string, Promise<NodeId>>();
  private readonly dialWaiters = new Map<Conn, { resolve: (id: NodeId) => void; reject: (e: Error) => void }>();
  private readonly conns = new Set<Conn>();
  private readonly rawSockets = new Set<Socket>();
  private readonly listeners: Record<Event, ((id: NodeId) => void)[]> = { 'peer-up': [], 'peer-down': [] };
  private readonly hooks: ConnHooks;
  private server: tls.Server | undefined;
  private identity: Identity | undefined;
  private timers: NodeJS.Timeout[] = [];
  private lastTick = Date.now();
  private stopped = false;

  constructor(opts: NetOptions) {
    this.opts = opts;
    this.key = loadPrivateKey(opts.nodeKeyPem);
    this.id = idFromPrivateKey(this.key);
    this.psk = derivePsk(opts.rpcSecret);
    this.pingIntervalMs = opts.pingIntervalMs ?? 10_000;
    this.gossipIntervalMs = opts.gossipIntervalMs ?? 30_000;
    this.reconnectMinMs = opts.reconnectMinMs ?? 1_000;
    // A peer back from a partition or a restart is redialled within 10 s (both sides dial, so
    // usually sooner): with 60 s, the 30-minute fault run (seed 16180) saw a node still not
    // reconnected 60 s after healing. A dial to a down peer is one SYN: cheap at 11 nodes.
    this.reconnectMaxMs = opts.reconnectMaxMs ?? 10_000;
    this.handshakeTimeoutMs = opts.handshakeTimeoutMs ?? 10_000;
    this.defaultTimeoutMs = opts.defaultTimeoutMs ?? 30_000;
    this.messageBytesMax = opts.messageBytesMax ?? MAX_MESSAGE;
    this.knownPeersMax = opts.knownPeersMax ?? 256;
    this.admission = new RpcAdmission({
      pendingMax: opts.pendingHandshakesMax ?? 64,
      perIpMax: opts.connectionsPerIpMax ?? 16,
      handshakeTimeoutMs: this.handshakeTimeoutMs,
    });
    if (opts.publicAddr !== undefined) validAddr(opts.publicAddr, opts.publicAddr);
    this.hooks = {
      onEstablished: (c) => this.onEstablished(c),
      onClose: (c, e) => this.onClose(c, e),
      onRequest: (c, endpoint, msg) => this.dispatch(c.peerId!, endpoint, msg),
    };
    this.handlers.set(GOSSIP_ENDPOINT, async (from, _e, msg) => {
      this.mergeGossip(msg);
      return this.gossipList(from);
    });
  }

  async start(): Promise<void> {
    if (this.server) throw new Error('net: already started');
    const server = tls.createServer({ ...serverTlsOptions(this.psk), handshakeTimeout: this.handshakeTimeoutMs });
    this.server = server;
    // 'connection' is the raw TCP socket, before any TLS byte: refusals cost nothing, and the
    // admission deadline (TLS + hello from accept) is what closes silent or slow strangers.
    server.on('connection', (s: Socket) => {
      if (this.stopped) return void s.destroy();
      if (!this.admission.admit(s)) return;
      this.rawSockets.add(s);
      s.once('close', () => this.rawSockets.delete(s));
    });
    server.on('tlsClientError', (err, s) => this.admission.tlsFailed(err, s));
    server.on('secureConnection', (s: tls.TLSSocket) => {
      if (this.stopped) return void s.destroy();
      // The admission deadline runs from accept and fires first; this one is only a backstop.
      this.conns.add(new Conn(s, 'server', this.identity!, this.hooks, undefined, this.handshakeTimeoutMs + 1000, undefined, this.messageBytesMax));
    });
    const { host, port } = splitAddr(this.opts.bindAddr);
    await new Promise<void>((resolve, reject) => {
      server.once('error', (e) => reject(new Error(`net: cannot listen on ${this.opts.bindAddr}: ${(e as NodeJS.ErrnoException).code ?? e}`)));
      server.listen(port, host, () => resolve());
    });
    server.on('error', (e) => log.error({ err: e }, 'net: listener error'));
    const actual = this.address();
    this.identity = {
      id: this.id,
      key: this.key,
      advertisedAddr: this.opts.publicAddr ?? (isWildcard(host) ? undefined : formatAddr(host, actual.port)),
      port: actual.port,
    };
    for (const entry of this.opts.bootstrapPeers) {
      let parsed;
      try {
        parsed = parsePeerAddr(entry);
      } catch (e) {
        log.warn({ entry, err: (e as Error).message }, 'net: ignoring bad bootstrap peer');
        continue;
      }
      if (parsed.id === this.id) continue;
      if (parsed.id) this.learnAddr(parsed.id, parsed.addr, 'config');
      else if (!this.anon.has(parsed.addr)) {
        this.anon.set(parsed.addr, { attempts: 0, timer: undefined, dialing: false });
        this.dialAnon(parsed.addr, 0);
      }
    }
    this.lastTick = Date.now();
    const tick = setInterval(() => this.tick(), this.pingIntervalMs);
    const gossip = setInterval(() => this.gossipRound(), this.gossipIntervalMs);
    tick.unref();
    gossip.unref();
    this.timers.push(tick, gossip);
    log.info({ node: this.id.slice(0, 16), addr: formatAddr(actual.host, actual.port) }, 'net: listening');
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    for (const p of this.peerMap.values()) clearTimeout(p.timer);
    for (const a of this.anon.values()) clearTimeout(a.timer);
    const closed = this.server ? new Promise<void>((r) => this.server!.close(() => r())) : Promise.resolve();
    for (const c of [...this.conns]) c.close(new NetError('Stopped', 'node stopping'));
    for (const s of this.rawSockets) s.destroy();
    let t: NodeJS.Timeout | undefined;
    await Promise.race([closed, new Promise<void>((r) => (t = setTimeout(r, 2_000)))]);
    clearTimeout(t);
  }

  address(): { host: string; port: number } {
    const a = this.server?.address() as AddressInfo | null | undefined;
    if (!a) throw new Error('net: not listening');
    return { host: a.address, port: a.port };
  }

  register(endpoint: string, h: Handler): void {
    if (this.handlers.has(endpoint)) throw new Error(`net: endpoint ${endpoint} already has a handler`);
    this.handlers.set(endpoint, h);
  }

  on(event: Event, cb: (id: NodeId) => void): void {
    this.listeners[event].push(cb);
  }

  call(to: NodeId, endpoint: string, msg: unknown, opts: CallOptions = {}): Promise<unknown> {
    const timeoutMs = opts.timeoutMs ?? this.defaultTimeoutMs;
    if (this.stopped) return Promise.reject(new NetError('Stopped', 'node is stopping'));
    if (to === this.id) return this.callSelf(endpoint, msg, timeoutMs);
    const peer = this.peerMap.get(to);
    const conn = peer?.conn;
    if (conn?.state === 'open') return conn.call(endpoint, msg, timeoutMs, opts.priority ?? 'normal');
    if (!peer?.addr || !this.identity) return Promise.reject(new NetError('NoConnection', `not connected to ${to.slice(0, 16)}`));
    return this.callAfterRedial(peer, endpoint, msg, timeoutMs, opts.priority ?? 'normal');
  }

  /** A known peer without a connection was usually paused, restarted, or dropped us a moment ago
   *  (its connection closed while this node was itself paused): one dial brings it back. Waiting
   *  for that dial (bounded by REDIAL_WAIT_MS and the call's deadline) turns what would be a failed
   *  quorum right after a pause into a slightly slower call. */
  private async callAfterRedial(peer: Peer, endpoint: string, msg: unknown, timeoutMs: number, priority: NonNullable<CallOptions['priority']>): Promise<unknown> {
    const started = Date.now();
    const id = peer.id.slice(0, 16);
    let dial = this.dials.get(peer.addr!);
    if (!dial) {
      if (started - (peer.lastRedial ?? 0) < REDIAL_MIN_INTERVAL_MS) throw new NetError('NoConnection', `not connected to ${id}`);
      peer.lastRedial = started;
      clearTimeout(peer.timer);
      peer.timer = undefined;
      peer.dialing = true;
      dial = this.dial(peer.addr!, peer.id);
      dial.then(
        () => void (peer.dialing = false),
        (e: Error) => {
          peer.dialing = false;
          peer.attempts++;
          peer.lastError = e.message;
          this.scheduleReconnect(peer, false);
        },
      );
    }
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        dial,
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no connection within ${REDIAL_WAIT_MS} ms`)), Math.min(REDIAL_WAIT_MS, timeoutMs));
        }),
      ]);
    } catch (e) {
      throw new NetError('NoConnection', `not connected to ${id}: ${(e as Error).message}`);
    } finally {
      clearTimeout(timer);
    }
    const c = peer.conn;
    if (!c || c.state !== 'open') throw new NetError('NoConnection', `not connected to ${id}`);
    return c.call(endpoint, msg, Math.max(1, timeoutMs - (Date.now() - started)), priority);
  }

  async connect(idAtAddr: string): Promise<NodeId> {
    if (this.stopped || !this.identity) throw new NetError('Stopped', 'node is not running');
    const { id, addr } = parsePeerAddr(idAtAddr);
    if (id === this.id) return id;
    if (id) {
      const peer = this.peerMap.get(id);
      if (peer?.conn?.state === 'open') return id;
      this.learnAddr(id, addr, 'config');
    }
    return this.dial(addr, id);
  }

  peers(): PeerInfo[] {
    return [...this.peerMap.values()].map((p) => {
      const c = p.conn?.state === 'open' ? p.conn : undefined;
      const info: PeerInfo = {
        id: p.id,
        addr: p.addr,
        connected: c !== undefined,
        rttMs: c?.srtt ?? p.rttMs,
        lastSeen: c ? c.lastRecv : p.lastSeen,
      };
      if (p.lastError !== undefined) info.lastError = p.lastError;
      return info;
    });
  }

  // ---- connections ----

  private dial(addr: string, expectedId: NodeId | undefined): Promise<NodeId> {
    const inProgress = this.dials.get(addr);
    if (inProgress) {
      return inProgress.then((id) => {
        if (expectedId && id !== expectedId) throw new NetError('WrongPeer', `${addr} is node ${id.slice(0, 16)}, not ${expectedId.slice(0, 16)}`);
        return id;
      });
    }
    const p = new Promise<NodeId>((resolve, reject) => {
      const { host, port } = splitAddr(addr);
      const socket = tls.connect({ ...clientTlsOptions(this.psk), host, port });
      this.rawSockets.add(socket);
      let handedOff = false;
      let lastErr: Error | undefined;
      const timer = setTimeout(() => socket.destroy(new Error(`TLS handshake with ${addr} timed out`)), this.handshakeTimeoutMs);
      socket.on('error', (e) => (lastErr ??= e));
      socket.once('close', () => {
        clearTimeout(timer);
        this.rawSockets.delete(socket);
        if (!handedOff) reject(new NetError('ConnectFailed', `cannot connect to ${addr}: ${lastErr?.message ?? 'closed during handshake'}`));
      });
      socket.once('secureConnect', () => {
        clearTimeout(timer);
        if (this.stopped) return void socket.destroy();
        handedOff = true;
        const conn = new Conn(socket, 'client', this.identity!, this.hooks, expectedId, this.handshakeTimeoutMs, addr, this.messageBytesMax);
        this.conns.add(conn);
        this.dialWaiters.set(conn, { resolve, reject });
      });
    });
    this.dials.set(addr, p);
    const clear = (): void => void this.dials.delete(addr);
    p.then(clear, clear);
    return p;
  }

  private onEstablished(conn: Conn): void {
    const id = conn.peerId!;
    if (conn.role === 'server') this.admission.authenticated(conn.socket);
    const peer = this.peer(id, 'hello');
    peer.everUp = true;
    if (conn.peerAddr && conn.peerAddr !== peer.addr) this.learnAddr(id, conn.peerAddr, 'hello');
    const existing = peer.conn?.state === 'open' ? peer.conn : undefined;
    let keep = true;
    if (existing && existing !== conn) {
      // Both ends apply the same rule, so both keep the same connection.
      const lowest = this.id < id ? this.id : id;
      keep = existing.dialer === conn.dialer || conn.dialer === lowest;
      if (keep) existing.retire(this.defaultTimeoutMs + 5_000);
      else conn.retire(this.defaultTimeoutMs + 5_000);
    }
    if (keep) {
      peer.conn = conn;
      peer.attempts = 0;
      peer.lastError = undefined;
      clearTimeout(peer.timer);
      peer.timer = undefined;
    }
    const w = this.dialWaiters.get(conn);
    this.dialWaiters.delete(conn);
    w?.resolve(id);
    if (keep && !existing) {
      log.info({ peer: conn.remote, node: id.slice(0, 16) }, 'net: peer up');
      this.emit('peer-up', id);
    }
    if (keep) this.gossipWith(id);
  }

  private onClose(conn: Conn, err: Error | undefined): void {
    this.conns.delete(conn);
    const w = this.dialWaiters.get(conn);
    this.dialWaiters.delete(conn);
    if (w) {
      const code = err instanceof NetError ? err.code : 'ConnectFailed';
      w.reject(new NetError(code, `connection to ${conn.remote} failed: ${err?.message ?? 'closed during hello'}`));
    }
    const id = conn.peerId;
    if (!id) return;
    const peer = this.peerMap.get(id);
    if (!peer || peer.conn !== conn) return;
    peer.conn = undefined;
    peer.rttMs = conn.srtt;
    peer.lastSeen = conn.lastRecv;
    peer.lastError = err?.message ?? 'connection closed';
    if (this.stopped) return;
    log.info({ peer: conn.remote, node: id.slice(0, 16), reason: peer.lastError }, 'net: peer down');
    this.emit('peer-down', id);
    this.scheduleReconnect(peer, false);
  }

  private peer(id: NodeId, source: Peer['source']): Peer {
    let p = this.peerMap.get(id);
    if (!p) {
      p = { id, addr: undefined, conn: undefined, attempts: 0, timer: undefined, dialing: false, rttMs: undefined, lastSeen: undefined, lastError: undefined, source, everUp: false };
      this.peerMap.set(id, p);
    }
    return p;
  }

  /** Records where a peer can be dialed; the peer's own hello wins over hearsay. */
  private learnAddr(id: NodeId, addr: string, source: 'config' | 'hello' | 'gossip'): void {
    if (id === this.id) return;
    const known = this.peerMap.has(id);
    if (!known && source === 'gossip' && this.peerMap.size >= this.knownPeersMax) {
      limitRefused.inc({ limit: 'rpc_known_peers_max' });
      this.peersFullLog.hit({ known: this.peerMap.size });
      return;
    }
    const peer = this.peer(id, source);
    // Called from socket events and gossip answers: a broken bound is logged and the stranger dropped, never thrown.
    if (!known && source === 'gossip' && !holds(this.peerMap.size <= this.knownPeersMax, 'net: peers learned by gossip within limits.rpc_known_peers_max', { known: this.peerMap.size, max: this.knownPeersMax })) {
      this.peerMap.delete(id);
      return;
    }
    if (source !== 'gossip') peer.source = source;
    if (peer.addr === addr) return;
    const connected = peer.conn?.state === 'open';
    if (source === 'gossip' && connected) return;
    peer.addr = addr;
    if (!connected) this.scheduleReconnect(peer, !known);
  }

  private backoff(attempts: number): number {
    const d = Math.min(this.reconnectMaxMs, this.reconnectMinMs * 2 ** Math.min(attempts, 30));
    return Math.min(this.reconnectMaxMs, d * (0.75 + Math.random() * 0.5));
  }

  private scheduleReconnect(peer: Peer, immediate: boolean): void {
    if (this.stopped || !this.identity || peer.conn?.state === 'open' || peer.timer || peer.dialing || !peer.addr) return;
    peer.timer = setTimeout(
      () => {
        peer.timer = undefined;
        if (this.stopped || peer.conn?.state === 'open' || !peer.addr) return;
        peer.dialing = true;
        this.dial(peer.addr, peer.id).then(
          () => {
            peer.dialing = false;
          },
          (e: Error) => {
            peer.dialing = false;
            peer.attempts++;
            peer.lastError = e.message;
            if (peer.source === 'gossip' && !peer.everUp && peer.attempts >= GOSSIP_DIALS_MAX && peer.conn === undefined) {
              // Hearsay we could never confirm (a stale or garbage address): stop dialling it.
              log.info({ node: peer.id.slice(0, 16), addr: peer.addr, err: e.message }, 'net: forgetting a gossiped peer never reached');
              this.peerMap.delete(peer.id);
              return;
            }
            this.scheduleReconnect(peer, false);
          },
        );
      },
      immediate ? 0 : this.backoff(peer.attempts),
    );
    peer.timer.unref();
  }

  private dialAnon(addr: string, delayMs: number): void {
    const a = this.anon.get(addr);
    if (!a || a.timer || a.dialing || this.stopped) return;
    a.timer = setTimeout(() => {
      a.timer = undefined;
      a.dialing = true;
      this.dial(addr, undefined).then(
        () => void this.anon.delete(addr),
        (e: NetError) => {
          a.dialing = false;
          if (e.code === 'Self') return void this.anon.delete(addr);
          a.attempts++;
          this.dialAnon(addr, this.backoff(a.attempts));
        },
      );
    }, delayMs);
    a.timer.unref();
  }

  private tick(): void {
    const deadAfter = this.pingIntervalMs * MISSED_PINGS;
    const now = Date.now();
    // After a stalled event loop, timers run before pending socket data is read: silence
    // measured across the stall says nothing about the peer, so give it one more round.
    const lagged = now - this.lastTick > 2 * this.pingIntervalMs;
    this.lastTick = now;
    for (const peer of this.peerMap.values()) {
      const c = peer.conn;
      if (c?.state === 'open') {
        if (!lagged && now - c.lastRecv > deadAfter) c.close(new Error(`no frame for ${now - c.lastRecv} ms (missed pings)`));
        else c.ping();
      } else this.scheduleReconnect(peer, false);
    }
    for (const addr of this.anon.keys()) this.dialAnon(addr, this.backoff(this.anon.get(addr)!.attempts));
  }

  // ---- requests ----

  private async dispatch(from: NodeId, endpoint: string, msg: unknown): Promise<unknown> {
    const h = this.handlers.get(endpoint);
    if (!h) throw new NetError('NoHandler', `no handler for ${endpoint}`);
    return h(from, endpoint, msg);
  }

  private async callSelf(endpoint: string, msg: unknown, timeoutMs: number): Promise<unknown> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, rej) => {
      timer = setTimeout(() => rej(new NetError('Timeout', `${endpoint} to self: no answer within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      return await Promise.race([
        this.dispatch(this.id, endpoint, msg).catch((e: unknown) => {
          if (e instanceof NetError) throw e;
          const code = (e as { code?: unknown })?.code;
          throw new NetError(code !== undefined ? String(code) : 'RemoteError', e instanceof Error ? e.message : String(e), true);
        }),
        deadline,
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  // ---- gossip ----

  private gossipList(except: NodeId | undefined): { peers: { id: NodeId; addr: string }[] } {
    const peers: { id: NodeId; addr: string }[] = [];
    // Only addresses we reached or were given: hearsay is not passed on.
    for (const p of this.peerMap.values()) if (p.addr && p.id !== except && (p.everUp || p.source === 'config')) peers.push({ id: p.id, addr: p.addr });
    return { peers };
  }

  private mergeGossip(msg: unknown): void {
    const list = (msg as { peers?: unknown } | null)?.peers;
    if (!Array.isArray(list)) return;
    for (const e of list.slice(0, this.knownPeersMax)) {
      const { id, addr } = (e ?? {}) as { id?: unknown; addr?: unknown };
      if (typeof id !== 'string' || !NODE_ID_RE.test(id) || typeof addr !== 'string' || addr.length > 300) continue;
      try {
        validAddr(addr, addr);
      } catch {
        continue;
      }
      this.learnAddr(id, addr, 'gossip');
    }
  }

  private gossipWith(id: NodeId): void {
    this.call(id, GOSSIP_ENDPOINT, this.gossipList(id), { priority: 'background', timeoutMs: 10_000 }).then(
      (r) => this.mergeGossip(r),
      (e: Error) => log.debug({ node: id.slice(0, 16), err: e.message }, 'net: gossip failed'),
    );
  }

  private gossipRound(): void {
    const up = [...this.peerMap.values()].filter((p) => p.conn?.state === 'open');
    for (let i = up.length - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1));
      [up[i], up[j]] = [up[j]!, up[i]!];
    }
    for (const p of up.slice(0, GOSSIP_FANOUT)) this.gossipWith(p.id);
  }

  private emit(event: Event, id: NodeId): void {
    for (const cb of this.listeners[event]) {
      try {
        cb(id);
      } catch (e) {
        log.error({ err: e, event }, 'net: listener threw');
      }
    }
  }
}
