// The model layer's error (a code the API layers map to S3 or admin errors, and a message), in a
// leaf module so any model file can throw it without importing, and cycling through, the others.
import { GrenierError } from '../util/errors.ts';

export class ModelError extends GrenierError {}
