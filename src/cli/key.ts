// `grenier key …`: create, list, inspect, import, rename, expire and delete access keys (and the
// expired ones at once) and toggle their create-bucket right, over the admin API.
import type { Command } from 'commander';
import { clientFor, CliError, type AdminClient } from './client.ts';
import { date, perms, printFields, printJson, printTable } from './output.ts';
import type { KeyInfo, KeyListItem } from './types.ts';

/** Resolves a key id, id prefix or name to the key's info, as the API's search does. */
export function findKey(c: AdminClient, pattern: string, showSecret = false): Promise<KeyInfo> {
  return c.get<KeyInfo>('GetKeyInfo', { search: pattern, showSecretKey: showSecret ? 'true' : undefined });
}

function printKey(k: KeyInfo): void {
  const fields: [string, string][] = [
    ['Key name', k.name],
    ['Key ID', k.accessKeyId],
  ];
  if (k.secretAccessKey) fields.push(['Secret key', k.secretAccessKey]);
  fields.push(['Created', date(k.created)], ['Can create buckets', k.permissions.createBucket ? 'yes' : 'no']);
  if (k.expiration) fields.push(['Expires', `${date(k.expiration)}${k.expired ? ' (expired)' : ''}`]);
  printFields(fields);
  process.stdout.write('\nBuckets:\n');
  printTable(
    ['perms', 'aliases', 'id'],
    k.buckets.map((b) => [perms(b.permissions), b.globalAliases.join(', '), b.id]),
    '(no bucket permissions)',
  );
}

export function registerKey(program: Command): void {
  const key = program.command('key').description('manage access keys');

  key
    .command('create')
    .description('create an access key (its secret is shown now)')
    .argument('[name]', 'a name to recognise the key by')
    .option('--create-bucket', 'allow the key to create buckets')
    .option('--expires <date>', 'when the key stops working (RFC 3339, e.g. 2030-01-31T00:00:00Z)')
    .option('--json', 'print the API response as JSON')
    .action(async (name: string | undefined, o: { createBucket?: boolean; expires?: string; json?: boolean }, cmd: Command) => {
      const k = await clientFor(cmd).post<KeyInfo>('CreateKey', { name, allow: o.createBucket ? { createBucket: true } : undefined, expiration: o.expires });
      if (o.json) return printJson(k);
      printKey(k);
    });

  key
    .command('list')
    .description('list access keys')
    .option('--json', 'print the API response as JSON')
    .action(async (o: { json?: boolean }, cmd: Command) => {
      const keys = await clientFor(cmd).get<KeyListItem[]>('ListKeys');
      if (o.json) return printJson(keys);
      printTable(['id', 'created', 'name'], keys.map((k) => [k.id, date(k.created), k.name]), '(no keys)');
    });

  key
    .command('info')
    .description('show a key and its bucket permissions')
    .argument('<pattern>', 'key id, unique id prefix, or name')
    .option('--show-secret', 'also print the secret key')
    .option('--json', 'print the API response as JSON')
    .action(async (pattern: string, o: { showSecret?: boolean; json?: boolean }, cmd: Command) => {
      const k = await findKey(clientFor(cmd), pattern, o.showSecret);
      if (o.json) return printJson(k);
      printKey(k);
    });

  key
    .command('delete')
    .description('delete a key (its bucket permissions go with it)')
    .argument('<pattern>', 'key id, unique id prefix, or name')
    .option('--yes', 'really delete')
    .option('--json', 'print the deleted key as JSON')
    .action(async (pattern: string, o: { yes?: boolean; json?: boolean }, cmd: Command) => {
      const c = clientFor(cmd);
      const k = await findKey(c, pattern);
      if (!o.yes) throw new CliError(`this would delete key ${k.accessKeyId} ("${k.name}"); add --yes to really do it`);
      await c.post('DeleteKey', {}, { id: k.accessKeyId });
      if (o.json) return printJson(k);
      process.stdout.write(`Deleted key ${k.accessKeyId} ("${k.name}").\n`);
    });

  key
    .command('rename')
    .description('give a key a new name')
    .argument('<pattern>', 'key id, unique id prefix, or name')
    .argument('<new-name>', 'the new name')
    .option('--json', 'print the API response as JSON')
    .action(async (pattern: string, name: string, o: { json?: boolean }, cmd: Command) => {
      const c = clientFor(cmd);
      const k = await findKey(c, pattern);
      const out = await c.post<KeyInfo>('UpdateKey', { name }, { id: k.accessKeyId });
      if (o.json) return printJson(out);
      process.stdout.write(`Key ${k.accessKeyId} renamed "${k.name}" → "${out.name}".\n`);
    });

  key
    .command('set-expiration')
    .description('set when a key stops working, or "never"')
    .argument('<pattern>', 'key id, unique id prefix, or name')
    .argument('<date>', 'RFC 3339 date and time (e.g. 2030-01-31T00:00:00Z), or never')
    .option('--json', 'print the API response as JSON')
    .action(async (pattern: string, when: string, o: { json?: boolean }, cmd: Command) => {
      const c = clientFor(cmd);
      const k = await findKey(c, pattern);
      const out = await c.post<KeyInfo>('UpdateKey', when === 'never' ? { neverExpires: true } : { expiration: when }, { id: k.accessKeyId });
      if (o.json) return printJson(out);
      process.stdout.write(`Key ${k.accessKeyId} ${out.expiration ? `expires ${date(out.expiration)}${out.expired ? ' (already expired)' : ''}` : 'never expires'}.\n`);
    });

  key
    .command('delete-expired')
    .description('delete every key whose expiration has passed')
    .option('--yes', 'really delete them')
    .option('--json', 'print the deleted keys as JSON')
    .action(async (o: { yes?: boolean; json?: boolean }, cmd: Command) => {
      const c = clientFor(cmd);
      const expired = (await c.get<KeyListItem[]>('ListKeys')).filter((k) => k.expired);
      if (expired.length && !o.yes) {
        const names = expired.map((k) => `${k.id} ("${k.name}")`).join(', ');
        throw new CliError(`this would delete ${expired.length} expired key(s): ${names}; add --yes to really do it`);
      }
      for (const k of expired) await c.post('DeleteKey', {}, { id: k.id });
      if (o.json) return printJson(expired);
      process.stdout.write(expired.length ? `Deleted ${expired.length} expired key(s): ${expired.map((k) => k.id).join(', ')}.\n` : 'No expired keys.\n');
    });

  key
    .command('import')
    .description('import an existing key pair (e.g. from Garage)')
    .argument('<id>', 'access key id (GK + 24 hex)')
    .argument('<secret>', 'secret key (64 hex)')
    .option('-n, --name <name>', 'a name for the key')
    .option('--json', 'print the API response as JSON')
    .action(async (id: string, secret: string, o: { name?: string; json?: boolean }, cmd: Command) => {
      const k = await clientFor(cmd).post<KeyInfo>('ImportKey', { accessKeyId: id, secretAccessKey: secret, name: o.name });
      if (o.json) return printJson(k);
      process.stdout.write(`Imported key ${k.accessKeyId} ("${k.name}").\n`);
    });

  key
    .command('allow-sites')
    .description('let a key create up to N sites itself under the root domain (0: none)')
    .argument('<pattern>', 'key id, unique id prefix, or name')
    .requiredOption('--max <n>', 'how many sites the key may create')
    .option('--json', 'print the API response as JSON')
    .action(async (pattern: string, o: { max: string; json?: boolean }, cmd: Command) => {
      const n = Number(o.max);
      if (!/^\d+$/.test(o.max) || !Number.isSafeInteger(n)) throw new CliError(`--max must be a whole number, not "${o.max}"`, 2);
      const c = clientFor(cmd);
      const k = await findKey(c, pattern);
      const out = await c.post<KeyInfo>('UpdateKey', { sitesMax: n }, { id: k.accessKeyId });
      if (o.json) return printJson(out);
      process.stdout.write(`Key ${k.accessKeyId} may now create ${n} site${n === 1 ? '' : 's'} itself.\n`);
    });

  for (const allow of [true, false]) {
    key
      .command(allow ? 'allow' : 'deny')
      .description(allow ? 'grant a key the right to create buckets' : 'revoke a key’s right to create buckets')
      .argument('<pattern>', 'key id, unique id prefix, or name')
      .option('--create-bucket', 'the create-bucket right (the only key-level right)')
      .option('--json', 'print the API response as JSON')
      .action(async (pattern: string, o: { createBucket?: boolean; json?: boolean }, cmd: Command) => {
        if (!o.createBucket) throw new CliError('nothing to change: add --create-bucket', 2);
        const c = clientFor(cmd);
        const k = await findKey(c, pattern);
        const out = await c.post<KeyInfo>('UpdateKey', { [allow ? 'allow' : 'deny']: { createBucket: true } }, { id: k.accessKeyId });
        if (o.json) return printJson(out);
        process.stdout.write(`Key ${k.accessKeyId} ${allow ? 'may now' : 'may no longer'} create buckets.\n`);
      });
  }
}
