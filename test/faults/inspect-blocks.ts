// After a kept fault run (`--keep`; GRENIER_TEST_KEEP=1 keeps the node directories): for every
// acknowledged write still referenced (set elements, every version in the versioned bucket), which
// nodes' data directories hold each of its blocks; with block hashes, each node's refcount and
// block_ref entries for them. Tells lost (no file anywhere) from unreachable (a file somewhere).
// Usage: node test/faults/inspect-blocks.ts <evidence dir> <cluster root> [hash-prefix…]
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sha256 } from '../../src/util/hash.ts';
import { Db } from '../../src/db/db.ts';
import { bodyFor } from './lib/values.ts';
import { REG_BUCKET } from './lib/workload.ts';

const [ev, root, ...prefixes] = process.argv.slice(2);
if (!ev || !root) {
  console.error('usage: node test/faults/inspect-blocks.ts <evidence dir> <cluster root> [hash-prefix…]');
  process.exit(2);
}
const BLOCK = 65536; // the fault runs' block_size
const PART_MIN = 5 * 1024 * 1024; // the workload's first part of a two-part upload
const nodes = readdirSync(root).filter((d) => /^n\d/.test(d)).sort();
// A tmpfs data disk (disk-full) is copied to data.kept before its unmount.
const holds = (n: string, hex: string) =>
  ['data', 'data.kept'].some((d) => {
    const dir = join(root, n, d, hex.slice(0, 2), hex.slice(2, 4));
    return hex.length === 64 ? ['', '.zst'].some((z) => existsSync(join(dir, hex + z))) : existsSync(dir) && readdirSync(dir).some((f) => f.startsWith(hex));
  });

if (prefixes.length === 0) {
  const ops = readFileSync(join(ev, 'history.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  const t0 = Math.min(...ops.map((o) => o.start));
  const copies: Record<number, number> = {};
  const gone: string[] = [];
  for (const o of ops) {
    // Overwrites in the unversioned bucket free their blocks legitimately: not counted.
    if (!['put', 'add', 'mpu'].includes(o.kind) || o.status !== 'ok' || !(o.size > 3072) || o.bucket === REG_BUCKET) continue;
    const body = bodyFor(o.bucket, o.key, o.writeId, o.size);
    const parts = o.kind === 'mpu' && o.size > PART_MIN ? [body.subarray(0, PART_MIN), body.subarray(PART_MIN)] : [body];
    for (const p of parts)
      for (let i = 0; i < p.length; i += BLOCK) {
        const hex = sha256(p.subarray(i, i + BLOCK)).toString('hex');
        const on = nodes.filter((n) => holds(n, hex)).length;
        copies[on] = (copies[on] ?? 0) + 1;
        if (on === 0) gone.push(`${hex.slice(0, 16)} #${o.id} ${o.kind} ${o.bucket}/${o.key} w${o.writeId} acknowledged at ${((o.end - t0) / 1000).toFixed(1)}s`);
      }
  }
  console.log(`nodes: ${nodes.join(' ')}`);
  console.log(`blocks of acknowledged, still referenced writes by number of nodes holding a file: ${JSON.stringify(copies)}`);
  for (const g of gone.slice(0, 50)) console.log(`  on no node: ${g}`);
} else {
  for (const n of nodes) {
    const db = new Db(join(root, n, 'meta'));
    const rc = db.tree<{ count: number; zeroSince: number }>('block_rc');
    const refs = db.tree<{ block: string; version: string; deleted: boolean }>('table:block_ref');
    for (const w of prefixes) {
      let r = 'none';
      for (const { key, value } of rc.range({ start: Buffer.from(w.padEnd(64, '0'), 'hex'), limit: 1 })) if (Buffer.from(key as Buffer).toString('hex').startsWith(w)) r = JSON.stringify(value);
      const rs: string[] = [];
      for (const { value } of refs.range()) if (value.block?.startsWith(w)) rs.push(`${value.version.slice(0, 8)}:${value.deleted ? 'deleted' : 'live'}`);
      console.log(`${n} ${w.slice(0, 16)} file=${holds(n, w) ? 'yes' : 'no'} rc=${r} refs=[${rs.join(',')}]`);
    }
    await db.close();
  }
}
