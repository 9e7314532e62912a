// Site endpoints of the admin API (create, list, info, delete, blob upload, publish, rollback),
// callable by admins and, for their own sites, by owners signing with their access key
// (site-auth.ts); a key an admin allowed creates its own sites (model/site-self.ts). They have their own dispatcher because the blob upload streams a raw body.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { sha256Hex } from '../../util/hash.ts';
import { findKey } from '../../model/bucket-ops.ts';
import { ModelError } from '../../model/errors.ts';
import { mayManage, newSiteRequest, parseSize } from '../../model/quota-request.ts';
import { allowanceRefusal, classifySiteName, createOwnSite, recordSite } from '../../model/site-self.ts';
import { insertRequest, refuseTooManyPending, requestView } from './quota.ts';
import { listSitePage } from './console/site-list.ts';
import { pendingRequestCount, siteIndexReady } from '../../model/site-index.ts';
import {
  blobExists,
  createSite,
  deleteSite,
  deployStats,
  isSha256,
  listSites,
  loadManifest,
  missingBlobs,
  publishDeploy,
  putBlob,
  retainedBytes,
  rollback,
  validateFiles,
  type Manifest,
  type SiteRef,
} from '../../model/site.ts';
import type { Store } from '../../model/store.ts';
import { AdminError, badRequest, parseJsonBody, readBody, sendJson, str, type Hold } from './http.ts';
import type { AdminDeps } from './context.ts';
import { authenticate } from './site-auth.ts';
import { QUOTA_OPS } from './quota.ts';
import { forbidden, siteFor, type SiteCtx, type SiteOp } from './site-context.ts';
import type { SeenSignatures } from './seen-signatures.ts';

export type { SiteCtx, SiteOp } from './site-context.ts';

/** HTTP statuses of the model errors only these endpoints raise (others: context.ts). */
const STATUS: Record<string, number> = {
  NoSuchSite: 404,
  QuotaExceeded: 403,
  InvalidSize: 400,
  InvalidState: 409,
  MissingBlobs: 409,
  BadDigest: 400,
  IncompleteBody: 400,
  NoPreviousDeploy: 409,
  ObjectLocked: 409,
  InvalidSiteName: 400,
  SiteAllowanceExceeded: 403,
};

async function manifests(store: Store, ref: SiteRef): Promise<{ current: Manifest | null; previous: Manifest | null }> {
  const d = ref.site.deploys.v;
  return {
    current: d.current ? ((await loadManifest(store, ref.bucket.id, d.current)) ?? null) : null,
    previous: d.previous ? ((await loadManifest(store, ref.bucket.id, d.previous)) ?? null) : null,
  };
}

export async function siteInfo(store: Store, ref: SiteRef): Promise<Record<string, unknown>> {
  const usage = await store.usage(ref.bucket.id);
  const m = await manifests(store, ref);
  const retained = [m.current, m.previous].filter((x): x is Manifest => x !== null);
  const owners = Object.entries(ref.bucket.keys)
    .filter(([, p]) => p.v.owner)
    .map(([id]) => id)
    .sort();
  const w = ref.bucket.website.v;
  // From the local index of requests by site: reading every request grew with all ever filed.
  await siteIndexReady(store);
  const pending = pendingRequestCount(store, ref.bucket.id);
  return {
    domain: ref.site.domain,
    bucketId: ref.bucket.id,
    created: new Date(ref.site.created).toISOString(),
    owners,
    website: w ? { indexDocument: w.indexDocument ?? null, errorDocument: w.errorDocument ?? null } : null,
    usage: { bytes: usage.bytes, objects: usage.objects },
    quotas: { ...ref.bucket.quotas.v },
    currentDeploy: m.current ? deployStats(m.current) : null,
    previousDeploy: m.previous ? deployStats(m.previous) : null,
    retainedBytes: retainedBytes(retained),
    pendingQuotaRequests: pending,
  };
}

const listSitesOp: SiteOp = {
  method: 'GET',
  async run(c) {
    const store = c.deps.store;
    // ?limit=&start=&search=: the paged form (the console's); without, every site (the CLI's).
    if (c.query.has('limit') || c.query.has('start') || c.query.has('search')) return listSitePage(store, c.principal, c.query);
    const out = [];
    for (const s of await listSites(store)) {
      const b = await store.bucketById(s.bucket);
      if (!b || !mayManage(c.principal, b)) continue;
      const u = await store.usage(b.id);
      out.push({ domain: s.domain, bucketId: b.id, currentDeploy: s.deploys.v.current, usage: u, quotas: { ...b.quotas.v } });
    }
    return out.sort((a, z) => (a.domain < z.domain ? -1 : 1));
  },
};

function siteOptions(c: SiteCtx): { indexDocument: string; errorDocument?: string; maxSize?: number } {
  const maxSizeRaw = c.body.maxSize;
  if (maxSizeRaw !== undefined && typeof maxSizeRaw !== 'number' && typeof maxSizeRaw !== 'string') throw badRequest('field "maxSize" must be bytes or a size like "50MB"');
  return {
    indexDocument: str(c.body, 'indexDocument') || c.deps.config.s3_web.index || 'index.html',
    errorDocument: str(c.body, 'errorDocument') || undefined,
    maxSize: maxSizeRaw === undefined ? undefined : parseSize(maxSizeRaw as string | number),
  };
}

const roots = (c: SiteCtx): { web?: string; s3?: string } => ({ web: c.deps.config.s3_web.root_domain, s3: c.deps.config.s3_api.root_domain });

/** Before the body: a key with no allowance left sends nothing we read. */
async function ownerMayCreate(c: SiteCtx): Promise<void> {
  if (c.principal.admin) return;
  const k = await c.deps.store.key(c.principal.keyId);
  const why = k ? allowanceRefusal(c.deps.store, k) : 'unknown key';
  if (why) throw new AdminError(403, 'SiteAllowanceExceeded', why);
}

const createSiteOp: SiteOp = {
  method: 'POST',
  before: ownerMayCreate,
  async run(c) {
    const store = c.deps.store;
    const domain = str(c.body, 'domain', true);
    if (!c.principal.admin) {
      // Owners: their own key, the default quota, under the root domain only.
      if (c.body.owner !== undefined || c.body.maxSize !== undefined) throw badRequest('site owners create sites for their own key with the default quota: leave out "owner" and "maxSize"');
      const name = classifySiteName(store, domain, roots(c));
      if (name.kind === 'custom')
        throw new AdminError(403, 'DomainApprovalNeeded', `${name.domain} is not under ${roots(c).web ?? 'the root domain'}: a custom domain needs an administrator's approval; ask for it with CreateSiteRequest (grenier site request ${name.domain} --reason "…")`);
      return siteInfo(store, await createOwnSite(store, c.principal.keyId, name.domain, siteOptions(c)));
    }
    const owner = await findKey(store, str(c.body, 'owner', true));
    const ref = await createSite(store, domain, owner, siteOptions(c));
    await recordSite(store, owner.id, ref.bucket.id, 'given');
    return siteInfo(store, ref);
  },
};

/** An owner asks for a site at a custom domain; an admin's ApproveQuotaRequest creates it. */
const createSiteRequestOp: SiteOp = {
  method: 'POST',
  before: ownerMayCreate,
  async run(c) {
    if (c.principal.admin) throw badRequest('administrators create sites at any domain with CreateSite; requests are for site owners');
    const store = c.deps.store;
    const name = classifySiteName(store, str(c.body, 'domain', true), roots(c));
    if (name.kind === 'root') throw badRequest(`${name.domain} is under the root domain: create it with CreateSite, no approval needed`);
    if (await store.bucketByName(name.domain)) throw new AdminError(409, 'BucketAlreadyExists', `the domain ${name.domain} is taken`);
    const r = newSiteRequest({ id: store.newUuid().slice(0, 16), domain: name.domain, requester: c.principal.keyId, reason: str(c.body, 'reason') ?? '', now: store.ts() });
    await refuseTooManyPending(store, r);
    return requestView(await insertRequest(store, r));
  },
};

const siteInfoOp: SiteOp = { method: 'GET', site: true, run: async (c) => siteInfo(c.deps.store, await siteFor(c)) };

const deleteSiteOp: SiteOp = {
  method: 'POST',
  site: true,
  adminOnly: true,
  async run(c) {
    const ref = await siteFor(c);
    await deleteSite(c.deps.store, ref);
    return { domain: ref.site.domain, bucketId: ref.bucket.id, deleted: true };
  },
};

const checkBlobsOp: SiteOp = {
  method: 'POST',
  site: true,
  async run(c) {
    const ref = await siteFor(c);
    const list = c.body.sha256;
    if (!Array.isArray(list) || !list.every(isSha256)) throw badRequest('field "sha256" must be a list of 64-hex-character hashes');
    return { missing: await missingBlobs(c.deps.store, ref.bucket.id, list) };
  },
};

const putBlobOp: SiteOp = {
  method: 'PUT',
  site: true,
  raw: true,
  async run(c) {
    const ref = await siteFor(c);
    const sha = c.query.get('sha256');
    if (!isSha256(sha)) throw badRequest('query parameter "sha256" must be 64 lowercase hex characters');
    // An owner signed the body's hash: content addressing makes it the blob's name.
    if (c.bodySha256 !== undefined && c.bodySha256 !== sha) throw badRequest('X-Grenier-Content-SHA256 must equal the sha256 query parameter');
    const cl = c.req.headers['content-length'];
    const declared = cl === undefined ? undefined : Number(cl);
    if (declared !== undefined && !Number.isSafeInteger(declared)) throw badRequest(`invalid Content-Length "${cl}"`);
    if (await blobExists(c.deps.store, ref.bucket.id, sha)) {
      c.req.resume();
      return { sha256: sha, stored: false };
    }
    const r = await putBlob(c.deps.store, ref, sha, c.req, declared);
    return { sha256: sha, stored: r.stored, size: r.size };
  },
};

const getDeployOp: SiteOp = {
  method: 'GET',
  site: true,
  async run(c) {
    const ref = await siteFor(c);
    const id = c.query.get('id') ?? ref.site.deploys.v.current;
    if (!id) return { id: null, files: {} };
    const m = await loadManifest(c.deps.store, ref.bucket.id, id);
    if (!m) throw new AdminError(404, 'NoSuchDeploy', `site ${ref.site.domain} has no deploy ${id}`);
    return m;
  },
};

const publishOp: SiteOp = {
  method: 'POST',
  site: true,
  manifest: true,
  async run(c) {
    const ref = await siteFor(c);
    const files = validateFiles(c.body.files);
    return publishDeploy(c.deps.store, ref, files);
  },
};

const rollbackOp: SiteOp = {
  method: 'POST',
  site: true,
  async run(c) {
    const ref = await siteFor(c);
    return rollback(c.deps.store, ref);
  },
};

export const SITE_OPS: Record<string, SiteOp> = {
  ListSites: listSitesOp,
  CreateSite: createSiteOp,
  CreateSiteRequest: createSiteRequestOp,
  GetSiteInfo: siteInfoOp,
  DeleteSite: deleteSiteOp,
  CheckSiteBlobs: checkBlobsOp,
  PutSiteBlob: putBlobOp,
  GetSiteDeploy: getDeployOp,
  PublishSiteDeploy: publishOp,
  RollbackSite: rollbackOp,
  ...QUOTA_OPS,
};

/** Runs a site operation: authenticate, check method and rights (for an owner, that the site is
 *  theirs), and only then read and verify the body, within its limit. */
export async function handleSiteOp(
  deps: AdminDeps,
  req: IncomingMessage,
  res: ServerResponse,
  name: string,
  query: URLSearchParams,
  seen: SeenSignatures,
  hold: Hold,
): Promise<void> {
  const op = SITE_OPS[name]!;
  const { principal, bodySha256 } = authenticate(req, deps.store, deps.config.admin.admin_token, seen);
  if (req.method !== op.method && !(op.method === 'GET' && req.method === 'HEAD')) {
    res.setHeader('allow', op.method);
    throw new AdminError(405, 'MethodNotAllowed', `${name} takes ${op.method}, not ${req.method}`);
  }
  if (op.adminOnly && !principal.admin) throw forbidden(`${name} needs the admin token`);
  const ctx: SiteCtx = { deps, req, query, principal, body: {}, bodySha256 };
  let out: unknown;
  try {
    // Authorization before the body: a key that does not own the site sends nothing we read.
    if (op.site) await siteFor(ctx);
    if (op.before) await op.before(ctx);
    if (!op.raw) {
      const l = deps.config.limits;
      const raw = op.manifest ? await readBody(req, l.manifest_body_bytes_max, hold, 'manifest_body_bytes_max') : await readBody(req, l.json_body_bytes_max, hold);
      if (bodySha256 !== undefined && sha256Hex(raw) !== bodySha256) throw badRequest('the body does not match X-Grenier-Content-SHA256');
      if (op.method !== 'GET') ctx.body = parseJsonBody(raw);
    }
    out = await op.run(ctx);
  } catch (e) {
    if (e instanceof ModelError && Object.hasOwn(STATUS, e.code)) throw new AdminError(STATUS[e.code]!, e.code, e.message);
    throw e;
  }
  sendJson(res, 200, out ?? {});
}
