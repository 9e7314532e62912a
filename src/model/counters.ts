// Per-bucket usage counters (objects, bytes), updated in the same transaction as the object
// entry that changed them, so quotas never read a count that disagrees with the data.
import type { Db, Tree } from '../db/db.ts';

export interface Usage {
  objects: number;
  bytes: number;
}

export class Counters {
  private readonly tree: Tree<Usage>;
  constructor(db: Db) {
    this.tree = db.tree<Usage>('counters');
  }
  get(bucket: string): Usage {
    return this.tree.get(Buffer.from(bucket)) ?? { objects: 0, bytes: 0 };
  }
  /** Must run inside a Db transaction. */
  add(bucket: string, d: Usage): void {
    if (d.objects === 0 && d.bytes === 0) return;
    const cur = this.get(bucket);
    this.tree.put(Buffer.from(bucket), { objects: cur.objects + d.objects, bytes: cur.bytes + d.bytes });
  }
}
