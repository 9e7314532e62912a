// In-memory TLS contexts for SNI, built on first use from the local copy of the replicated
// certificate table (every node holds it all) and dropped when a host's entry changes, so a
// certificate ordered by any node is served by every node without a restart.
import { createSecureContext, type SecureContext } from 'node:tls';
import type { Store } from '../model/store.ts';
import type { StoredCert } from '../model/certificate.ts';
import { openKey } from './keys.ts';
import { log } from '../util/log.ts';
import { Lru } from '../util/lru.ts';

interface Cached {
  ctx: SecureContext;
  notAfter: number;
}

export class CertCache {
  private readonly store: Store;
  private readonly key: Buffer;
  private readonly cache: Lru<string, Cached>;
  private readonly now: () => number;

  constructor(store: Store, sealKey: Buffer, opts: { capacity?: number; now?: () => number } = {}) {
    this.store = store;
    this.key = sealKey;
    this.cache = new Lru({ maxEntries: Math.max(1, opts.capacity ?? 10_000) });
    this.now = opts.now ?? Date.now;
    // Once committed (Db.afterCommit): a lookup before the commit would cache the old certificate again.
    store.certs.local.onUpdate((_b, after) => store.db.afterCommit(() => this.cache.delete(after.host)));
  }

  /** The stored, unexpired certificate of a host (no decryption). */
  stored(host: string): StoredCert | undefined {
    const c = this.store.certs.local.get('certificate', host)?.cert.v;
    return c && c.notAfter > this.now() ? c : undefined;
  }

  has(host: string): boolean {
    return this.stored(host) !== undefined;
  }

  /** A TLS context for the host, or undefined when it has no usable certificate. */
  context(host: string): SecureContext | undefined {
    const hit = this.cache.get(host);
    if (hit && hit.notAfter > this.now()) return hit.ctx;
    this.cache.delete(host);
    const c = this.stored(host);
    if (!c) return undefined;
    let ctx: SecureContext;
    try {
      ctx = createSecureContext({ cert: c.certPem, key: openKey(this.key, host, c.keyEnc) });
    } catch (e) {
      log.error({ host, err: (e as Error).message }, 'front: stored certificate unusable (another rpc_secret?)');
      return undefined;
    }
    this.cache.set(host, { ctx, notAfter: c.notAfter });
    return ctx;
  }

  get size(): number {
    return this.cache.size;
  }

  /** For tls.createServer({ SNICallback }). An unknown host gets no context: the handshake fails
   *  rather than presenting another site's certificate. */
  readonly sni = (servername: string, cb: (err: Error | null, ctx?: SecureContext) => void): void => {
    const host = servername.toLowerCase().replace(/\.$/, '');
    const ctx = this.context(host);
    if (ctx) cb(null, ctx);
    else cb(new Error(`no certificate for ${host}`));
  };
}
