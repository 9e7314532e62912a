// Site quota endpoints: owners set their site's size up to 200 MB themselves and file requests
// above that; admins set anything and approve (which applies the requested size) or deny.
import type { Store } from '../../model/store.ts';
import type { Bucket } from '../../model/bucket.ts';
import {
  decide,
  newQuotaRequest,
  parseSize,
  quotaRefusal,
  visibleTo,
  type Principal,
  type QuotaRequest,
  type RequestState,
} from '../../model/quota-request.ts';
import { siteTables } from '../../model/site.ts';
import { decidedRequestIds, pendingRequestCount, requestGroup, siteIndexReady } from '../../model/site-index.ts';
import { QUOTA_REQUESTS_DECIDED_KEPT_PER_SITE, QUOTA_REQUESTS_PENDING_PER_SITE_MAX } from '../../model/quota-request.ts';
import { createOwnSite } from '../../model/site-self.ts';
import { AdminError, badRequest, str } from './http.ts';
import { siteFor, type SiteOp } from './site-context.ts';

function sizeField(body: Record<string, unknown>, field: string): number {
  const v = body[field];
  if (v === undefined || v === null) throw badRequest(`missing field "${field}"`);
  if (typeof v !== 'number' && typeof v !== 'string') throw badRequest(`field "${field}" must be bytes or a size like "200MB"`);
  return parseSize(v);
}

export function requestView(r: QuotaRequest): Record<string, unknown> {
  const d = r.decision.v;
  return {
    id: r.id,
    kind: r.kind ?? 'quota',
    site: r.site,
    bucketId: r.bucket,
    requester: r.requester,
    bytes: r.bytes,
    reason: r.reason,
    created: new Date(r.created).toISOString(),
    state: d.state,
    decidedBy: d.by,
    decisionReason: d.reason,
    decided: d.state === 'pending' ? null : new Date(d.at).toISOString(),
  };
}

/** Before filing: a site has at most QUOTA_REQUESTS_PENDING_PER_SITE_MAX requests waiting. */
export async function refuseTooManyPending(store: Store, r: QuotaRequest): Promise<void> {
  await siteIndexReady(store);
  const n = pendingRequestCount(store, requestGroup(r));
  if (n >= QUOTA_REQUESTS_PENDING_PER_SITE_MAX)
    throw new AdminError(409, 'TooManyPendingRequests', `${r.kind === 'site' ? 'you have' : `site ${r.site} has`} ${n} requests waiting for an administrator (at most ${QUOTA_REQUESTS_PENDING_PER_SITE_MAX}); wait for a decision`);
}

/** Writes a request; once decided, the group's decisions past the newest
 *  QUOTA_REQUESTS_DECIDED_KEPT_PER_SITE expire (tombstones, collected like others). */
export async function insertRequest(store: Store, r: QuotaRequest): Promise<QuotaRequest> {
  const out = await siteTables(store).requests.insert(r);
  if (r.decision.v.state === 'pending') return out;
  await siteIndexReady(store);
  const ids = decidedRequestIds(store, requestGroup(r));
  for (const id of ids.slice(0, Math.max(0, ids.length - QUOTA_REQUESTS_DECIDED_KEPT_PER_SITE))) {
    const old = await siteTables(store).requests.get('quota_request', id);
    if (old && old.expired !== true && old.decision.v.state !== 'pending') await siteTables(store).requests.insert({ ...old, expired: true });
  }
  return out;
}

async function setMaxSize(store: Store, b: Bucket, bytes: number): Promise<Bucket> {
  const cur = (await store.bucketById(b.id)) ?? b;
  const t = Math.max(store.ts(), cur.quotas.t + 1);
  store.observeTs(t);
  return store.buckets.insert({ ...cur, quotas: { t, v: { ...cur.quotas.v, maxSize: bytes } } });
}

const updateQuota: SiteOp = {
  method: 'POST',
  site: true,
  async run(c) {
    const ref = await siteFor(c);
    const bytes = sizeField(c.body, 'maxSize');
    const why = quotaRefusal(c.principal, ref.site.domain, ref.bucket.quotas.v.maxSize, bytes);
    if (why) throw new AdminError(403, 'QuotaRequestNeeded', why);
    const b = await setMaxSize(c.deps.store, ref.bucket, bytes);
    return { domain: ref.site.domain, quotas: { ...b.quotas.v } };
  },
};

const createRequest: SiteOp = {
  method: 'POST',
  site: true,
  async run(c) {
    const ref = await siteFor(c);
    const store = c.deps.store;
    const bytes = sizeField(c.body, 'bytes');
    const requester = c.principal.admin ? 'admin' : c.principal.keyId;
    const r = newQuotaRequest({
      id: store.newUuid().slice(0, 16),
      bucket: ref.bucket.id,
      site: ref.site.domain,
      requester,
      bytes,
      reason: str(c.body, 'reason') ?? '',
      now: store.ts(),
    });
    await refuseTooManyPending(store, r);
    return requestView(await insertRequest(store, r));
  },
};

const STATES = new Set<RequestState>(['pending', 'approved', 'denied']);

const listRequests: SiteOp = {
  method: 'GET',
  async run(c) {
    const state = c.query.get('state');
    if (state !== null && !STATES.has(state as RequestState)) throw badRequest(`unknown state "${state}": use pending, approved or denied`);
    const all = await siteTables(c.deps.store).requests.range('quota_request');
    return all
      .filter((r) => r.expired !== true && visibleTo(c.principal, r) && (state === null || r.decision.v.state === state))
      .sort((a, z) => a.created - z.created)
      .map(requestView);
  },
};

async function requestById(store: Store, p: Principal, id: string | null): Promise<QuotaRequest> {
  if (!id) throw badRequest('missing query parameter "id"');
  const r = await siteTables(store).requests.get('quota_request', id);
  if (!r || r.expired === true || !visibleTo(p, r)) throw new AdminError(404, 'NoSuchQuotaRequest', `no quota request "${id}" (grenier quota-request list shows them)`);
  return r;
}

const decideOp =
  (action: 'approve' | 'deny'): SiteOp => ({
    method: 'POST',
    adminOnly: true,
    async run(c) {
      const store = c.deps.store;
      const r = await requestById(store, c.principal, c.query.get('id'));
      const reason = str(c.body, 'reason') ?? null;
      const next = decide(r, action, 'admin', reason, store.ts());
      if (action === 'approve' && r.kind === 'site') {
        // Created first: if it fails (name taken, allowance full) the request stays pending.
        await createOwnSite(store, r.requester, r.site, { indexDocument: c.deps.config.s3_web.index || 'index.html' });
      } else if (action === 'approve') {
        const b = await store.bucketById(r.bucket);
        if (!b) throw new AdminError(409, 'NoSuchSite', `the site of request ${r.id} (${r.site}) no longer exists; deny the request instead`);
        // Quota first: if it fails the request stays pending and can be approved again.
        await setMaxSize(store, b, r.bytes);
      }
      return requestView(await insertRequest(store, next));
    },
  });

export const QUOTA_OPS: Record<string, SiteOp> = {
  UpdateSiteQuota: updateQuota,
  CreateQuotaRequest: createRequest,
  ListQuotaRequests: listRequests,
  ApproveQuotaRequest: decideOp('approve'),
  DenyQuotaRequest: decideOp('deny'),
};

