// The certificate table (replicated everywhere): per host, the current certificate with its
// private key (encrypted by the front before it gets here), the ordering lease that keeps two
// nodes from ordering at once, and the last attempt's outcome. Also which hosts may get one.
import { mergeLww, type Lww } from '../table/crdt.ts';
import type { TableSchema } from '../table/schema.ts';
import type { Store } from './store.ts';
import { parseHost } from './route.ts';
import { adminGivenWebsiteHosts, rootSuffix, websiteForHost } from './hosts.ts';

export interface StoredCert {
  /** Leaf certificate followed by its chain, PEM. */
  certPem: string;
  /** AES-256-GCM sealed PKCS#8 PEM private key (see front/keys.ts). */
  keyEnc: Buffer;
  notBefore: number;
  notAfter: number;
  issuer: string;
  /** Node that ordered it. */
  orderedBy: string;
}

export interface CertLease {
  holder: string;
  until: number;
}

export interface CertAttempt {
  at: number;
  /** Consecutive failures (0 after a success): drives the retry back-off. */
  failures: number;
  error: string | null;
}

export interface CertificateEntry {
  host: string;
  cert: Lww<StoredCert | null>;
  lease: Lww<CertLease | null>;
  attempt: Lww<CertAttempt | null>;
  /** When an operator last asked for this host's certificate (0: never). */
  requested: Lww<number>;
}

export const certificateSchema: TableSchema<CertificateEntry> = {
  name: 'certificate',
  replication: 'everywhere',
  partitionKey: () => 'certificate',
  sortKey: (c) => c.host,
  merge: (a, b) => ({
    host: a.host,
    cert: mergeLww(a.cert, b.cert),
    lease: mergeLww(a.lease, b.lease),
    attempt: mergeLww(a.attempt, b.attempt),
    requested: mergeLww(a.requested, b.requested),
  }),
  // Certificates are never deleted, only replaced (a host that loses its site stops renewing).
  isTombstone: () => false,
};

export function emptyCertificateEntry(host: string): CertificateEntry {
  return { host, cert: { t: 0, v: null }, lease: { t: 0, v: null }, attempt: { t: 0, v: null }, requested: { t: 0, v: 0 } };
}

export type Eligibility = { ok: true; reason: string } | { ok: false; reason: string };

/** "web.example.org" or ".web.example.org" → ".web.example.org" (undefined when unset). */
export const webSuffix = rootSuffix;

/** Whether the cluster may order a certificate for `host` (and /check answers yes): only hosts
 *  it serves by the rule of model/hosts.ts (a configured route, a website host an admin gave,
 *  or `<bucket>.<root_domain>`), so no tenant can make it order certificates for arbitrary
 *  names. Reads only local copies of "everywhere" tables: cheap and synchronous. */
export function certificateEligibility(store: Store, rawHost: string, webRootDomain?: string): Eligibility {
  const p = parseHost(rawHost);
  if ('error' in p) return { ok: false, reason: p.error };
  const host = p.host;
  for (const r of store.routes.local.range('route', { prefix: host + '/' })) {
    if (r.host === host && r.target.v) return { ok: true, reason: `route ${r.host}${r.path === '/' ? '' : r.path}` };
  }
  const suffix = webSuffix(webRootDomain);
  const site = websiteForHost(store, host, suffix).site;
  if (site) return { ok: true, reason: `website ${site.name}` };
  return {
    ok: false,
    reason: `"${host}" is neither a website an admin gave this host${suffix ? ` nor <bucket>${suffix} of a bucket with website access` : ''}, nor a configured route`,
  };
}

/** Hosts the renewal worker covers without being asked: every route host, and every website
 *  host an admin gave that is a domain name (bring-your-own-domain sites). `<bucket>.<root_domain>`
 *  hosts are left to explicit requests: one certificate each would soon hit the CA's rate limits. */
export function autoCertificateHosts(store: Store): string[] {
  const out = new Set<string>();
  for (const r of store.routes.local.range('route')) if (r.target.v) out.add(r.host);
  for (const name of adminGivenWebsiteHosts(store)) {
    const p = parseHost(name);
    if ('host' in p) out.add(p.host);
  }
  return [...out].sort();
}

export interface CertSummary {
  host: string;
  notBefore: string | null;
  notAfter: string | null;
  daysLeft: number | null;
  issuer: string | null;
  orderedBy: string | null;
  lease: { holder: string; until: string } | null;
  lastAttempt: { at: string; failures: number; error: string | null } | null;
  requested: string | null;
}

/** The operator's view of an entry (admin API, CLI, front status): no key material. */
export function certificateSummary(e: CertificateEntry, now: number): CertSummary {
  const iso = (t: number) => new Date(t).toISOString();
  const c = e.cert.v;
  const l = e.lease.v && e.lease.v.until > now ? e.lease.v : null;
  const a = e.attempt.v;
  return {
    host: e.host,
    notBefore: c ? iso(c.notBefore) : null,
    notAfter: c ? iso(c.notAfter) : null,
    daysLeft: c ? Math.floor((c.notAfter - now) / 86400_000) : null,
    issuer: c?.issuer ?? null,
    orderedBy: c?.orderedBy ?? null,
    lease: l ? { holder: l.holder, until: iso(l.until) } : null,
    lastAttempt: a ? { at: iso(a.at), failures: a.failures, error: a.error } : null,
    requested: e.requested.v ? iso(e.requested.v) : null,
  };
}
