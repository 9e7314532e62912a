// Clock abstraction so replication code can run on a simulated clock in tests.

export interface Clock {
  now(): number; // milliseconds since epoch
  /** Resolves after ms of this clock's time. */
  sleep(ms: number): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) =>
    new Promise((r) => {
      setTimeout(r, ms).unref?.();
    }),
};

/** RFC 7231 date, as used in Last-Modified. */
export function httpDate(ms: number): string {
  return new Date(ms).toUTCString();
}

/** ISO 8601 with milliseconds, as used in S3 XML bodies. */
export function isoDate(ms: number): string {
  return new Date(ms).toISOString();
}
