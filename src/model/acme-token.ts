// The ACME HTTP-01 challenge table (replicated everywhere): token → key authorization, so
// whichever node the certificate authority reaches can answer the challenge.
import { mergeLww, type Lww } from '../table/crdt.ts';
import type { TableSchema } from '../table/schema.ts';

export interface AcmeToken {
  token: string;
  host: string;
  /** null once the challenge is over (tombstone). */
  keyAuth: Lww<string | null>;
  /** After this the token is dead even if its removal was lost (ms since epoch). */
  expires: number;
}

export const acmeTokenSchema: TableSchema<AcmeToken> = {
  name: 'acme_token',
  replication: 'everywhere',
  partitionKey: () => 'acme_token',
  sortKey: (t) => t.token,
  merge: (a, b) => ({
    token: a.token,
    host: a.host < b.host ? a.host : b.host,
    keyAuth: mergeLww(a.keyAuth, b.keyAuth),
    expires: Math.max(a.expires, b.expires),
  }),
  isTombstone: (t) => t.keyAuth.v === null,
};

/** RFC 8555 tokens are base64url; anything else is not a challenge we could have stored. */
export function isTokenSyntax(s: string): boolean {
  return /^[A-Za-z0-9_-]{16,256}$/.test(s);
}
