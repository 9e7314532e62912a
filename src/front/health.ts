// Upstream health as this node sees it: a periodic GET / to every upstream some route uses
// (any answer below 500 is "up"; no answer within the timeout is "down"), plus passive marking
// when a proxied request cannot connect, and "down" while the proxy has it saturated.
// Local on purpose: reachability differs from node to node.
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { log } from '../util/log.ts';

export interface UpstreamState {
  url: string;
  up: boolean;
  /** When `up` last changed (ms since epoch). */
  since: number;
  lastCheck?: number;
  lastError?: string;
}

export class UpstreamHealth {
  private readonly states = new Map<string, UpstreamState>();
  private readonly intervalMs: number;
  private readonly timeoutMs: number;
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private load: (url: string) => string | undefined = () => undefined;

  constructor(opts: { intervalMs: number; timeoutMs?: number }) {
    this.intervalMs = opts.intervalMs;
    this.timeoutMs = opts.timeoutMs ?? Math.min(5000, Math.max(500, opts.intervalMs));
  }

  /** Tracks exactly these upstreams; new ones start "up" until a check or a request says otherwise. */
  setTargets(urls: string[]): void {
    const want = new Set(urls);
    for (const u of this.states.keys()) if (!want.has(u)) this.states.delete(u);
    let added = false;
    for (const u of want)
      if (!this.states.has(u)) {
        this.states.set(u, { url: u, up: true, since: Date.now() });
        added = true;
      }
    if (added && this.timer) void this.checkAll();
  }

  /** Why an upstream counts as saturated right now (the proxy's in-flight count), or undefined. */
  setLoad(f: (url: string) => string | undefined): void {
    this.load = f;
  }

  isUp(url: string): boolean {
    return this.states.get(url)?.up ?? true;
  }

  markDown(url: string, why: string): void {
    this.set(url, false, why);
  }

  markUp(url: string): void {
    this.set(url, true);
  }

  private set(url: string, up: boolean, why?: string): void {
    const s = this.states.get(url);
    if (!s) return;
    if (s.up !== up) {
      s.up = up;
      s.since = Date.now();
      log.warn({ upstream: url, up, why }, up ? 'front: upstream is up' : 'front: upstream is down');
    }
    if (why) s.lastError = why;
  }

  status(): UpstreamState[] {
    return [...this.states.values()].map((s) => ({ ...s }));
  }

  start(): void {
    if (this.timer) return;
    void this.checkAll();
    this.timer = setInterval(() => void this.checkAll(), this.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** One round of checks; concurrent calls share the round in progress. */
  checkAll(): Promise<void> {
    if (this.running) return this.running;
    this.running = Promise.all([...this.states.keys()].map((u) => this.check(u))).then(
      () => {
        this.running = undefined;
      },
      () => {
        this.running = undefined;
      },
    );
    return this.running;
  }

  private async check(url: string): Promise<void> {
    // A fresh connection may still answer while every pooled one is taken: saturation counts too.
    const err = this.load(url) ?? (await probe(url, this.timeoutMs));
    const s = this.states.get(url);
    if (!s) return;
    s.lastCheck = Date.now();
    if (err) this.markDown(url, err);
    else this.markUp(url);
  }
}

/** GET / on a fresh connection; undefined when it answered below 500, else why not. */
export function probe(url: string, timeoutMs: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const u = new URL(url);
    const req = (u.protocol === 'https:' ? httpsRequest : httpRequest)(
      { host: u.hostname.replace(/^\[|\]$/g, ''), port: u.port || undefined, path: '/', method: 'GET', agent: false, headers: { 'user-agent': 'grenier-front-healthcheck', host: u.host } },
      (res) => {
        res.resume();
        req.destroy();
        clearTimeout(t);
        resolve(res.statusCode! >= 500 ? `health check answered ${res.statusCode}` : undefined);
      },
    );
    const t = setTimeout(() => {
      req.destroy();
      resolve(`health check timed out after ${timeoutMs} ms`);
    }, timeoutMs);
    req.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(t);
      resolve(`health check failed: ${e.code ?? e.message}`);
    });
    req.end();
  });
}
