// `grenier route …`: the front's routes (host + optional path prefix → website, S3 API or
// upstream services), over the admin API.
import type { Command } from 'commander';
import { clientFor, CliError } from './client.ts';
import { date, printJson, printTable } from './output.ts';

export interface RouteInfo {
  host: string;
  path: string;
  kind: 'website' | 's3' | 'upstream';
  site?: string;
  upstreams?: string[];
  target: string;
  created: string;
}

const collect = (v: string, prev: string[]): string[] => [...prev, v];

export function registerRoute(program: Command): void {
  const route = program.command('route').description('manage the HTTPS front’s routes (host → website, S3 API or services)');

  route
    .command('add')
    .description('route a host (and optional path prefix) to upstream services, the S3 API or a website')
    .argument('<host>', 'public host name, e.g. chat.example.org')
    .option('--upstream <url>', 'a backend URL (repeat for failover), e.g. http://10.1.0.5:8008', collect, [])
    .option('--s3', 'serve the S3 API on this host')
    .option('--website [site]', 'serve a website: the bucket aliased as the host, or the named one')
    .option('--path <prefix>', 'only requests under this path prefix (default: the whole host)')
    .option('--replace', 'replace an existing route for the same host and path')
    .option('--json', 'print the API response as JSON')
    .action(async (host: string, o: { upstream: string[]; s3?: boolean; website?: string | boolean; path?: string; replace?: boolean; json?: boolean }, cmd: Command) => {
      const kinds = [o.upstream.length > 0, !!o.s3, o.website !== undefined].filter(Boolean).length;
      if (kinds !== 1) throw new CliError('give exactly one target: --upstream <url> (repeatable), --s3, or --website [site]', 2);
      const body: Record<string, unknown> = { host, path: o.path, replace: o.replace };
      if (o.upstream.length) body.upstreams = o.upstream;
      if (o.s3) body.s3 = true;
      if (o.website !== undefined) {
        body.website = true;
        if (typeof o.website === 'string') body.site = o.website;
      }
      const r = await clientFor(cmd).post<RouteInfo>('AddRoute', body);
      if (o.json) return printJson(r);
      process.stdout.write(`Route ${r.host}${r.path === '/' ? '' : r.path} → ${r.target}\n`);
    });

  route
    .command('list')
    .description('list routes')
    .option('--json', 'print the API response as JSON')
    .action(async (o: { json?: boolean }, cmd: Command) => {
      const routes = await clientFor(cmd).get<RouteInfo[]>('ListRoutes');
      if (o.json) return printJson(routes);
      printTable(['host', 'path', 'kind', 'target', 'created'], routes.map((r) => [r.host, r.path, r.kind, r.target, date(r.created)]), '(no routes)');
    });

  route
    .command('delete')
    .description('delete a route')
    .argument('<host>', 'the route’s host')
    .option('--path <prefix>', 'the route’s path prefix (default: the whole host)')
    .option('--json', 'print the deleted route as JSON')
    .action(async (host: string, o: { path?: string; json?: boolean }, cmd: Command) => {
      const r = await clientFor(cmd).post<RouteInfo>('DeleteRoute', {}, { host, path: o.path });
      if (o.json) return printJson(r);
      process.stdout.write(`Deleted route ${r.host}${r.path === '/' ? '' : r.path} (was → ${r.target}).\n`);
    });
}
