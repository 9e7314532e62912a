// `grenier site …`: create, list, inspect, delete sites, set or request their quota, deploy a
// directory and roll back. Admins use the admin token; site owners their S3 key (--key/--secret
// or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY) for their own sites.
import type { Command } from 'commander';
import { CliError } from './client.ts';
import { siteClientFor } from './site-client.ts';
import { date, printFields, printJson, printTable } from './output.ts';
import { parseSize, formatSize } from '../model/quota-request.ts';
import { GrenierError } from '../util/errors.ts';
import { deploy } from './deploy.ts';

interface DeployInfo {
  id: string;
  created: number;
  files: number;
  bytes: number;
}

export interface SiteInfo {
  domain: string;
  bucketId: string;
  created: string;
  owners: string[];
  website: { indexDocument: string | null; errorDocument: string | null } | null;
  usage: { bytes: number; objects: number };
  quotas: { maxSize: number | null; maxObjects: number | null };
  currentDeploy: DeployInfo | null;
  previousDeploy: DeployInfo | null;
  retainedBytes: number;
  pendingQuotaRequests: number;
}

interface SiteListItem {
  domain: string;
  bucketId: string;
  currentDeploy: string | null;
  usage: { bytes: number; objects: number };
  quotas: { maxSize: number | null; maxObjects: number | null };
}

/** "[#######.............] 35%" */
export function quotaBar(used: number, max: number | null, width = 20): string {
  if (max === null) return 'no limit';
  const frac = max > 0 ? used / max : 1;
  const full = Math.max(0, Math.min(width, Math.round(frac * width)));
  return `[${'#'.repeat(full)}${'.'.repeat(width - full)}] ${Math.round(frac * 100)}%`;
}

/** A size from the command line; a bad one is a usage error naming the option and value. */
export function sizeArg(v: string, option: string): number {
  try {
    return parseSize(v);
  } catch (e) {
    if (e instanceof GrenierError) throw new CliError(`${option}: ${e.message}`, 2);
    throw e;
  }
}

function deployLine(d: DeployInfo | null): string {
  return d ? `${d.id} (${date(new Date(d.created).toISOString())}, ${d.files} files, ${formatSize(d.bytes)})` : '(none)';
}

function printSite(s: SiteInfo): void {
  const q = s.quotas;
  printFields([
    ['Site', s.domain],
    ['Bucket', s.bucketId],
    ['Created', date(s.created)],
    ['Owners', s.owners.join(', ') || '(none)'],
    ['Website', s.website ? `index ${s.website.indexDocument ?? '-'}${s.website.errorDocument ? `, error ${s.website.errorDocument}` : ''}` : 'disabled'],
    ['Size', `${quotaBar(s.usage.bytes, q.maxSize)} ${formatSize(s.usage.bytes)} / ${q.maxSize === null ? 'no limit' : formatSize(q.maxSize)}`],
    ['Objects', `${s.usage.objects} / ${q.maxObjects ?? 'no limit'}`],
    ['Current deploy', deployLine(s.currentDeploy)],
    ['Previous deploy', deployLine(s.previousDeploy)],
    ['Retained deploys', `${[s.currentDeploy, s.previousDeploy].filter(Boolean).length} (${formatSize(s.retainedBytes)} of distinct content)`],
    ['Quota requests', `${s.pendingQuotaRequests} pending`],
  ]);
}

/** --key/--secret on every command (owners), next to -c (admins). */
function withAuth(c: Command): Command {
  return c
    .option('--key <id>', 'act as a site owner with this S3 access key id (default: $AWS_ACCESS_KEY_ID when no admin token)')
    .option('--secret <secret>', 'the access key’s secret (default: $AWS_SECRET_ACCESS_KEY)')
    .option('--json', 'print the result as JSON');
}

export function registerSite(program: Command): void {
  const site = program.command('site').description('static websites: create, deploy, roll back, quotas');

  withAuth(
    site
      .command('create')
      .description('create a site: a website bucket named after the domain, owned by a key, 50 MB quota (owners with an allowance: their own site, <name> or <name>.<root domain>)')
      .argument('<domain>', 'the site’s domain, e.g. blog.example.org (owners: blog)')
      .option('--owner <key>', 'the owner’s access key (id, unique id prefix, or name); admins only, required for them')
      .option('--index-document <file>', 'index document', 'index.html')
      .option('--error-document <file>', 'page served with 404 errors')
      .option('--max-size <size>', 'size quota (default 50MB; admins only)'),
  ).action(async (domain: string, o: { owner?: string; indexDocument: string; errorDocument?: string; maxSize?: string; json?: boolean }, cmd: Command) => {
    const maxSize = o.maxSize === undefined ? undefined : sizeArg(o.maxSize, '--max-size');
    const c = siteClientFor(cmd);
    if (c.auth.kind === 'admin' && !o.owner) throw new CliError('--owner <key> is required with the admin token', 2);
    if (c.auth.kind === 'owner' && (o.owner || maxSize !== undefined)) throw new CliError('as a site owner you create sites for your own key with the default quota: leave out --owner and --max-size', 2);
    const s = await c.post<SiteInfo>('CreateSite', { domain, owner: o.owner, indexDocument: o.indexDocument, errorDocument: o.errorDocument, maxSize });
    if (o.json) return printJson(s);
    process.stdout.write(`Created site ${s.domain} (bucket ${s.bucketId}), owned by ${s.owners.join(', ')}, quota ${formatSize(s.quotas.maxSize ?? 0)}.\n`);
  });

  withAuth(
    site
      .command('request')
      .description('site owners: ask the admins for a site at a custom domain (not under the root domain)')
      .argument('<domain>', 'e.g. club.example.org')
      .requiredOption('--reason <text>', 'what the site is for'),
  ).action(async (domain: string, o: { reason: string; json?: boolean }, cmd: Command) => {
    const r = await siteClientFor(cmd).post<{ id: string; site: string }>('CreateSiteRequest', { domain, reason: o.reason });
    if (o.json) return printJson(r);
    process.stdout.write(`Requested the site ${r.site} (request ${r.id}); an admin will approve or deny it (grenier quota-request list).\n`);
  });

  withAuth(site.command('list').description('list sites (owners: their own)')).action(async (o: { json?: boolean }, cmd: Command) => {
    const list = await siteClientFor(cmd).get<SiteListItem[]>('ListSites');
    if (o.json) return printJson(list);
    printTable(
      ['domain', 'used', 'quota', 'deploy'],
      list.map((s) => [s.domain, formatSize(s.usage.bytes), s.quotas.maxSize === null ? 'none' : formatSize(s.quotas.maxSize), s.currentDeploy ?? '-']),
      '(no sites)',
    );
  });

  withAuth(site.command('info').description('show a site: usage against quota, deploys').argument('<domain>')).action(
    async (domain: string, o: { json?: boolean }, cmd: Command) => {
      const s = await siteClientFor(cmd).get<SiteInfo>('GetSiteInfo', { site: domain });
      if (o.json) return printJson(s);
      printSite(s);
    },
  );

  withAuth(site.command('delete').description('delete a site, all its files and deploys').argument('<domain>').option('--yes', 'really delete')).action(
    async (domain: string, o: { yes?: boolean; json?: boolean }, cmd: Command) => {
      const c = siteClientFor(cmd);
      const s = await c.get<SiteInfo>('GetSiteInfo', { site: domain });
      if (!o.yes) throw new CliError(`this would delete site ${s.domain} with ${s.usage.objects} objects (${formatSize(s.usage.bytes)}); add --yes to really do it`);
      const r = await c.post('DeleteSite', {}, { site: domain });
      if (o.json) return printJson(r);
      process.stdout.write(`Deleted site ${s.domain}.\n`);
    },
  );

  withAuth(
    site
      .command('quota')
      .description('set a site’s size quota (owners: up to 200 MB), or request more from the admins')
      .argument('<domain>')
      .option('--max-size <size>', 'new size quota, e.g. 200MB')
      .option('--request <size>', 'ask the admins for this size')
      .option('--reason <text>', 'what the space is for (with --request)'),
  ).action(async (domain: string, o: { maxSize?: string; request?: string; reason?: string; json?: boolean }, cmd: Command) => {
    if ((o.maxSize === undefined) === (o.request === undefined)) throw new CliError('give exactly one of --max-size or --request', 2);
    const c = siteClientFor(cmd);
    if (o.maxSize !== undefined) {
      const r = await c.post<{ domain: string; quotas: { maxSize: number } }>('UpdateSiteQuota', { maxSize: sizeArg(o.maxSize, '--max-size') }, { site: domain });
      if (o.json) return printJson(r);
      process.stdout.write(`Quota of ${r.domain}: ${formatSize(r.quotas.maxSize)}.\n`);
      return;
    }
    if (!o.reason?.trim()) throw new CliError('--request needs --reason "<what the space is for>"', 2);
    const bytes = sizeArg(o.request!, '--request');
    const r = await c.post<{ id: string; site: string; bytes: number }>('CreateQuotaRequest', { bytes, reason: o.reason }, { site: domain });
    if (o.json) return printJson(r);
    process.stdout.write(`Requested ${formatSize(r.bytes)} for ${r.site} (request ${r.id}); an admin will approve or deny it.\n`);
  });

  withAuth(
    site
      .command('deploy')
      .description('upload a directory as the site’s new version (only changed files), then switch to it at once')
      .argument('<dir>', 'the built site, e.g. ./public')
      .requiredOption('--site <domain>', 'the site to deploy to')
      .option('--concurrency <n>', 'parallel uploads', '8'),
  ).action(async (dir: string, o: { site: string; concurrency: string; json?: boolean }, cmd: Command) => {
    const n = Number(o.concurrency);
    if (!Number.isInteger(n) || n < 1 || n > 64) throw new CliError(`--concurrency must be 1 to 64, not "${o.concurrency}"`, 2);
    const r = await deploy(siteClientFor(cmd), o.site, dir, { concurrency: n, warn: (s) => process.stderr.write(`warning: ${s}\n`) });
    if (o.json) return printJson(r);
    process.stdout.write(
      `Deployed ${r.site}: ${r.deploy} (${r.files} files: ${r.added} added, ${r.changed} changed, ${r.removed} removed; ` +
        `uploaded ${r.uploaded} (${formatSize(r.bytes)}), ${r.skipped} unchanged). Previous: ${r.previous ?? '(none)'}` +
        `${r.gc.blobs ? `; freed ${r.gc.blobs} old files (${formatSize(r.gc.bytes)})` : ''}.\n`,
    );
  });

  withAuth(site.command('rollback').description('switch back to the previous deploy (run again to roll forward)').argument('<domain>')).action(
    async (domain: string, o: { json?: boolean }, cmd: Command) => {
      const r = await siteClientFor(cmd).post<{ current: string; previous: string | null }>('RollbackSite', {}, { site: domain });
      if (o.json) return printJson(r);
      process.stdout.write(`Site ${domain} now serves ${r.current} (previous: ${r.previous ?? '(none)'}).\n`);
    },
  );
}
