// The table interface the rest of the program uses. Async on purpose: today it reads and writes
// the local store; replication (quorum reads/writes, read repair) slots in behind it.
import type { Db } from '../db/db.ts';
import { LocalTable, type RangeQuery } from './local.ts';
import type { TableSchema } from './schema.ts';

export type { RangeQuery };

export class Table<E> {
  readonly local: LocalTable<E>;
  readonly schema: TableSchema<E>;
  constructor(db: Db, schema: TableSchema<E>) {
    this.schema = schema;
    this.local = new LocalTable(db, schema);
  }
  async get(pk: string, sk: string): Promise<E | undefined> {
    return this.local.get(pk, sk);
  }
  async insert(e: E): Promise<E> {
    return this.local.insert(e);
  }
  async insertMany(es: E[]): Promise<E[]> {
    return this.local.insertMany(es);
  }
  async range(pk: string, q: RangeQuery = {}): Promise<E[]> {
    return [...this.local.range(pk, q)];
  }
}
