// Hand-written payload checks for RPC endpoints: tiny combinators that accept exactly the shapes an
// endpoint expects (with sizes and counts bounded) and throw a BadRequest naming the path of the
// first problem, so a peer's message is validated like a client's before any handler sees it.
import { GrenierError } from '../util/errors.ts';
import type { CallOptions, NodeId } from './transport.ts';
import { quorumOverSets } from './quorum.ts';

/** Validates `x` (found at `path`) and returns it typed; throws PayloadError otherwise. */
export type Check<T> = (x: unknown, path: string) => T;

export class PayloadError extends GrenierError {
  constructor(path: string, why: string) {
    super('BadRequest', `${path}: ${why}`);
    this.name = 'PayloadError';
  }
}

const isPlain = (x: unknown): x is Record<string, unknown> =>
  typeof x === 'object' && x !== null && !Array.isArray(x) && !ArrayBuffer.isView(x) && (Object.getPrototypeOf(x) === Object.prototype || Object.getPrototypeOf(x) === null);

export const any: Check<unknown> = (x) => x;

/** No payload: null or undefined (what callers send when there is nothing to say). */
export const none: Check<null> = (x, path) => {
  if (x !== null && x !== undefined) throw new PayloadError(path, 'expected no payload');
  return null;
};

export function str(maxBytes: number): Check<string> {
  return (x, path) => {
    if (typeof x !== 'string') throw new PayloadError(path, 'expected a string');
    // UTF-8 is at most 3 bytes per UTF-16 unit: only long strings need an exact count.
    if (x.length * 3 > maxBytes && Buffer.byteLength(x) > maxBytes) throw new PayloadError(path, `longer than ${maxBytes} bytes`);
    return x;
  };
}

/** Binary (msgpack bin decodes as a Buffer/Uint8Array); `exact` pins the length (hashes). */
export function bytes(maxBytes: number, exact?: number): Check<Buffer> {
  return (x, path) => {
    if (!(x instanceof Uint8Array)) throw new PayloadError(path, 'expected bytes');
    if (exact !== undefined && x.length !== exact) throw new PayloadError(path, `expected ${exact} bytes, got ${x.length}`);
    if (x.length > maxBytes) throw new PayloadError(path, `longer than ${maxBytes} bytes`);
    return Buffer.isBuffer(x) ? x : Buffer.from(x.buffer, x.byteOffset, x.length);
  };
}

export function int(min: number, max: number): Check<number> {
  return (x, path) => {
    if (typeof x !== 'number' || !Number.isSafeInteger(x) || x < min || x > max) throw new PayloadError(path, `expected an integer from ${min} to ${max}`);
    return x;
  };
}

export const bool: Check<boolean> = (x, path) => {
  if (typeof x !== 'boolean') throw new PayloadError(path, 'expected a boolean');
  return x;
};

export function arr<T>(of: Check<T>, maxItems: number): Check<T[]> {
  return (x, path) => {
    if (!Array.isArray(x)) throw new PayloadError(path, 'expected an array');
    if (x.length > maxItems) throw new PayloadError(path, `more than ${maxItems} items`);
    for (let i = 0; i < x.length; i++) x[i] = of(x[i], `${path}[${i}]`);
    return x as T[];
  };
}

/** undefined (or null, which msgpack may carry for an absent field) passes as undefined. */
export function opt<T>(c: Check<T>): Check<T | undefined> {
  return (x, path) => (x === undefined || x === null ? undefined : c(x, path));
}

type Shape = Record<string, Check<unknown>>;
/** Fields whose check may give undefined (opt) are optional: a caller may leave them out. */
type Out<S extends Shape> = { [K in keyof S as undefined extends ReturnType<S[K]> ? never : K]: ReturnType<S[K]> } & {
  [K in keyof S as undefined extends ReturnType<S[K]> ? K : never]?: ReturnType<S[K]>;
};

/** A plain object with exactly these fields (unknown fields are refused, not carried along). */
export function obj<S extends Shape>(shape: S): Check<Out<S>> {
  const keys = Object.keys(shape);
  return (x, path) => {
    if (!isPlain(x)) throw new PayloadError(path, 'expected an object');
    for (const k of Object.keys(x)) if (!(k in shape)) throw new PayloadError(path, `unexpected field ${JSON.stringify(k.slice(0, 64))}`);
    const out: Record<string, unknown> = {};
    for (const k of keys) {
      const v = shape[k]!(x[k], `${path}.${k}`);
      if (v !== undefined) out[k] = v;
    }
    return out as Out<S>;
  };
}

/** A plain object (a table entry, say) whose own checks are the caller's. */
export const plain: Check<Record<string, unknown>> = (x, path) => {
  if (!isPlain(x)) throw new PayloadError(path, 'expected an object');
  return x;
};

/** A peer's answer that failed the endpoint's answer check (thrown by Endpoint.call): the peer
 *  answered, but nonsense, which callers may log differently from "down" or "refused". */
export class BadAnswerError extends Error {
  readonly endpoint: string;
  readonly node: NodeId;
  constructor(endpoint: string, node: NodeId, cause: unknown) {
    super(`${endpoint}: bad answer from ${node.slice(0, 16)}: ${(cause as Error)?.message ?? String(cause)}`.slice(0, 500), { cause });
    this.name = 'BadAnswerError';
    this.endpoint = endpoint;
    this.node = node;
  }
}

/** What a typed endpoint needs from the RPC layer (rpc.ts's Rpc). */
export interface EndpointHost {
  endpoint<T>(endpoint: string, check: Check<T>, handle: (from: NodeId, msg: T) => Promise<unknown>): void;
  call<T>(to: NodeId, endpoint: string, msg: unknown, opts?: CallOptions): Promise<T>;
}

/** An RPC endpoint typed once: its request (checked by `check` when a peer sends it) and its
 *  answer. The handler is registered with the checker; callers get the answer's type. Answers are
 *  the peer's word: with `answer`, call() checks each one (a failure is a BadAnswerError);
 *  without, a caller that stores them checks them (see Table.entriesCheck). */
export class Endpoint<Req, Res> {
  readonly name: string;
  readonly check: Check<Req>;
  readonly answer?: Check<Res>;
  private readonly rpc: EndpointHost;
  constructor(rpc: EndpointHost, name: string, check: Check<Req>, answer?: Check<Res>) {
    this.rpc = rpc;
    this.name = name;
    this.check = check;
    this.answer = answer;
  }
  /** Registers the handler: it only ever sees requests that passed the check. */
  serve(handle: (from: NodeId, req: Req) => Promise<Res>): this {
    this.rpc.endpoint(this.name, this.check, handle);
    return this;
  }
  async call(node: NodeId, req: Req, opts?: CallOptions): Promise<Res> {
    const res = await this.rpc.call<unknown>(node, this.name, req, opts);
    if (!this.answer) return res as Res;
    try {
      return this.answer(res, `${this.name} answer`);
    } catch (e) {
      throw new BadAnswerError(this.name, node, e);
    }
  }

  /** Calls every node; resolves with the first `quorum` answers, or throws QuorumError once that is impossible. */
  async quorum(nodes: NodeId[], req: Req, opts: CallOptions & { quorum: number }): Promise<{ node: NodeId; value: Res }[]> {
    const need = Math.min(opts.quorum, nodes.length);
    if (need <= 0) return [];
    const r = await quorumOverSets<Res>({ what: this.name, sets: [nodes], quorum: () => need, call: (n) => this.call(n, req, opts) });
    return r.acks;
  }
  /** Calls every node and waits for all answers (or errors), each within its deadline. */
  all(nodes: NodeId[], req: Req, opts?: CallOptions): Promise<{ node: NodeId; value?: Res; error?: string }[]> {
    return Promise.all(
      nodes.map((n) =>
        this.call(n, req, opts).then(
          (value) => ({ node: n, value }),
          (e: Error) => ({ node: n, error: e.message }),
        ),
      ),
    );
  }
}

export function endpoint<Req, Res>(rpc: EndpointHost, name: string, check: Check<Req>, answer?: Check<Res>): Endpoint<Req, Res> {
  return new Endpoint<Req, Res>(rpc, name, check, answer);
}
