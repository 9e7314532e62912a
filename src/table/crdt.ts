// CRDT building blocks: last-writer-wins registers and maps of them, with deterministic ties.
import { pack } from 'msgpackr';

/** A value stamped with a timestamp; higher timestamp wins, ties broken by the encoded bytes. */
export interface Lww<T> {
  t: number;
  v: T;
}

export function lww<T>(v: T, t: number): Lww<T> {
  return { t, v };
}

function cmpBytes(a: Uint8Array, b: Uint8Array): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

export function mergeLww<T>(a: Lww<T>, b: Lww<T>): Lww<T> {
  if (a.t !== b.t) return a.t > b.t ? a : b;
  return cmpBytes(pack(a.v), pack(b.v)) >= 0 ? a : b;
}

/** Timestamp for a new write of a register: strictly after what it replaces even if the clock went back. */
export function nextTs(now: number, prev?: Lww<unknown> | number): number {
  const p = typeof prev === 'number' ? prev : (prev?.t ?? 0);
  return Math.max(now, p + 1);
}

export type LwwMap<T> = Record<string, Lww<T>>;

/** Keys in sorted order: the encoding (hence Merkle hashes) must not depend on the merge order. */
export function mergeLwwMap<T>(a: LwwMap<T>, b: LwwMap<T>): LwwMap<T> {
  const out: LwwMap<T> = {};
  for (const k of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) {
    const x = a[k];
    const y = b[k];
    out[k] = x && y ? mergeLww(x, y) : (x ?? y)!;
  }
  return out;
}
