// ListUpstreamHealth: this node's view of the front's upstreams (up/down since when, last error)
// and its renewal rule, for the console's Front page. Local on purpose: reachability differs
// from node to node, so the answer is never merged across the cluster.
import type { Handler } from './context.ts';

/** One upstream as the front reports it (front/health.ts's UpstreamState; api/ may not import front/,
 *  and the answer is checked below rather than trusted). */
interface UpstreamState {
  url: string;
  up: boolean;
  since: number;
  lastCheck?: number;
  lastError?: string;
}

export interface UpstreamHealthAnswer {
  frontOnThisNode: boolean;
  /** A certificate is renewed this many days before it expires ([front] renew_before_days). */
  renewBeforeDays: number | null;
  upstreams: UpstreamState[];
}

/** The front's status() carries `upstreams` (front/server.ts FrontStatus); FrontControl types it
 *  unknown, so it is checked here rather than trusted. */
function upstreamsOf(status: unknown): UpstreamState[] {
  const u = (status as { upstreams?: unknown } | null)?.upstreams;
  if (!Array.isArray(u)) return [];
  return u
    .filter((s): s is UpstreamState => typeof s?.url === 'string' && typeof s.up === 'boolean' && typeof s.since === 'number')
    .map((s) => ({ url: s.url, up: s.up, since: s.since, ...(s.lastCheck !== undefined ? { lastCheck: s.lastCheck } : {}), ...(s.lastError !== undefined ? { lastError: s.lastError } : {}) }));
}

const listUpstreamHealth: Handler = async (ctx): Promise<UpstreamHealthAnswer> => {
  const front = ctx.deps.front;
  return {
    frontOnThisNode: front !== undefined,
    renewBeforeDays: ctx.deps.config.front?.renew_before_days ?? null,
    upstreams: front ? upstreamsOf(front.status()).sort((a, z) => (a.url < z.url ? -1 : a.url > z.url ? 1 : 0)) : [],
  };
};

export const FRONT_HEALTH_OPS: Record<string, Handler> = { ListUpstreamHealth: listUpstreamHealth };
export const FRONT_HEALTH_READS = ['ListUpstreamHealth'];
