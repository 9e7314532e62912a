// Failed logins per client address on the admin API (admin tokens, owner signatures that do not
// verify): past limits.login_failures_per_minute_max in a minute the address is refused 429 with
// Retry-After until that minute ends, so tokens and secrets cannot be guessed at line speed.
import { AdminError } from '../http.ts';

/** Addresses remembered at most (the oldest window is forgotten first): about 100 B each. */
export const LOGIN_IPS_MAX = 10_000;
export const LOGIN_WINDOW_MS = 60_000;

/** The messages site-auth.ts and tokens.ts give a credential that does not verify (a guess). */
export function isCredentialFailure(e: AdminError): boolean {
  return e.status === 403 && (e.message.startsWith('invalid token') || e.message === 'the access key or its signature is not valid');
}

/** IPv6 clients usually hold a whole /64: one table entry for it, not 2^64. */
export function addressKey(ip: string): string {
  if (!ip.includes(':')) return ip;
  const [head = '', tail = ''] = ip.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const full = ip.includes('::') ? [...h, ...Array(Math.max(0, 8 - h.length - t.length)).fill('0'), ...t] : h;
  return full.slice(0, 4).map((x) => x.replace(/^0+(?=.)/, '').toLowerCase()).join(':') + '::/64';
}

export class LoginLimiter {
  /** Address key → its window (Map order: oldest window first, for eviction). */
  private readonly windows = new Map<string, { start: number; failures: number }>();
  private readonly max: number;
  private readonly windowMs: number;
  private readonly ipsMax: number;
  constructor(max: number, windowMs = LOGIN_WINDOW_MS, ipsMax = LOGIN_IPS_MAX) {
    this.max = max;
    this.windowMs = windowMs;
    this.ipsMax = ipsMax;
  }

  /** Seconds `ip` must wait before trying again (undefined: it may try now). */
  blocked(ip: string, now = Date.now()): number | undefined {
    const w = this.windows.get(addressKey(ip));
    if (!w) return undefined;
    if (now - w.start >= this.windowMs) {
      this.windows.delete(addressKey(ip));
      return undefined;
    }
    return w.failures >= this.max ? Math.max(1, Math.ceil((w.start + this.windowMs - now) / 1000)) : undefined;
  }

  fail(ip: string, now = Date.now()): void {
    const key = addressKey(ip);
    const w = this.windows.get(key);
    if (w && now - w.start < this.windowMs) {
      w.failures++;
      return;
    }
    this.windows.delete(key);
    this.windows.set(key, { start: now, failures: 1 });
    while (this.windows.size > this.ipsMax) this.windows.delete(this.windows.keys().next().value!);
  }

  get size(): number {
    return this.windows.size;
  }
}
