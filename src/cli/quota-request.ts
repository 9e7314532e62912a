// `grenier quota-request …`: admins list, approve (applies the requested size) or deny site
// quota requests; owners (--key/--secret) list their own.
import type { Command } from 'commander';
import { CliError } from './client.ts';
import { siteClientFor } from './site-client.ts';
import { date, printJson, printTable } from './output.ts';
import { formatSize } from '../model/quota-request.ts';

interface RequestView {
  id: string;
  site: string;
  requester: string;
  bytes: number;
  reason: string;
  created: string;
  state: string;
  decidedBy: string | null;
  decisionReason: string | null;
}

const auth = (c: Command): Command =>
  c
    .option('--key <id>', 'act as a site owner with this S3 access key id')
    .option('--secret <secret>', 'the access key’s secret')
    .option('--json', 'print the result as JSON');

export function registerQuotaRequest(program: Command): void {
  const qr = program.command('quota-request').description('site quota requests: list, approve, deny');

  auth(qr.command('list').description('list quota requests (owners: their own)').option('--state <state>', 'pending, approved or denied')).action(
    async (o: { state?: string; json?: boolean }, cmd: Command) => {
      if (o.state !== undefined && !['pending', 'approved', 'denied'].includes(o.state))
        throw new CliError(`--state must be pending, approved or denied, not "${o.state}"`, 2);
      const list = await siteClientFor(cmd).get<RequestView[]>('ListQuotaRequests', { state: o.state });
      if (o.json) return printJson(list);
      printTable(
        ['id', 'site', 'size', 'state', 'created', 'requester', 'reason'],
        list.map((r) => [r.id, r.site, formatSize(r.bytes), r.state, date(r.created), r.requester, r.reason]),
        '(no quota requests)',
      );
    },
  );

  for (const action of ['approve', 'deny'] as const) {
    const c = qr
      .command(action)
      .description(action === 'approve' ? 'approve a request: the site’s quota becomes the requested size' : 'deny a request')
      .argument('<id>', 'the request id');
    if (action === 'deny') c.option('--reason <text>', 'why (shown to the requester)');
    auth(c).action(async (id: string, o: { reason?: string; json?: boolean }, cmd: Command) => {
      const r = await siteClientFor(cmd).post<RequestView>(action === 'approve' ? 'ApproveQuotaRequest' : 'DenyQuotaRequest', { reason: o.reason }, { id });
      if (o.json) return printJson(r);
      process.stdout.write(
        action === 'approve' ? `Approved: ${r.site} may now use ${formatSize(r.bytes)}.\n` : `Denied request ${r.id} (${r.site}, ${formatSize(r.bytes)}).\n`,
      );
    });
  }
}
