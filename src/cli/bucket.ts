// `grenier bucket …`: create, list, inspect and delete buckets, manage their global aliases,
// key permissions, website access and quotas, over the admin API.
import type { Command } from 'commander';
import { clientFor, CliError, type AdminClient } from './client.ts';
import { bytes, date, parseBytes, perms, printFields, printJson, printTable } from './output.ts';
import { findKey } from './key.ts';
import type { BucketInfo, BucketListItem } from './types.ts';

/** Resolves an alias, id or unique id prefix to the bucket's info. */
export function findBucket(c: AdminClient, pattern: string): Promise<BucketInfo> {
  return c.get<BucketInfo>('GetBucketInfo', { search: pattern });
}

/** Buckets `bucket list` shows unless told; ListBuckets' largest page (api/admin/bucket-list.ts). */
const LIST_DEFAULT = 100;
const LIST_PAGE_MAX = 1000;

interface ListOpts {
  limit: string;
  all?: boolean;
  search?: string;
  start?: string;
  json?: boolean;
}

/** Pages through ListBuckets (?limit=&start=): each request is bounded on the node, so a listing
 *  at 50,000 buckets costs its pages, never one answer holding them all. `next`: the token to go
 *  on from, null when the listing is complete. */
export async function listBuckets(c: AdminClient, o: ListOpts): Promise<{ buckets: BucketListItem[]; next: string | null }> {
  const limit = o.all ? Infinity : Number(o.limit);
  if (!o.all && !(/^\d{1,9}$/.test(o.limit) && limit >= 1)) throw new CliError(`--limit "${o.limit}": give a whole number of buckets, at least 1 (or --all)`, 2);
  const buckets: BucketListItem[] = [];
  let start = o.start;
  // A page can come back short (the node reads a bounded number of entries per request): go on
  // while it gives a token.
  for (;;) {
    const want = Math.min(limit - buckets.length, LIST_PAGE_MAX);
    const p = await c.get<{ buckets: BucketListItem[]; nextStart: string | null }>('ListBuckets', { limit: String(want), start, search: o.search });
    buckets.push(...p.buckets.slice(0, want));
    if (p.nextStart === null) return { buckets, next: null };
    start = p.nextStart;
    if (buckets.length >= limit) return { buckets, next: start };
  }
}

function quota(v: number | null, fmt: (n: number) => string): string {
  return v === null ? 'none' : fmt(v);
}

function printBucket(b: BucketInfo): void {
  const w = b.websiteConfig;
  printFields([
    ['Bucket', b.id],
    ['Created', date(b.created)],
    ['Aliases', b.globalAliases.join(', ') || '(none)'],
    ['Objects', String(b.objects)],
    ['Size', bytes(b.bytes)],
    ['Quota: size', quota(b.quotas.maxSize, bytes)],
    ['Quota: objects', quota(b.quotas.maxObjects, String)],
    ['Website', w ? `enabled (index ${w.indexDocument ?? '-'}${w.errorDocument ? `, error ${w.errorDocument}` : ''})` : 'disabled'],
  ]);
  process.stdout.write('\nKeys:\n');
  printTable(['perms', 'id', 'name'], b.keys.map((k) => [perms(k.permissions), k.accessKeyId, k.name]), '(no keys)');
}

function done(o: { json?: boolean }, b: BucketInfo, message: string): void {
  if (o.json) printJson(b);
  else process.stdout.write(message + '\n');
}

const name = (b: BucketInfo): string => b.globalAliases[0] ?? b.id.slice(0, 16);

interface PermOpts {
  read?: boolean;
  write?: boolean;
  owner?: boolean;
  key: string;
  json?: boolean;
}

export function registerBucket(program: Command): void {
  const bucket = program.command('bucket').description('manage buckets');

  bucket
    .command('create')
    .description('create a bucket')
    .argument('<name>', 'the bucket’s global alias (its S3 name)')
    .option('--json', 'print the API response as JSON')
    .action(async (n: string, o: { json?: boolean }, cmd: Command) => {
      const b = await clientFor(cmd).post<BucketInfo>('CreateBucket', { globalAlias: n });
      done(o, b, `Created bucket ${n} (id ${b.id}).`);
    });

  bucket
    .command('inspect-object')
    .description('every stored version of an object: state, size, etag, headers and blocks')
    .argument('<bucket>', 'bucket alias, id, or unique id prefix')
    .argument('<key>', 'object key')
    .option('--json', 'print the API response as JSON')
    .action(async (pattern: string, key: string, o: { json?: boolean }, cmd: Command) => {
      const c = clientFor(cmd);
      const b = await findBucket(c, pattern);
      const r = await c.get<{ bucketId: string; key: string; versions: any[] }>('InspectObject', { bucketId: b.id, key });
      if (o.json) return printJson(r);
      process.stdout.write(`Bucket ${r.bucketId}, key ${r.key}: ${r.versions.length} version(s)\n`);
      for (const v of r.versions) {
        const state = v.deleteMarker ? 'delete marker' : v.uploading ? 'uploading' : v.aborted ? 'aborted' : 'complete';
        process.stdout.write(`\n${v.uuid}  ${v.timestamp}  ${state}${v.size !== null ? `  ${bytes(v.size)}` : ''}${v.etag ? `  etag ${v.etag}` : ''}${v.inline ? '  (inline)' : ''}\n`);
        for (const [h, x] of v.headers) process.stdout.write(`  ${h}: ${x}\n`);
        if (v.blocks?.length) printTable(['part', 'offset', 'size', 'hash'], v.blocks.map((bl: any) => [String(bl.partNumber), String(bl.offset), String(bl.size), bl.hash]));
      }
    });

  bucket
    .command('list')
    .description('list buckets by name (those without a name last), the first 100 unless told')
    .option('--limit <n>', 'list at most n buckets', String(LIST_DEFAULT))
    .option('--all', 'list every bucket (asked for 1000 at a time)')
    .option('--search <text>', 'only buckets whose name contains text, or whose id starts with it')
    .option('--start <token>', 'go on from where an earlier listing stopped (the token it printed)')
    .option('--json', 'print the buckets as JSON')
    .action(async (o: ListOpts, cmd: Command) => {
      const { buckets, next } = await listBuckets(clientFor(cmd), o);
      if (o.json) printJson(buckets);
      else printTable(['id', 'created', 'aliases'], buckets.map((b) => [b.id.slice(0, 16), date(b.created), b.globalAliases.join(', ')]), '(no buckets)');
      if (next !== null) process.stderr.write(`(more buckets may follow: --all lists them all, --start ${next} goes on from here)\n`);
    });

  bucket
    .command('info')
    .description('show a bucket: usage, quotas, website, keys')
    .argument('<name>', 'alias, id, or unique id prefix')
    .option('--json', 'print the API response as JSON')
    .action(async (n: string, o: { json?: boolean }, cmd: Command) => {
      const b = await findBucket(clientFor(cmd), n);
      if (o.json) return printJson(b);
      printBucket(b);
    });

  bucket
    .command('delete')
    .description('delete an empty bucket and all its aliases')
    .argument('<name>', 'alias, id, or unique id prefix')
    .option('--yes', 'really delete')
    .option('--json', 'print the deleted bucket as JSON')
    .action(async (n: string, o: { yes?: boolean; json?: boolean }, cmd: Command) => {
      const c = clientFor(cmd);
      const b = await findBucket(c, n);
      if (!o.yes) throw new CliError(`this would delete bucket ${name(b)} (id ${b.id}); add --yes to really do it`);
      await c.post('DeleteBucket', {}, { id: b.id });
      done(o, b, `Deleted bucket ${name(b)}.`);
    });

  for (const allow of [true, false]) {
    bucket
      .command(allow ? 'allow' : 'deny')
      .description(allow ? 'grant a key permissions on a bucket' : 'revoke a key’s permissions on a bucket')
      .argument('<bucket>', 'alias, id, or unique id prefix')
      .requiredOption('--key <pattern>', 'key id, unique id prefix, or name')
      .option('--read', 'read objects')
      .option('--write', 'write and delete objects')
      .option('--owner', 'change bucket settings')
      .option('--json', 'print the API response as JSON')
      .action(async (n: string, o: PermOpts, cmd: Command) => {
        if (!o.read && !o.write && !o.owner) throw new CliError('give at least one of --read, --write, --owner', 2);
        const c = clientFor(cmd);
        const b = await findBucket(c, n);
        const k = await findKey(c, o.key);
        const permissions = { read: !!o.read, write: !!o.write, owner: !!o.owner };
        const out = await c.post<BucketInfo>(allow ? 'AllowBucketKey' : 'DenyBucketKey', { bucketId: b.id, accessKeyId: k.accessKeyId, permissions });
        const now = out.keys.find((x) => x.accessKeyId === k.accessKeyId)?.permissions ?? { read: false, write: false, owner: false };
        done(o, out, `Key ${k.accessKeyId} ("${k.name}") on bucket ${name(b)}: ${perms(now)}.`);
      });
  }

  for (const add of [true, false]) {
    bucket
      .command(add ? 'alias' : 'unalias')
      .description(add ? 'give a bucket another global alias' : 'remove one of a bucket’s global aliases')
      .argument('<bucket>', 'alias, id, or unique id prefix')
      .argument('<alias>', 'the alias')
      .option('--json', 'print the API response as JSON')
      .action(async (n: string, alias: string, o: { json?: boolean }, cmd: Command) => {
        const c = clientFor(cmd);
        const b = await findBucket(c, n);
        const out = await c.post<BucketInfo>(add ? 'AddBucketAlias' : 'RemoveBucketAlias', { bucketId: b.id, globalAlias: alias });
        done(o, out, `Bucket ${b.id.slice(0, 16)} aliases: ${out.globalAliases.join(', ')}.`);
      });
  }

  bucket
    .command('website')
    .description('serve a bucket as a static website, or stop')
    .argument('<bucket>', 'alias, id, or unique id prefix')
    .option('--allow', 'enable website access')
    .option('--deny', 'disable website access')
    .option('--index-document <file>', 'index document (with --allow)')
    .option('--error-document <file>', 'error document (with --allow)')
    .option('--json', 'print the API response as JSON')
    .action(async (n: string, o: { allow?: boolean; deny?: boolean; indexDocument?: string; errorDocument?: string; json?: boolean }, cmd: Command) => {
      if (!!o.allow === !!o.deny) throw new CliError('give exactly one of --allow or --deny', 2);
      const c = clientFor(cmd);
      const b = await findBucket(c, n);
      const websiteAccess = o.allow ? { enabled: true, indexDocument: o.indexDocument, errorDocument: o.errorDocument } : { enabled: false };
      const out = await c.post<BucketInfo>('UpdateBucket', { websiteAccess }, { id: b.id });
      done(o, out, `Website access for ${name(b)}: ${out.websiteAccess ? 'enabled' : 'disabled'}.`);
    });

  bucket
    .command('set-quotas')
    .description('limit a bucket’s size and object count ("none" removes a limit)')
    .argument('<bucket>', 'alias, id, or unique id prefix')
    .option('--max-size <size>', 'e.g. 10GB, 500MiB, or none')
    .option('--max-objects <n>', 'a count, or none')
    .option('--json', 'print the API response as JSON')
    .action(async (n: string, o: { maxSize?: string; maxObjects?: string; json?: boolean }, cmd: Command) => {
      if (o.maxSize === undefined && o.maxObjects === undefined) throw new CliError('give --max-size and/or --max-objects', 2);
      const c = clientFor(cmd);
      const b = await findBucket(c, n);
      const parse = (v: string | undefined, cur: number | null, what: string, p: (s: string) => number | undefined): number | null => {
        if (v === undefined) return cur;
        if (v === 'none') return null;
        const x = p(v);
        if (x === undefined) throw new CliError(`invalid ${what} "${v}"`, 2);
        return x;
      };
      const intOnly = (s: string): number | undefined => (/^\d+$/.test(s) ? Number(s) : undefined);
      const quotas = {
        maxSize: parse(o.maxSize, b.quotas.maxSize, '--max-size', parseBytes),
        maxObjects: parse(o.maxObjects, b.quotas.maxObjects, '--max-objects', intOnly),
      };
      const out = await c.post<BucketInfo>('UpdateBucket', { quotas }, { id: b.id });
      done(o, out, `Quotas for ${name(b)}: size ${quota(out.quotas.maxSize, bytes)}, objects ${quota(out.quotas.maxObjects, String)}.`);
    });

  bucket
    .command('cleanup-uploads')
    .description('abort a bucket’s unfinished multipart uploads older than --older-than (their parts count in its usage)')
    .argument('<bucket>', 'alias, id, or unique id prefix')
    .option('--older-than <secs>', 'age in seconds', '86400')
    .option('--json', 'print the API response as JSON')
    .action(async (n: string, o: { olderThan: string; json?: boolean }, cmd: Command) => {
      if (!/^\d{1,12}$/.test(o.olderThan)) throw new CliError(`invalid --older-than "${o.olderThan}" (seconds)`, 2);
      const c = clientFor(cmd);
      const b = await findBucket(c, n);
      const out = await c.post<{ uploadsDeleted: number }>('CleanupIncompleteUploads', { bucketId: b.id, olderThanSecs: Number(o.olderThan) });
      if (o.json) printJson(out);
      else process.stdout.write(`Aborted ${out.uploadsDeleted} unfinished upload(s) of ${name(b)}.\n`);
    });
}
