// Prometheus metrics shared by every listener (prom-client's registry, one per process).
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export const registry = new Registry();
collectDefaultMetrics({ register: registry });

export const apiRequests = new Counter({
  name: 'api_requests_total',
  help: 'API requests by listener, operation and status code',
  labelNames: ['api', 'op', 'status'],
  registers: [registry],
});

export const apiDuration = new Histogram({
  name: 'api_request_duration_seconds',
  help: 'API request duration by listener and operation',
  labelNames: ['api', 'op'],
  buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10, 60],
  registers: [registry],
});

export const listenerRefused = new Counter({
  name: 'listener_connections_refused_total',
  help: 'Connections closed at accept because a listener or per-address connection limit was reached',
  labelNames: ['listener', 'reason'],
  registers: [registry],
});

/** Inputs refused because they passed a limit (limits.* in the config), by limit name. */
export const limitRefused = new Counter({
  name: 'limit_refused_total',
  help: 'Requests or peer messages refused because they passed a configured limit',
  labelNames: ['limit'],
  registers: [registry],
});

/** Gauges whose value is read at scrape time from a callback (queues, peers, workers…). */
export function gaugeFrom(name: string, help: string, labelNames: string[], read: () => { labels?: Record<string, string>; value: number }[]): void {
  if (registry.getSingleMetric(name)) registry.removeSingleMetric(name);
  new Gauge({
    name,
    help,
    labelNames,
    registers: [registry],
    collect() {
      this.reset();
      for (const r of read()) {
        if (r.labels) this.set(r.labels, r.value);
        else this.set(r.value);
      }
    },
  });
}
