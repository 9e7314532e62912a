// Types of sign.js (the page's request signing), for the tests that run it under Node.
export interface SignOpts {
  /** Use the plain-JS SHA-256/HMAC even where WebCrypto exists. */
  forceJs?: boolean;
}
export function sha256Bytes(data: Uint8Array): Uint8Array;
export function hmacBytes(key: Uint8Array, msg: Uint8Array): Uint8Array;
export function sha256Hex(text: string, opts?: SignOpts): Promise<string>;
export function hmacHex(secret: string, text: string, opts?: SignOpts): Promise<string>;
export function ownerHeaders(keyId: string, secret: string, method: string, target: string, body: string, node: string, now?: Date, opts?: SignOpts): Promise<Record<string, string>>;
