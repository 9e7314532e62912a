// Commit section (issue 12): small metadata writes with metadata_fsync on, one LMDB commit per
// write (Db.transaction, what every write did before) against the group commit (Db.write), same
// table, same concurrency, in this process: the cost the group commit removes from small PUTs.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Db } from '../src/db/db.ts';
import { LocalTable } from '../src/table/local.ts';
import { blockRefSchema, type BlockRefEntry } from '../src/model/block-ref.ts';
import { defaultLimits } from '../src/config/config.ts';
import { heading, info, load1, opsFor, printResult, result, type Result, type SectionOptions } from './lib.ts';

const CONCURRENCY = [16, 64];

function entry(i: number): BlockRefEntry {
  return { block: (i * 2654435761 >>> 0).toString(16).padStart(64, '0'), version: `v-${i}`, deleted: false };
}

export async function commitSection(opts: SectionOptions): Promise<Result[]> {
  heading('Metadata commits, one process (metadata_fsync on)');
  const dir = mkdtempSync(join(tmpdir(), 'grenier-bench-commit-'));
  const results: Result[] = [];
  const db = new Db(dir, { fsync: true, limits: defaultLimits() });
  try {
    const t = new LocalTable(db, blockRefSchema);
    const seconds = Math.max(1, 3 * opts.scale);
    info(`block_ref entries, ${seconds} s per run; each writer yields to the event loop between writes (as a request handler does)`);
    let n = 0;
    for (const c of CONCURRENCY) {
      const l0 = load1();
      const single = await opsFor(c, seconds, async () => {
        await new Promise((r) => setImmediate(r));
        t.insert(entry(n++));
      });
      const s0 = { ...db.groupStats };
      const grouped = await opsFor(c, seconds, async () => {
        await new Promise((r) => setImmediate(r));
        await t.insertManyGrouped([entry(n++)]);
      });
      const commits = db.groupStats.commits - s0.commits;
      const writes = db.groupStats.callers - s0.callers;
      const r = result({
        section: 'commit',
        name: `insert c=${c}`,
        unit: 'ops/s',
        grenier: grouped.perSec,
        reference: single.perSec,
        referenceName: 'commit per write',
        loadStart: l0,
        note: `group commit: ${writes} writes in ${commits} commits (${(writes / Math.max(1, commits)).toFixed(1)} per commit)`,
      });
      printResult(r);
      results.push(r);
    }
  } finally {
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  }
  return results;
}
