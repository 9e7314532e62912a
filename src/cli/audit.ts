// `grenier audit`: the cluster's audit log of admin actions, newest first, page by page.
import type { Command } from 'commander';
import { clientFor, CliError } from './client.ts';
import { date, printJson, printTable } from './output.ts';

interface AuditEventInfo {
  time: string;
  node: string;
  seq: number;
  who: string;
  op: string;
  target: string;
  status: number;
}

export function registerAudit(program: Command): void {
  program
    .command('audit')
    .description('show the audit log of admin actions (newest first)')
    .option('-n, --limit <n>', 'events to show (at most 1000 a page; more pages are fetched)', '50')
    .option('--who <text>', 'only events whose caller contains this')
    .option('--op <operation>', 'only this operation')
    .option('--node <id>', 'only events served by this node (id prefix)')
    .option('--json', 'print the events as JSON')
    .action(async (o: { limit: string; who?: string; op?: string; node?: string; json?: boolean }, cmd: Command) => {
      const want = Number(o.limit);
      if (!Number.isSafeInteger(want) || want < 1) throw new CliError('--limit must be a positive whole number', 2);
      const c = clientFor(cmd);
      const events: AuditEventInfo[] = [];
      let after: string | undefined;
      while (events.length < want) {
        const page = await c.get<{ events: AuditEventInfo[]; next: string | null }>('ListAuditEvents', {
          limit: String(Math.min(1000, want - events.length)),
          after,
          who: o.who,
          op: o.op,
          node: o.node,
        });
        events.push(...page.events);
        if (!page.next) break;
        after = page.next;
      }
      if (o.json) return printJson(events);
      printTable(
        ['time', 'node', 'status', 'who', 'op', 'target'],
        events.map((e) => [date(e.time), e.node.slice(0, 16), String(e.status), e.who, e.op, e.target]),
        '(no audit events)',
      );
    });
}
