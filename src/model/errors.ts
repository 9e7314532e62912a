// The model layer's error (a code the API layers map to S3 or admin errors, and a message), in a
// leaf module so any model file can throw it without importing, and cycling through, the others.
import { GrenierError } from '../util/errors.ts';

export class ModelError extends GrenierError {}

/** Not enough replicas reachable for a read or write (rpc/quorum.ts), re-exported so the API layers
 *  can map it to 503 without importing rpc/ (test/layers.test.ts). */
export { QuorumError } from '../rpc/quorum.ts';
