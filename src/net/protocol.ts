// Wire format between nodes: u32-length-prefixed msgpack frames, and a reader that rejects
// anything malformed so a bad peer can only ever break its own connection.
import { Packr } from 'msgpackr';

// Records would make frames depend on each other; plain msgpack keeps every frame self-contained.
export const packr = new Packr({ useRecords: false });

/** Big messages travel as chunks of this size so they interleave with small ones. */
export const CHUNK_SIZE = 64 * 1024;
/** A frame is one chunk plus a small header; anything bigger is a protocol violation. */
export const MAX_FRAME = CHUNK_SIZE + 1024;
/** The largest logical message (a 64 MiB block plus its envelope). */
export const MAX_MESSAGE = 64 * 1024 * 1024 + 64 * 1024;

export const T_HELLO = 0;
export const T_REQ = 1;
export const T_RES = 2;
export const T_PING = 3;
export const T_PONG = 4;
export const T_CANCEL = 5;
/** "I will send no new requests on this connection": the duplicate of a pair is closed once both sides said it. */
export const T_RETIRE = 6;

/** The RPC protocol this build speaks. Raise it when a frame, an endpoint or the meaning of a
 *  payload changes; keep speaking the older one (PROTOCOL_MIN) for one release, so that a cluster
 *  upgraded one node at a time keeps working (README "Operations"). */
export const PROTOCOL_VERSION = 1;
/** The oldest protocol this build still speaks; peers whose version is older are refused. */
export const PROTOCOL_MIN = 1;
/** Versions are small integers; anything else in a hello is malformed. */
const PROTOCOL_NUMBER_MAX = 65535;

export interface ProtocolRange {
  v: number;
  min: number;
}

export interface Hello {
  /** The sender's RPC protocol version. */
  v: number;
  /** The oldest version the sender speaks (absent from hellos of builds before it existed: = v). */
  min?: number;
  id: string;
  addr: string | undefined; // advertised public address, if configured
  port: number; // listening port, combined with the socket's remote IP when addr is absent
  sig: Buffer;
}

export type Frame =
  | { t: typeof T_HELLO; hello: Hello }
  | { t: typeof T_REQ | typeof T_RES; id: number; final: boolean; data: Buffer }
  | { t: typeof T_PING | typeof T_PONG; nonce: number }
  | { t: typeof T_CANCEL; id: number }
  | { t: typeof T_RETIRE };

export class ProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProtocolError';
  }
}

function withLength(body: Buffer): Buffer {
  const out = Buffer.allocUnsafe(4 + body.length);
  out.writeUInt32BE(body.length, 0);
  body.copy(out, 4);
  return out;
}

/** A chunk frame, [t, id, final, data] in msgpack, written straight into one buffer: the chunk is
 *  copied once (packing it, then prefixing the length, copied it twice and grew the packer's shared
 *  buffer 64 KiB at a time, garbage that made big transfers trigger major GCs). */
function dataFrame(t: number, id: number, final: boolean, data: Buffer): Buffer {
  // Ids past 32 bits (never reached: one per call) are left to msgpackr, which writes them as floats.
  if (!(Number.isInteger(id) && id >= 0 && id <= 0xffffffff)) return withLength(packr.pack([t, id, final ? 1 : 0, data]));
  const idLen = id < 0x80 ? 1 : id < 0x100 ? 2 : id < 0x10000 ? 3 : 5;
  const binLen = data.length < 0x100 ? 2 : data.length < 0x10000 ? 3 : 5;
  const body = 1 + 1 + idLen + 1 + binLen + data.length;
  const out = Buffer.allocUnsafe(4 + body);
  out.writeUInt32BE(body, 0);
  let p = 4;
  out[p++] = 0x94; // fixarray of 4
  out[p++] = t; // positive fixint
  if (idLen === 1) out[p++] = id;
  else if (idLen === 2) (out[p++] = 0xcc), (out[p++] = id);
  else if (idLen === 3) (out[p++] = 0xcd), out.writeUInt16BE(id, p), (p += 2);
  else (out[p++] = 0xce), out.writeUInt32BE(id, p), (p += 4);
  out[p++] = final ? 1 : 0;
  if (binLen === 2) (out[p++] = 0xc4), (out[p++] = data.length);
  else if (binLen === 3) (out[p++] = 0xc5), out.writeUInt16BE(data.length, p), (p += 2);
  else (out[p++] = 0xc6), out.writeUInt32BE(data.length, p), (p += 4);
  data.copy(out, p);
  return out;
}

/** Packs big messages, each into a buffer of its own size: the shared packer would allocate four
 *  times the message (and keep it while any message it holds is queued). Same options, same bytes. */
const bigPackr = new Packr({ useRecords: false });

/** Bytes of binary data directly in `v` or its own values (a block put, a block/get answer), the
 *  size hint for packMessage; nested deeper, it is not counted (the packer then grows as before). */
export function payloadBytes(v: unknown): number {
  if (v instanceof Uint8Array) return v.byteLength;
  if (typeof v !== 'object' || v === null) return 0;
  let n = 0;
  for (const x of Array.isArray(v) ? v : Object.values(v)) if (x instanceof Uint8Array) n += x.byteLength;
  return n;
}

/** msgpack of a request or response envelope: a message carrying at least a chunk of binary data
 *  (`hint` bytes) gets a buffer of its size plus room for the rest of the envelope. */
export function packMessage(v: unknown, hint: number): Buffer {
  if (hint < CHUNK_SIZE) return packr.pack(v);
  bigPackr.useBuffer(Buffer.allocUnsafeSlow(hint + 4096));
  return bigPackr.pack(v);
}

export function encodeFrame(f: Frame): Buffer {
  switch (f.t) {
    case T_HELLO:
      return withLength(packr.pack([T_HELLO, f.hello]));
    case T_REQ:
    case T_RES:
      return dataFrame(f.t, f.id, f.final, f.data);
    case T_PING:
    case T_PONG:
      return withLength(packr.pack([f.t, f.nonce]));
    case T_CANCEL:
      return withLength(packr.pack([T_CANCEL, f.id]));
    case T_RETIRE:
      return withLength(packr.pack([T_RETIRE, 0]));
  }
}

const isId = (x: unknown): x is number => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
const isVersion = (x: unknown): x is number => typeof x === 'number' && Number.isInteger(x) && x >= 0 && x <= PROTOCOL_NUMBER_MAX;

/** The protocol range a (decoded) hello announces. */
export function protocolOf(h: Hello): ProtocolRange {
  return { v: h.v, min: h.min ?? h.v };
}

/** What this node announces: its build's protocol or, to test rolling upgrades only,
 *  GRENIER_TEST_PROTOCOL="<version>[:<oldest accepted>]" (a node pretending to be another release). */
export function announcedProtocol(env: NodeJS.ProcessEnv = process.env): ProtocolRange {
  const t = env.GRENIER_TEST_PROTOCOL;
  if (!t) return { v: PROTOCOL_VERSION, min: PROTOCOL_MIN };
  const m = /^(\d{1,5})(?::(\d{1,5}))?$/.exec(t);
  const v = m ? Number(m[1]) : NaN;
  const min = m?.[2] !== undefined ? Number(m[2]) : Math.min(PROTOCOL_MIN, v);
  if (!m || !isVersion(v) || !isVersion(min) || min > v) throw new Error(`GRENIER_TEST_PROTOCOL: expected "<version>[:<oldest accepted>]" with oldest <= version, got ${JSON.stringify(t)}`);
  return { v, min };
}

/** Why two nodes cannot talk (undefined: they can, at protocol min(a.v, b.v)): each must speak
 *  a version the other still accepts. Worded for the operator of `me`. */
export function incompatibility(me: ProtocolRange, peer: ProtocolRange): string | undefined {
  if (me.v >= peer.min && peer.v >= me.min) return undefined;
  const what = `peer speaks RPC protocol ${peer.v} (and back to ${peer.min}); this node speaks ${me.v} (and back to ${me.min})`;
  return peer.min > me.v ? `${what}: upgrade this node` : `${what}: upgrade the peer`;
}

/** Decodes and validates one frame body (without its length prefix). */
export function decodeFrame(body: Buffer): Frame {
  let v: unknown;
  try {
    v = packr.unpack(body);
  } catch (e) {
    throw new ProtocolError(`bad msgpack: ${(e as Error).message}`);
  }
  if (!Array.isArray(v) || v.length < 2) throw new ProtocolError('frame is not an array');
  const t = v[0];
  switch (t) {
    case T_HELLO: {
      const h = v[1] as Record<string, unknown> | null;
      if (
        v.length !== 2 ||
        typeof h !== 'object' ||
        h === null ||
        !isVersion(h.v) ||
        !(h.min === undefined || (isVersion(h.min) && h.min <= h.v)) ||
        typeof h.id !== 'string' ||
        !(h.addr === undefined || h.addr === null || typeof h.addr === 'string') ||
        !isId(h.port) ||
        !Buffer.isBuffer(h.sig)
      )
        throw new ProtocolError('bad hello');
      return { t, hello: { v: h.v, ...(h.min === undefined ? {} : { min: h.min }), id: h.id, addr: typeof h.addr === 'string' ? h.addr : undefined, port: h.port, sig: h.sig } };
    }
    case T_REQ:
    case T_RES:
      if (v.length !== 4 || !isId(v[1]) || (v[2] !== 0 && v[2] !== 1) || !Buffer.isBuffer(v[3]))
        throw new ProtocolError('bad data frame');
      return { t, id: v[1], final: v[2] === 1, data: v[3] };
    case T_PING:
    case T_PONG:
      if (v.length !== 2 || !isId(v[1])) throw new ProtocolError('bad ping');
      return { t, nonce: v[1] };
    case T_CANCEL:
      if (v.length !== 2 || !isId(v[1])) throw new ProtocolError('bad cancel');
      return { t, id: v[1] };
    case T_RETIRE:
      if (v.length !== 2 || v[1] !== 0) throw new ProtocolError('bad retire');
      return { t };
    default:
      throw new ProtocolError(`unknown frame type ${String(t)}`);
  }
}

/** Splits a byte stream into frames; throws ProtocolError on the first bad one. */
export class FrameReader {
  // Pieces are joined only once a whole frame is there, so tiny TCP segments cost O(n), not O(n²).
  private parts: Buffer[] = [];
  private total = 0;

  push(data: Buffer): Frame[] {
    this.parts.push(data);
    this.total += data.length;
    const out: Frame[] = [];
    while (this.total >= 4) {
      let head = this.parts[0]!;
      if (head.length < 4) head = this.join();
      const len = head.readUInt32BE(0);
      if (len > MAX_FRAME) throw new ProtocolError(`frame of ${len} bytes exceeds ${MAX_FRAME}`);
      if (len === 0) throw new ProtocolError('empty frame');
      if (this.total < 4 + len) break;
      const buf = this.parts.length === 1 ? this.parts[0]! : this.join();
      out.push(decodeFrame(buf.subarray(4, 4 + len)));
      const rest = buf.subarray(4 + len);
      this.parts = rest.length ? [rest] : [];
      this.total = rest.length;
    }
    return out;
  }

  private join(): Buffer {
    const b = Buffer.concat(this.parts, this.total);
    this.parts = [b];
    return b;
  }
}
