// `grenier block list-errors|info|retry-now|purge`: the blocks a node could not resync, what
// references one, retrying now, and purging the objects that use lost blocks (Garage's commands).
import type { Command } from 'commander';
import { clientFor, CliError, type AdminClient } from './client.ts';
import { printJson, printTable } from './output.ts';

interface MultiNode<T> {
  success: Record<string, T>;
  error: Record<string, string>;
}

interface BlockError {
  blockHash: string;
  refcount: number;
  errorCount: number;
  lastTrySecsAgo: number;
  nextTryInSecs: number;
  lastError?: string;
}

/** Prints the per-node errors of a multi-node answer on stderr; fails when every node failed. */
function reportErrors(r: MultiNode<unknown>): void {
  for (const [id, e] of Object.entries(r.error)) process.stderr.write(`node ${id.slice(0, 16)}: ${e}\n`);
  if (Object.keys(r.success).length === 0 && Object.keys(r.error).length > 0) throw new CliError('no node could answer');
}

const nodeOpt = ['-n, --node <id>', 'node id (or prefix), self, or * for every node', 'self'] as const;

function multi<T>(c: AdminClient, method: 'get' | 'post', op: string, node: string, body?: unknown): Promise<MultiNode<T>> {
  return method === 'get' ? c.get<MultiNode<T>>(op, { node }) : c.post<MultiNode<T>>(op, body, { node });
}

export function registerBlock(program: Command): void {
  const block = program.command('block').description('data blocks: resync errors, references, retries, purges');

  block
    .command('list-errors')
    .description('blocks whose resync failed, with their retry back-off')
    .option(...nodeOpt)
    .option('--json', 'print the API response as JSON')
    .action(async (o: { node: string; json?: boolean }, cmd: Command) => {
      const r = await multi<BlockError[]>(clientFor(cmd), 'get', 'ListBlockErrors', o.node);
      if (o.json) return printJson(r);
      reportErrors(r);
      const rows: string[][] = [];
      for (const [id, list] of Object.entries(r.success))
        for (const e of list) rows.push([id.slice(0, 16), e.blockHash, String(e.refcount), String(e.errorCount), `${e.lastTrySecsAgo}s ago`, `in ${e.nextTryInSecs}s`, e.lastError ?? '']);
      printTable(['node', 'hash', 'refs', 'errors', 'last try', 'next try', 'last error'], rows, '(no block errors)');
    });

  block
    .command('info')
    .description('refcount, references and resync state of a block')
    .argument('<hash>', 'block hash (64 hex characters)')
    .option(...nodeOpt)
    .option('--json', 'print the API response as JSON')
    .action(async (hash: string, o: { node: string; json?: boolean }, cmd: Command) => {
      const r = await multi<any>(clientFor(cmd), 'post', 'GetBlockInfo', o.node, { blockHash: hash });
      if (o.json) return printJson(r);
      reportErrors(r);
      for (const [id, b] of Object.entries(r.success)) {
        process.stdout.write(`Node ${id.slice(0, 16)}: refcount ${b.refcount}, ${b.storedHere ? 'stored here' : 'not stored here'}${b.resyncError ? `, resync failed ${b.resyncError.errorCount}× (${b.resyncError.lastError})` : ''}\n`);
        printTable(['version', 'ref deleted', 'version deleted', 'gc'], b.versions.map((v: any) => [v.versionId, String(v.refDeleted), String(v.versionDeleted), String(v.garbageCollected)]), '(no references)');
      }
    });

  block
    .command('retry-now')
    .description('retry the resync of these blocks now (or of every block in error with --all)')
    .argument('[hashes...]', 'block hashes')
    .option('--all', 'every block in error')
    .option(...nodeOpt)
    .option('--json', 'print the API response as JSON')
    .action(async (hashes: string[], o: { all?: boolean; node: string; json?: boolean }, cmd: Command) => {
      if (!o.all && hashes.length === 0) throw new CliError('give block hashes, or --all', 2);
      if (o.all && hashes.length) throw new CliError('give block hashes or --all, not both', 2);
      const r = await multi<{ count: number }>(clientFor(cmd), 'post', 'RetryBlockResync', o.node, o.all ? { all: true } : { blockHashes: hashes });
      if (o.json) return printJson(r);
      reportErrors(r);
      for (const [id, x] of Object.entries(r.success)) process.stdout.write(`node ${id.slice(0, 16)}: ${x.count} block(s) rescheduled\n`);
    });

  block
    .command('purge')
    .description('DELETE FOR GOOD every object and upload that uses these blocks (for blocks lost on every node)')
    .argument('<hashes...>', 'block hashes')
    .option('--yes', 'confirm: the objects are deleted and cannot come back')
    .option(...nodeOpt)
    .option('--json', 'print the API response as JSON')
    .action(async (hashes: string[], o: { yes?: boolean; node: string; json?: boolean }, cmd: Command) => {
      if (!o.yes) throw new CliError(`this deletes every object using ${hashes.length} block(s) for good; add --yes to do it`);
      const r = await multi<Record<string, number>>(clientFor(cmd), 'post', 'PurgeBlocks', o.node, hashes);
      if (o.json) return printJson(r);
      reportErrors(r);
      for (const [id, x] of Object.entries(r.success))
        process.stdout.write(`node ${id.slice(0, 16)}: ${x.blocksPurged} block(s) purged: ${x.objectsDeleted} object(s), ${x.uploadsDeleted} upload(s), ${x.versionsDeleted} version(s), ${x.blockRefsPurged} reference(s) deleted\n`);
    });
}
