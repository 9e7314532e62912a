// `grenier cert …`: the front's ACME certificates: list (host, expiry, issuer), issue now, status
// of the renewal worker and upstream health checks.
import type { Command } from 'commander';
import type { CertSummary } from '../model/certificate.ts';
import { clientFor } from './client.ts';
import { date, printJson, printTable } from './output.ts';

export interface CertInfo extends CertSummary {
  queued?: boolean;
  message?: string;
}

interface CertStatus {
  frontOnThisNode: boolean;
  front: {
    http: string | null;
    https: string | null;
    acme: { directory: string; worker: { state: string; runs: number; lastRunAt?: number; lastError?: string; progress: string } };
    upstreams: { url: string; up: boolean; since: number; lastCheck?: number; lastError?: string }[];
  } | null;
  certificates: CertInfo[];
}

function state(c: CertInfo): string {
  if (c.lease) return `ordering (node ${c.lease.holder.slice(0, 8)})`;
  if (c.lastAttempt?.error) return `failed ×${c.lastAttempt.failures}: ${c.lastAttempt.error}`;
  if (!c.notAfter) return c.requested ? 'requested' : 'none';
  return c.daysLeft! < 0 ? 'expired' : 'ok';
}

export function registerCert(program: Command): void {
  const cert = program.command('cert').description('the HTTPS front’s certificates (ACME)');

  cert
    .command('list')
    .description('list certificates: host, expiry, issuer')
    .option('--json', 'print the API response as JSON')
    .action(async (o: { json?: boolean }, cmd: Command) => {
      const certs = await clientFor(cmd).get<CertInfo[]>('ListCertificates');
      if (o.json) return printJson(certs);
      printTable(
        ['host', 'expires', 'days', 'issuer', 'state'],
        certs.map((c) => [c.host, date(c.notAfter ?? undefined), c.daysLeft === null ? '' : String(c.daysLeft), c.issuer ?? '', state(c)]),
        '(no certificates)',
      );
    });

  cert
    .command('issue')
    .description('order (or renew) the certificate of a host now; only websites and routed hosts qualify')
    .argument('<host>', 'the host name')
    .option('--json', 'print the API response as JSON')
    .action(async (host: string, o: { json?: boolean }, cmd: Command) => {
      const c = await clientFor(cmd).post<CertInfo>('IssueCertificate', { host });
      if (o.json) return printJson(c);
      if (c.queued) process.stdout.write(`Requested a certificate for ${c.host}: ${c.message}\n`);
      else process.stdout.write(`Certificate for ${c.host} issued by ${c.issuer}, valid until ${date(c.notAfter ?? undefined)}.\n`);
    });

  cert
    .command('status')
    .description('renewal worker, upstream health and certificates as this node sees them')
    .option('--json', 'print the API response as JSON')
    .action(async (o: { json?: boolean }, cmd: Command) => {
      const s = await clientFor(cmd).get<CertStatus>('GetCertificateStatus');
      if (o.json) return printJson(s);
      const f = s.front;
      if (!f) process.stdout.write('This node does not run the front ([front] is not in its config).\n');
      else {
        const w = f.acme.worker;
        process.stdout.write(`Front: http ${f.http ?? 'off'}, https ${f.https ?? 'off'}\n`);
        process.stdout.write(`ACME: ${f.acme.directory}\n`);
        process.stdout.write(
          `Renewal worker: ${w.state}, ${w.runs} runs${w.lastRunAt ? `, last ${date(new Date(w.lastRunAt).toISOString())}` : ''}${w.progress ? ` — ${w.progress}` : ''}${w.lastError ? `\n  last error: ${w.lastError}` : ''}\n`,
        );
        process.stdout.write('\nUpstreams:\n');
        printTable(['upstream', 'state', 'since', 'last error'], f.upstreams.map((u) => [u.url, u.up ? 'up' : 'DOWN', date(new Date(u.since).toISOString()), u.lastError ?? '']), '(no upstreams)');
      }
      process.stdout.write('\nCertificates:\n');
      printTable(['host', 'expires', 'issuer', 'state'], s.certificates.map((c) => [c.host, date(c.notAfter ?? undefined), c.issuer ?? '', state(c)]), '(no certificates)');
    });
}
