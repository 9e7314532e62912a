// ACME (HTTP-01) for the front: orders certificates only for hosts the cluster serves, under a
// lease in the certificate table so two nodes do not order the same one at once, stores them
// with the private key sealed, and renews them from a worker well before they expire.
import type * as acmeTypes from 'acme-client';

// acme-client (with axios) costs ~16 MiB of memory: loaded only when a certificate is ordered.
type Acme = typeof acmeTypes;
let acmeModule: Promise<Acme> | undefined;
const loadAcme = (): Promise<Acme> => (acmeModule ??= import('acme-client') as Promise<Acme>);
import { Agent, request as httpsRequest } from 'node:https';
import { request as httpRequest } from 'node:http';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import { rootCertificates } from 'node:tls';
import type { Store } from '../model/store.ts';
import {
  certificateEligibility,
  autoCertificateHosts,
  emptyCertificateEntry,
  type CertificateEntry,
  type CertAttempt,
  type StoredCert,
  certificateSummary,
  type CertSummary,
} from '../model/certificate.ts';

export type { CertSummary };
import { parseHost } from '../model/route.ts';
import { sealKey } from './keys.ts';
import { Worker, type WorkerStatus } from '../util/worker.ts';
import { systemClock, type Clock } from '../util/time.ts';
import { GrenierError } from '../util/errors.ts';
import { log } from '../util/log.ts';

export interface AcmeOptions {
  directoryUrl: string;
  email?: string;
  /** PEM of an extra CA to trust for the directory (private CA, pebble). */
  caPem?: string;
  nodeId: string;
  /** Where this node keeps its ACME account key. */
  metadataDir: string;
  sealKey: Buffer;
  webRootDomain?: string;
  autoCertificates: boolean;
  renewBeforeMs: number;
  checkIntervalMs: number;
  /** How long an ordering lease lasts (default 10 minutes). */
  leaseMs?: number;
  /** Wait after taking a lease before trusting it, so a concurrent claim can arrive (default
   *  1 s when tables replicate, 0 alone). */
  leaseSettleMs?: number;
  /** Certificates ordered per worker pass at most (CA rate limits; default 5). */
  maxOrdersPerPass?: number;
  /** Orders this node starts in any hour at most (front.cert_orders_per_hour_max, default 20):
   *  well below the CA's limits (Let's Encrypt: 300 new orders per 3 hours per account), so a
   *  burst of new sites or a bug cannot get the cluster's account blocked. Over it, an order
   *  waits for a later pass. */
  ordersPerHourMax?: number;
  clock?: Clock;
}

const HOUR = 3600_000;

/** Retry delay after `failures` consecutive failed orders: 10 min, doubling, at most a day. */
export function backoffMs(failures: number): number {
  if (failures <= 0) return 0;
  return Math.min(24 * HOUR, 10 * 60_000 * 2 ** Math.min(failures - 1, 10));
}

/** The first certificate of a PEM chain, parsed. */
export function certInfo(chainPem: string): { notBefore: number; notAfter: number; issuer: string; subject: string; altNames: string[] } {
  const first = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(chainPem);
  if (!first) throw new Error('no certificate in the CA answer');
  const x = new X509Certificate(first[0]);
  const cn = (s: string) => /(?:^|\n)CN=([^\n]*)/.exec(s)?.[1] ?? s.replace(/\n/g, ', ');
  return {
    notBefore: Date.parse(x.validFrom),
    notAfter: Date.parse(x.validTo),
    issuer: cn(x.issuer),
    subject: cn(x.subject),
    altNames: (x.subjectAltName ?? '').split(', ').filter((s) => s.startsWith('DNS:')).map((s) => s.slice(4)),
  };
}

export class AcmeManager {
  readonly worker: Worker;
  private readonly store: Store;
  private readonly o: AcmeOptions;
  private readonly clock: Clock;
  private readonly inflight = new Map<string, Promise<CertSummary>>();
  private client?: acmeTypes.Client;
  private readonly httpsAgent?: Agent;
  /** This node's orders by host and start time, until their attempt is recorded in the table. */
  private readonly ownOrders = new Map<string, number>();

  constructor(store: Store, opts: AcmeOptions) {
    this.store = store;
    this.o = opts;
    this.clock = opts.clock ?? systemClock;
    if (opts.caPem) this.httpsAgent = new Agent({ ca: [...rootCertificates, opts.caPem], keepAlive: true });
    this.worker = new Worker('acme-renewal', opts.checkIntervalMs, this.clock, () => this.pass());
    // Explicit requests (from any node's admin API) and, with auto certificates, new sites and
    // routes are handled now rather than at the next hourly pass.
    // Triggered once the change is committed (Db.afterCommit), or the pass would read the old entries.
    const trigger = () => store.db.afterCommit(() => this.worker.trigger());
    store.certs.local.onUpdate((before, after) => {
      if (after.requested.v > (before?.requested.v ?? 0)) trigger();
    });
    if (opts.autoCertificates) {
      store.routes.local.onUpdate(() => trigger());
      store.buckets.local.onUpdate((b, a) => {
        if (!b?.website.v && a.website.v) trigger();
      });
    }
  }

  start(): void {
    this.worker.start();
  }

  async stop(): Promise<void> {
    await this.worker.stop();
    await Promise.allSettled([...this.inflight.values()]);
    this.httpsAgent?.destroy();
  }

  status(): WorkerStatus {
    return this.worker.status();
  }

  eligibility(host: string) {
    return certificateEligibility(this.store, host, this.o.webRootDomain);
  }

  private get ordersPerHourMax(): number {
    return this.o.ordersPerHourMax ?? 20;
  }

  /** When each host's certificate was last ordered in the past hour, by any node: the certificate
   *  table is replicated everywhere and every order leaves its attempt (or a live lease) there, so
   *  the count is the cluster's, not this node's — N front nodes do not order N times the limit.
   *  A host ordered twice in the hour counts once (failures back off by 10 minutes and more). */
  private recentOrders(now: number): Map<string, number> {
    const recent = new Map<string, number>();
    for (const e of this.store.certs.local.range('certificate')) {
      const at = e.attempt.v?.at;
      if (at !== undefined && at > now - HOUR) recent.set(e.host, at);
      const l = e.lease.v;
      if (l && l.until > now && !recent.has(e.host)) recent.set(e.host, now);
    }
    for (const [host, at] of this.ownOrders) {
      if (at <= now - HOUR) this.ownOrders.delete(host);
      else if (!recent.has(host) || recent.get(host)! < at) recent.set(host, at);
    }
    return recent;
  }

  /** Orders the cluster may still start in the current hour. */
  ordersLeft(now = this.clock.now()): number {
    return Math.max(0, this.ordersPerHourMax - this.recentOrders(now).size);
  }

  private rateLimited(host: string): GrenierError {
    const now = this.clock.now();
    const oldest = Math.min(now, ...this.recentOrders(now).values());
    return new GrenierError(
      'RateLimited',
      `not ordering the certificate for ${host} now: the cluster started ${this.ordersPerHourMax} orders in the last hour ` +
        `(front.cert_orders_per_hour_max); it waits for a pass after ${new Date(oldest + HOUR).toISOString()}`,
    );
  }

  /** Orders (or renews) the certificate of an eligible host now; concurrent calls for the same
   *  host on this node share one order. */
  issue(rawHost: string): Promise<CertSummary> {
    const p = parseHost(rawHost);
    if ('error' in p) return Promise.reject(new GrenierError('InvalidHost', p.error));
    const host = p.host;
    const el = this.eligibility(host);
    if (!el.ok) return Promise.reject(new GrenierError('NotEligible', `refusing to order a certificate: ${el.reason}`));
    let run = this.inflight.get(host);
    if (!run) {
      if (this.ordersLeft() === 0) return Promise.reject(this.rateLimited(host));
      run = this.issueLeased(host).finally(() => this.inflight.delete(host));
      this.inflight.set(host, run);
    }
    return run;
  }

  private entry(host: string): CertificateEntry | undefined {
    return this.store.certs.local.get('certificate', host);
  }

  private ts(prev?: { t: number }): number {
    return Math.max(this.store.ts(), (prev?.t ?? 0) + 1);
  }

  private async issueLeased(host: string): Promise<CertSummary> {
    await this.acquireLease(host);
    // Counted when the CA is about to be asked (checked again: other orders may have started
    // while the lease settled; our own live lease is not one of them); refused, it is not a
    // failed attempt and starts no back-off.
    const others = this.recentOrders(this.clock.now());
    others.delete(host);
    if (others.size >= this.ordersPerHourMax) {
      const cur = this.entry(host);
      await this.store.certs.insert({ ...emptyCertificateEntry(host), lease: { t: this.ts(cur?.lease), v: null } });
      throw this.rateLimited(host);
    }
    this.ownOrders.set(host, this.clock.now());
    try {
      const stored = await this.order(host);
      const cur = this.entry(host);
      await this.store.certs.insert({
        ...emptyCertificateEntry(host),
        cert: { t: this.ts(cur?.cert), v: stored },
        lease: { t: this.ts(cur?.lease), v: null },
        attempt: { t: this.ts(cur?.attempt), v: { at: this.clock.now(), failures: 0, error: null } },
      });
      log.info({ host, notAfter: new Date(stored.notAfter).toISOString(), issuer: stored.issuer }, 'front: certificate stored');
      return certificateSummary(this.entry(host)!, this.clock.now());
    } catch (e) {
      const msg = errorText(e);
      const cur = this.entry(host);
      const attempt: CertAttempt = { at: this.clock.now(), failures: (cur?.attempt.v?.failures ?? 0) + 1, error: msg };
      await this.store.certs
        .insert({ ...emptyCertificateEntry(host), lease: { t: this.ts(cur?.lease), v: null }, attempt: { t: this.ts(cur?.attempt), v: attempt } })
        .catch((err) => log.warn({ host, err: errorText(err) }, 'front: could not record the failed order'));
      log.warn({ host, err: msg }, 'front: certificate order failed');
      throw new GrenierError('AcmeFailed', `certificate order for ${host} failed: ${msg}`);
    }
  }

  /** Claims the host's ordering lease or throws Busy. Best effort (last writer wins after a short
   *  settle): at worst two nodes order the same certificate, which is harmless. */
  private async acquireLease(host: string): Promise<void> {
    const now = this.clock.now();
    const cur = this.entry(host);
    const held = cur?.lease.v;
    const busy = (l: { holder: string; until: number }) =>
      new GrenierError('Busy', `node ${l.holder.slice(0, 16)} is already ordering the certificate for ${host} (until ${new Date(l.until).toISOString()})`);
    if (held && held.holder !== this.o.nodeId && held.until > now) throw busy(held);
    await this.store.certs.insert({
      ...emptyCertificateEntry(host),
      lease: { t: this.ts(cur?.lease), v: { holder: this.o.nodeId, until: now + (this.o.leaseMs ?? 10 * 60_000) } },
    });
    const settle = this.o.leaseSettleMs ?? (this.store.certs.replicated ? 1000 : 0);
    if (settle > 0) await this.clock.sleep(settle);
    const after = this.entry(host)?.lease.v;
    if (after && after.holder !== this.o.nodeId) throw busy(after);
  }

  private accountKey(): string {
    const path = join(this.o.metadataDir, 'acme_account_key.pem');
    if (!existsSync(path)) {
      const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
      writeFileSync(path, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    }
    return readFileSync(path, 'utf8');
  }

  private async acmeClient(): Promise<acmeTypes.Client> {
    const acme = await loadAcme();
    if (!this.client) {
      if (this.httpsAgent) acme.axios.defaults.httpsAgent = this.httpsAgent;
      // acme-client retries network errors 5 times with growing delays (75 s in all); an
      // unreachable CA should fail an order within seconds (the worker retries later anyway).
      const d = acme.axios.defaults as { timeout?: number; acmeSettings?: { retryMaxAttempts: number; retryDefaultDelay: number } };
      d.timeout = 30_000;
      if (d.acmeSettings) Object.assign(d.acmeSettings, { retryMaxAttempts: 2, retryDefaultDelay: 1 });
      this.client = new acme.Client({
        directoryUrl: this.o.directoryUrl,
        accountKey: this.accountKey(),
        backoffAttempts: 12,
        backoffMin: 500,
        backoffMax: 10_000,
      });
    }
    return this.client;
  }

  private async order(host: string): Promise<StoredCert> {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const keyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    const acme = await loadAcme();
    const [, csr] = await acme.crypto.createCsr({ commonName: host, altNames: [host] }, keyPem);
    const client = await this.acmeClient();
    const chain = await this.explained(client.auto({
      csr,
      email: this.o.email,
      termsOfServiceAgreed: true,
      challengePriority: ['http-01'],
      // The CA checks; a self-check from here would need our own public address and DNS.
      skipChallengeVerification: true,
      challengeCreateFn: async (_authz, ch, keyAuthorization) => {
        if (ch.type !== 'http-01') throw new Error(`only http-01 challenges are supported, got ${ch.type}`);
        const cur = this.store.acmeTokens.local.get('acme_token', ch.token);
        await this.store.acmeTokens.insert({ token: ch.token, host, keyAuth: { t: this.ts(cur?.keyAuth), v: keyAuthorization }, expires: this.clock.now() + HOUR });
      },
      challengeRemoveFn: async (_authz, ch) => {
        const cur = this.store.acmeTokens.local.get('acme_token', ch.token);
        await this.store.acmeTokens.insert({ token: ch.token, host, keyAuth: { t: this.ts(cur?.keyAuth), v: null }, expires: cur?.expires ?? 0 });
      },
    }));
    const info = certInfo(chain);
    if (!info.altNames.includes(host) && info.subject !== host) throw new Error(`the CA returned a certificate for ${info.subject}, not ${host}`);
    return { certPem: chain, keyEnc: sealKey(this.o.sealKey, host, keyPem), notBefore: info.notBefore, notAfter: info.notAfter, issuer: info.issuer, orderedBy: this.o.nodeId };
  }

  /** acme-client 5.4 turns a network error (no response) into "Cannot read properties of
   *  undefined (reading 'config')": on such a TypeError, ask the directory ourselves and report
   *  why it cannot be reached (refused, DNS, timeout, TLS), else the original error. */
  private async explained<T>(p: Promise<T>): Promise<T> {
    try {
      return await p;
    } catch (e) {
      if (!(e instanceof TypeError)) throw e;
      const why = await unreachable(this.o.directoryUrl, this.httpsAgent);
      throw why ? new Error(`ACME directory ${this.o.directoryUrl} unreachable: ${why}`) : e;
    }
  }

  /** Hosts that need an order now, in order of urgency (no certificate first, then soonest expiry). */
  dueHosts(now = this.clock.now()): string[] {
    const candidates = new Set<string>(this.o.autoCertificates ? autoCertificateHosts(this.store) : []);
    for (const e of this.store.certs.local.range('certificate')) if (e.cert.v || e.requested.v) candidates.add(e.host);
    const due: { host: string; notAfter: number }[] = [];
    for (const host of candidates) {
      const e = this.entry(host);
      const requested = (e?.requested.v ?? 0) > (e?.attempt.v?.at ?? 0);
      const c = e?.cert.v;
      if (!requested && c && c.notAfter - now > this.o.renewBeforeMs) continue;
      const a = e?.attempt.v;
      if (!requested && a && a.failures > 0 && now < a.at + backoffMs(a.failures)) continue;
      const l = e?.lease.v;
      if (l && l.holder !== this.o.nodeId && l.until > now) continue;
      // A host that stopped being a site or route is no longer renewed.
      if (!this.eligibility(host).ok) continue;
      due.push({ host, notAfter: c?.notAfter ?? 0 });
    }
    return due.sort((a, b) => a.notAfter - b.notAfter || (a.host < b.host ? -1 : 1)).map((d) => d.host);
  }

  /** One renewal pass: drop stale challenge tokens, then order what is due (bounded per pass). */
  async pass(): Promise<{ queue: number; progress: string }> {
    const now = this.clock.now();
    for (const t of this.store.acmeTokens.local.range('acme_token')) {
      if (t.keyAuth.v !== null && t.expires < now)
        await this.store.acmeTokens.insert({ ...t, keyAuth: { t: this.ts(t.keyAuth), v: null } }).catch(() => {});
    }
    const due = this.dueHosts(now);
    const batch = due.slice(0, this.o.maxOrdersPerPass ?? 5);
    let ok = 0;
    let tried = 0;
    let limited = false;
    const failed: string[] = [];
    for (const host of batch) {
      if (this.ordersLeft() === 0) {
        limited = true;
        break;
      }
      this.worker.report({ queue: due.length - ok - failed.length, progress: `ordering ${host}` });
      tried++;
      try {
        await this.issue(host);
        ok++;
      } catch (e) {
        if ((e as GrenierError).code === 'RateLimited') {
          tried--;
          limited = true;
          break;
        }
        failed.push(`${host}: ${(e as Error).message}`);
      }
    }
    const left = due.length - tried;
    if (limited)
      log.warn({ waiting: left, ordersPerHourMax: this.ordersPerHourMax }, 'front: certificate order rate limit reached (front.cert_orders_per_hour_max); the rest wait for the next pass');
    const total = [...this.store.certs.local.range('certificate')].filter((e) => e.cert.v).length;
    const progress = `${total} certificates; this pass: ${ok} ordered, ${failed.length} failed, ${left} left${limited ? ' (hourly order limit reached)' : ''}`;
    if (failed.length) throw new Error(`${progress}; ${failed.join('; ')}`);
    return { queue: left, progress };
  }
}

/** Longest the reachability probe of the ACME directory waits (milliseconds). */
const DIRECTORY_PROBE_TIMEOUT_MS = 10_000;

/** Why the directory URL cannot be fetched (an error code or message), or null when it answers. */
function unreachable(url: string, agent: Agent | undefined): Promise<string | null> {
  return new Promise((resolve) => {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      return resolve('not a valid URL');
    }
    const req = (u.protocol === 'http:' ? httpRequest : httpsRequest)(u, { method: 'GET', agent: u.protocol === 'http:' ? undefined : agent, timeout: DIRECTORY_PROBE_TIMEOUT_MS }, (res) => {
      res.resume();
      resolve(null);
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })));
    req.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
    req.end();
  });
}

/** acme-client errors carry the CA's problem detail in the message; keep one line. */
function errorText(e: unknown): string {
  const m = (e as Error)?.message ?? String(e);
  return m.split('\n')[0]!.slice(0, 500);
}
