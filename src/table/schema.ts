// The generic table schema: how an entry is keyed and how two versions of it merge (a CRDT).
// table/ knows nothing of S3; model/ supplies schemas.

export type Replication = 'sharded' | 'everywhere';

export interface TableSchema<E> {
  readonly name: string;
  readonly replication: Replication;
  partitionKey(e: E): string;
  sortKey(e: E): string;
  /** Commutative, associative, idempotent: merge(a, b) must equal merge(b, a). */
  merge(a: E, b: E): E;
  /** A tombstone may be garbage-collected once every replica holds it. */
  isTombstone(e: E): boolean;
  /** 32 bytes placing the partition key; its first byte is the partition. Default: SHA-256(pk).
   *  block_ref overrides it so its entries live on the nodes that hold the block itself. */
  pkHash?(pk: string): Buffer;
  /** Throws if a value received from a peer is not a well-formed entry of this table (checked,
   *  with the generic key/merge checks, before a peer's entry is stored). */
  validate?(e: unknown): void;
  /** For Table.insertAfter: the newest timestamp in `current` that `incoming` must be ordered
   *  after (what belongs to `incoming`'s own write excluded), or undefined if there is none. */
  newestOther?(current: E, incoming: E): number | undefined;
}

/** Called inside the write transaction that changed an entry, so derived data stays atomic with it. */
export type UpdateHook<E> = (before: E | undefined, after: E) => void;
