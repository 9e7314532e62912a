// The fixed partition count of the cluster (ARCHITECTURE §3): a key's partition is the first byte of its hash.
export const PARTITION_COUNT = 256;
