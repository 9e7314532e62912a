// `grenier admin-token …`: list, inspect, create, change and delete scoped admin tokens over the
// admin API (the config's admin_token is the master that creates the first ones).
import type { Command } from 'commander';
import { clientFor, CliError, type AdminClient } from './client.ts';
import { date, printFields, printJson, printTable } from './output.ts';

export interface AdminTokenInfo {
  id: string | null;
  name: string;
  created: string | null;
  expiration: string | null;
  expired: boolean;
  scope: string[];
  secretToken?: string;
}

const UNITS: Record<string, number> = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000 };

/** "30d", "12h", "2w", "90m" from now, or an RFC 3339 date, as an ISO date; "never" → null. */
export function parseExpiry(s: string, now = Date.now()): string | null {
  if (s === 'never') return null;
  const m = /^(\d+)\s*([mhdw])$/.exec(s.trim());
  if (m) return new Date(now + Number(m[1]) * UNITS[m[2]!]!).toISOString();
  const t = Date.parse(s);
  if (Number.isNaN(t)) throw new CliError(`--expires "${s}": give a duration (90m, 12h, 30d, 2w), a date (2030-01-31T00:00:00Z) or "never"`, 2);
  return new Date(t).toISOString();
}

function scopeList(s: string): string[] {
  return s.split(',').map((x) => x.trim()).filter(Boolean);
}

function find(c: AdminClient, pattern: string): Promise<AdminTokenInfo> {
  return c.get<AdminTokenInfo>('GetAdminTokenInfo', { search: pattern });
}

function printToken(t: AdminTokenInfo): void {
  const fields: [string, string][] = [
    ['Name', t.name],
    ['ID', t.id ?? '(config)'],
  ];
  if (t.secretToken) fields.push(['Token', t.secretToken]);
  fields.push(['Created', date(t.created ?? undefined)], ['Expires', t.expiration ? `${date(t.expiration)}${t.expired ? ' (expired)' : ''}` : 'never'], ['Scope', t.scope.join(', ') || '(nothing)']);
  printFields(fields);
  if (t.secretToken) process.stdout.write('\nKeep the token now: it is shown only this once (the cluster stores only its hash).\n');
}

export function registerAdminToken(program: Command): void {
  const at = program.command('admin-token').description('manage scoped admin tokens (one per person)');

  at.command('list')
    .description('list admin tokens')
    .option('--json', 'print the API response as JSON')
    .action(async (o: { json?: boolean }, cmd: Command) => {
      const list = await clientFor(cmd).get<AdminTokenInfo[]>('ListAdminTokens');
      if (o.json) return printJson(list);
      printTable(
        ['id', 'name', 'expires', 'scope'],
        list.map((t) => [t.id ?? '(config)', t.name, t.expiration ? date(t.expiration) + (t.expired ? ' (expired)' : '') : 'never', t.scope.join(',')]),
        '(no admin tokens)',
      );
    });

  at.command('info')
    .description('show an admin token (without its secret)')
    .argument('<pattern>', 'token id, unique id prefix, or name')
    .option('--json', 'print the API response as JSON')
    .action(async (pattern: string, o: { json?: boolean }, cmd: Command) => {
      const t = await find(clientFor(cmd), pattern);
      if (o.json) return printJson(t);
      printToken(t);
    });

  at.command('create')
    .description('create an admin token (its secret is shown now, once)')
    .argument('<name>', 'whose token this is')
    .option('--scope <ops>', 'comma-separated operations it may call, or * for all', '*')
    .option('--expires <when>', 'a duration (30d, 12h), a date, or never', 'never')
    .option('--json', 'print the API response as JSON')
    .action(async (name: string, o: { scope: string; expires: string; json?: boolean }, cmd: Command) => {
      const exp = parseExpiry(o.expires);
      const t = await clientFor(cmd).post<AdminTokenInfo>('CreateAdminToken', { name, scope: scopeList(o.scope), ...(exp ? { expiration: exp } : { neverExpires: true }) });
      if (o.json) return printJson(t);
      printToken(t);
    });

  at.command('set')
    .description("change an admin token's name, scope or expiry")
    .argument('<pattern>', 'token id, unique id prefix, or name')
    .option('--name <name>', 'a new name')
    .option('--scope <ops>', 'the new comma-separated scope (replaces the old one)')
    .option('--expires <when>', 'a duration (30d, 12h), a date, or never')
    .option('--json', 'print the API response as JSON')
    .action(async (pattern: string, o: { name?: string; scope?: string; expires?: string; json?: boolean }, cmd: Command) => {
      if (o.name === undefined && o.scope === undefined && o.expires === undefined) throw new CliError('nothing to change: give --name, --scope or --expires', 2);
      const c = clientFor(cmd);
      const cur = await find(c, pattern);
      const body: Record<string, unknown> = {};
      if (o.name !== undefined) body.name = o.name;
      if (o.scope !== undefined) body.scope = scopeList(o.scope);
      if (o.expires !== undefined) {
        const exp = parseExpiry(o.expires);
        if (exp) body.expiration = exp;
        else body.neverExpires = true;
      }
      const t = await c.post<AdminTokenInfo>('UpdateAdminToken', body, { id: cur.id ?? undefined });
      if (o.json) return printJson(t);
      printToken(t);
    });

  at.command('delete')
    .description('delete an admin token (it stops working at once)')
    .argument('<pattern>', 'token id, unique id prefix, or name')
    .option('--yes', 'really delete')
    .action(async (pattern: string, o: { yes?: boolean }, cmd: Command) => {
      const c = clientFor(cmd);
      const t = await find(c, pattern);
      if (!t.id) throw new CliError('the config\'s admin_token is not in the table: change it in the config');
      if (!o.yes) throw new CliError(`this would delete admin token ${t.id} ("${t.name}"); add --yes to really do it`);
      await c.post('DeleteAdminToken', {}, { id: t.id });
      process.stdout.write(`Deleted admin token ${t.id} ("${t.name}").\n`);
    });
}
