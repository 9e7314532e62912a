// Site quotas: size parsing, who may set what (owners alone up to 200 MB, admins anything), and
// the quota_request table (replicated everywhere) whose state only moves pending → approved | denied.
import { mergeLww, type Lww } from '../table/crdt.ts';
import type { TableSchema } from '../table/schema.ts';
import type { Bucket } from './bucket.ts';
import { ModelError } from './errors.ts';
import { formatSize } from '../util/size.ts';

/** Quota of a new site (ARCHITECTURE §7). */
export const DEFAULT_SITE_QUOTA = 50_000_000;
/** The largest size an owner may give their site without an admin. */
export const OWNER_QUOTA_LIMIT = 200_000_000;

const UNIT: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1e3,
  kb: 1e3,
  m: 1e6,
  mb: 1e6,
  g: 1e9,
  gb: 1e9,
  t: 1e12,
  tb: 1e12,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
  tib: 1024 ** 4,
};

/** "50MB", "1.5GB", "200MiB", "1000" (bytes) or a number of bytes → bytes; a positive integer.
 *  SI units are powers of 1000 (as disks and the 50 MB default are), *iB units powers of 1024. */
export function parseSize(input: string | number): number {
  if (typeof input === 'number') {
    if (!Number.isSafeInteger(input) || input <= 0) throw new ModelError('InvalidSize', `invalid size ${input}: expected a positive whole number of bytes`);
    return input;
  }
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(input);
  const mult = m ? UNIT[m[2]!.toLowerCase()] : undefined;
  if (!m || mult === undefined)
    throw new ModelError('InvalidSize', `invalid size "${input}": expected a number with an optional unit, e.g. 50MB, 1.5GB, 200MiB or 1000 (bytes)`);
  const n = Math.round(Number(m[1]) * mult);
  if (!Number.isSafeInteger(n)) throw new ModelError('InvalidSize', `invalid size "${input}": too large`);
  if (n <= 0) throw new ModelError('InvalidSize', `invalid size "${input}": must be more than zero bytes`);
  return n;
}

export { formatSize };

/** Who is calling the site endpoints: an admin (admin token) or a key (an S3 access key). */
export type Principal = { admin: true } | { admin: false; keyId: string };

/** Admins manage every site; a key manages the sites whose bucket gives it the owner flag. */
export function mayManage(p: Principal, b: Bucket): boolean {
  return p.admin || b.keys[p.keyId]?.v.owner === true;
}

/** Why `p` may not set the site's size quota to `bytes` (undefined: allowed). Owners may set up to
 *  OWNER_QUOTA_LIMIT, or lower whatever quota they have (never raise past it without an admin). */
export function quotaRefusal(p: Principal, site: string, current: number | null, bytes: number): string | undefined {
  if (p.admin) return undefined;
  if (bytes <= OWNER_QUOTA_LIMIT) return undefined;
  if (current !== null && bytes <= current) return undefined;
  return (
    `site owners may set a quota of up to ${formatSize(OWNER_QUOTA_LIMIT)} themselves; ${formatSize(bytes)} needs an administrator's approval: ` +
    `file a request with: grenier site quota ${site} --request ${formatSize(bytes).replace(' ', '')} --reason "…"`
  );
}

export type RequestState = 'pending' | 'approved' | 'denied';

export interface Decision {
  state: RequestState;
  /** "admin" for the admin token (tokens have no identity yet). */
  by: string | null;
  reason: string | null;
  at: number;
}

export interface QuotaRequest {
  id: string;
  /** The site's bucket id, and its domain at request time (for display). */
  bucket: string;
  site: string;
  requester: string;
  bytes: number;
  reason: string;
  created: number;
  decision: Lww<Decision>;
  /** 'site': the requester asks for a site at the custom domain `site` (bucket is '' until an
   *  admin approves, which creates it). Absent: a quota request for `bytes`. */
  kind?: 'site';
  /** Set on a decided request dropped for a newer one (QUOTA_REQUESTS_DECIDED_KEPT_PER_SITE): a
   *  tombstone, never unset. */
  expired?: true;
}

/** Decided requests kept per site (and per requester for custom-domain site requests): older
 *  decisions expire, so a site's requests stay few however many are filed over the years. */
export const QUOTA_REQUESTS_DECIDED_KEPT_PER_SITE = 100;
/** Pending requests a site (or a requester's site requests) may have at once. */
export const QUOTA_REQUESTS_PENDING_PER_SITE_MAX = 10;

/** A decided request never goes back to pending whatever the timestamps say; between two
 *  decisions (two admins at once) the later one wins. Lexicographic max: a CRDT. */
export function mergeDecision(a: Lww<Decision>, b: Lww<Decision>): Lww<Decision> {
  const ra = a.v.state === 'pending' ? 0 : 1;
  const rb = b.v.state === 'pending' ? 0 : 1;
  if (ra !== rb) return ra > rb ? a : b;
  return mergeLww(a, b);
}

export const quotaRequestSchema: TableSchema<QuotaRequest> = {
  name: 'quota_request',
  replication: 'everywhere',
  partitionKey: () => 'quota_request',
  sortKey: (r) => r.id,
  merge: (a, b) => ({
    ...a,
    created: Math.min(a.created, b.created),
    decision: mergeDecision(a.decision, b.decision),
    ...(a.expired || b.expired ? { expired: true as const } : {}),
  }),
  // Requests are the trail of who asked for what: kept, the last decided ones of each site.
  isTombstone: (r) => r.expired === true,
};

export const MAX_REASON = 1000;

export function newQuotaRequest(o: { id: string; bucket: string; site: string; requester: string; bytes: number; reason: string; now: number }): QuotaRequest {
  const reason = o.reason.trim();
  if (reason === '') throw new ModelError('InvalidRequest', 'a quota request needs a reason (what the space is for)');
  if (reason.length > MAX_REASON) throw new ModelError('InvalidRequest', `the reason is longer than ${MAX_REASON} characters`);
  return {
    id: o.id,
    bucket: o.bucket,
    site: o.site,
    requester: o.requester,
    bytes: o.bytes,
    reason,
    created: o.now,
    decision: { t: o.now, v: { state: 'pending', by: null, reason: null, at: o.now } },
  };
}

/** A key's request for a site at a custom domain (validated by the caller: model/site-self.ts). */
export function newSiteRequest(o: { id: string; domain: string; requester: string; reason: string; now: number }): QuotaRequest {
  return { ...newQuotaRequest({ ...o, bucket: '', site: o.domain, bytes: DEFAULT_SITE_QUOTA }), kind: 'site' };
}

/** The transition pending → approved | denied; anything else is refused with the current state. */
export function decide(r: QuotaRequest, action: 'approve' | 'deny', by: string, reason: string | null, now: number): QuotaRequest {
  const d = r.decision.v;
  if (d.state !== 'pending')
    throw new ModelError('InvalidState', `quota request ${r.id} is already ${d.state}${d.by ? ` (by ${d.by})` : ''}; only pending requests can be decided`);
  const t = Math.max(now, r.decision.t + 1);
  return { ...r, decision: { t, v: { state: action === 'approve' ? 'approved' : 'denied', by, reason, at: t } } };
}

/** Admins see every request; a key sees the ones it filed. */
export function visibleTo(p: Principal, r: QuotaRequest): boolean {
  return p.admin || r.requester === p.keyId;
}
