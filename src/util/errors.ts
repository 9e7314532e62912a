// Typed errors shared by every layer; the API layers translate them to wire errors.

/** An error whose message is meant for a human (CLI, config, admin API). */
export class GrenierError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
    this.name = 'GrenierError';
  }
}

export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
