// Test helpers for net/: nodes on loopback with fresh keys, bounded waiting, and a hand-driven
// client that speaks the wire protocol so tests can forge ids and send garbage.
import { generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import * as tls from 'node:tls';
import { NetApp } from './netapp.ts';
import type { NetOptions } from './types.ts';
import { clientTlsOptions, derivePsk, idFromPrivateKey, serverTlsOptions, signHello, type Role } from './auth.ts';
import { FrameReader, T_HELLO, T_PING, T_PONG, encodeFrame, type Frame, type Hello } from './protocol.ts';

export const newSecret = (): string => randomBytes(32).toString('hex');

export function newKey(): { pem: string; key: KeyObject; id: string } {
  const { privateKey } = generateKeyPairSync('ed25519');
  return { pem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, key: privateKey, id: idFromPrivateKey(privateKey) };
}

export function addrOf(n: NetApp): string {
  const a = n.address();
  return `127.0.0.1:${a.port}`;
}

export function idAt(n: NetApp): string {
  return `${n.id}@${addrOf(n)}`;
}

export async function startNode(secret: string, o: Partial<NetOptions> = {}): Promise<NetApp> {
  const n = new NetApp({
    nodeKeyPem: o.nodeKeyPem ?? newKey().pem,
    rpcSecret: secret,
    bindAddr: '127.0.0.1:0',
    bootstrapPeers: [],
    pingIntervalMs: 200,
    gossipIntervalMs: 500,
    reconnectMinMs: 100,
    reconnectMaxMs: 1000,
    handshakeTimeoutMs: 3000,
    ...o,
  });
  await n.start();
  return n;
}

export async function waitFor(what: string, cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export function connectedTo(n: NetApp, id: string): boolean {
  return n.peers().some((p) => p.id === id && p.connected);
}

/** A TLS session speaking the frame protocol by hand. */
export class RawPeer {
  readonly socket: tls.TLSSocket;
  readonly frames: Frame[] = [];
  closed = false;
  /** A well-behaved peer answers pings, so it is only ever closed for the reason a test provokes. */
  answerPings = true;
  private readonly reader = new FrameReader();

  private constructor(socket: tls.TLSSocket) {
    this.socket = socket;
    socket.on('data', (d: Buffer) => {
      try {
        for (const f of this.reader.push(d)) {
          if (f.t === T_PING && this.answerPings) socket.write(encodeFrame({ t: T_PONG, nonce: f.nonce }));
          this.frames.push(f);
        }
      } catch {
        /* tests only look at well-formed frames */
      }
    });
    socket.on('error', () => {});
    socket.on('close', () => (this.closed = true));
  }

  static connect(port: number, secret: string): Promise<RawPeer> {
    return new Promise((resolve, reject) => {
      const s = tls.connect({ ...clientTlsOptions(derivePsk(secret)), host: '127.0.0.1', port }, () => resolve(new RawPeer(s)));
      s.once('error', reject);
    });
  }

  /** A TLS listener that records the hellos of whoever dials it. */
  static listen(secret: string, onPeer: (p: RawPeer) => void): Promise<{ server: tls.Server; port: number }> {
    const server = tls.createServer(serverTlsOptions(derivePsk(secret)), (s) => onPeer(new RawPeer(s)));
    return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, port: (server.address() as { port: number }).port })));
  }

  sign(role: Role, key: KeyObject): Buffer {
    return signHello(this.socket, role, key);
  }

  sendHello(hello: Partial<Hello> & { id: string; sig: Buffer }): void {
    this.socket.write(encodeFrame({ t: T_HELLO, hello: { v: 1, addr: undefined, port: 1, ...hello } }));
  }

  send(f: Frame | Buffer): void {
    this.socket.write(Buffer.isBuffer(f) ? f : encodeFrame(f));
  }

  hello(): Hello | undefined {
    const f = this.frames.find((x) => x.t === T_HELLO);
    return f && f.t === T_HELLO ? f.hello : undefined;
  }

  /** Well under the ping-death delay of test nodes, so a close is attributable. */
  async waitClosed(timeoutMs = 2000): Promise<void> {
    await waitFor('raw connection closed', () => this.closed, timeoutMs);
  }

  destroy(): void {
    this.socket.destroy();
  }
}
