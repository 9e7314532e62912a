// Front certificates (ListCertificates, GetCertificateStatus, IssueCertificate). Any node reads
// the replicated certificate table; ordering needs a node that runs the front: this one if it
// does (the answer waits for the CA), else the request is recorded for the front nodes' worker.
import { certificateEligibility, certificateSummary, emptyCertificateEntry } from '../../model/certificate.ts';
import { parseHost } from '../../model/route.ts';
import { GrenierError } from '../../util/errors.ts';
import { AdminError, badRequest, str } from './http.ts';
import type { Handler } from './context.ts';

/** What the admin API needs from a front running on this node (implemented by front/). */
export interface FrontControl {
  issue(host: string): Promise<unknown>;
  status(): unknown;
}

const listCertificates: Handler = async (ctx) => {
  const now = Date.now();
  return (await ctx.deps.store.certs.range('certificate')).filter((e) => e.cert.v || e.attempt.v || e.requested.v).map((e) => certificateSummary(e, now));
};

const getCertificateStatus: Handler = async (ctx) => {
  const front = ctx.deps.front;
  return {
    frontOnThisNode: front !== undefined,
    front: front ? front.status() : null,
    certificates: await listCertificates(ctx),
  };
};

/** Body: { host }. Refuses hosts that are neither a website nor a route. */
const issueCertificate: Handler = async (ctx) => {
  const p = parseHost(str(ctx.body, 'host', true));
  if ('error' in p) throw badRequest(p.error);
  const host = p.host;
  const { store, config } = ctx.deps;
  const el = certificateEligibility(store, host, config.s3_web.root_domain);
  if (!el.ok) throw new AdminError(400, 'NotEligible', `refusing to order a certificate: ${el.reason}`);
  const cur = await store.certs.get('certificate', host);
  const t = Math.max(store.ts(), (cur?.requested.t ?? 0) + 1);
  const front = ctx.deps.front;
  if (!front) {
    await store.certs.insert({ ...emptyCertificateEntry(host), requested: { t, v: Date.now() } });
    return { host, queued: true, message: `this node does not run the front; a node with [front] will order the certificate for ${host}` };
  }
  try {
    await front.issue(host);
  } catch (e) {
    // Over the hourly order limit: recorded as asked, so the worker orders it in a later pass.
    if (e instanceof GrenierError && e.code === 'RateLimited') {
      await store.certs.insert({ ...emptyCertificateEntry(host), requested: { t, v: Date.now() } });
      return { host, queued: true, message: e.message };
    }
    if (e instanceof GrenierError) {
      const status = e.code === 'Busy' ? 409 : e.code === 'AcmeFailed' ? 502 : 400;
      throw new AdminError(status, e.code, e.message);
    }
    throw e;
  }
  const after = store.certs.local.get('certificate', host)!;
  return { ...certificateSummary(after, Date.now()), queued: false };
};

export const CERT_OPS: Record<string, Handler> = {
  ListCertificates: listCertificates,
  GetCertificateStatus: getCertificateStatus,
  IssueCertificate: issueCertificate,
};

export const CERT_READS = ['ListCertificates', 'GetCertificateStatus'];
