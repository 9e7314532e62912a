// `grenier stats` (cluster and node statistics, Garage's freeform text) and `grenier json-api`
// (call any admin operation with a JSON body and print the answer: the method comes from the
// OpenAPI table, so the command knows exactly the operations the server answers).
import type { Command } from 'commander';
import { clientFor, CliError } from './client.ts';
import { printJson } from './output.ts';
import { methodsOf, OPERATIONS } from '../api/admin/openapi.ts';

interface MultiNode<T> {
  success: Record<string, T>;
  error: Record<string, string>;
}

export function registerStats(program: Command): void {
  program
    .command('stats')
    .description('cluster statistics (storage nodes, free space, buckets, keys), then each node\'s tables and block queues')
    .option('-n, --node <id>', 'node id (or prefix), self, or * for every node', '*')
    .option('--json', 'print the API responses as JSON')
    .action(async (o: { node: string; json?: boolean }, cmd: Command) => {
      const c = clientFor(cmd);
      const [cluster, nodes] = await Promise.all([
        c.get<{ freeform: string }>('GetClusterStatistics'),
        c.get<MultiNode<{ freeform: string }>>('GetNodeStatistics', { node: o.node }),
      ]);
      if (o.json) return printJson({ cluster, nodes });
      process.stdout.write(cluster.freeform);
      for (const [id, s] of Object.entries(nodes.success).sort()) process.stdout.write(`\n======== Node ${id.slice(0, 16)} ========\n${s.freeform}`);
      for (const [id, e] of Object.entries(nodes.error).sort()) process.stdout.write(`\n======== Node ${id.slice(0, 16)}: error: ${e}\n`);
    });

  program
    .command('json-api')
    .description('call any admin API operation (see GET /v2/openapi.json) and print its JSON answer')
    .argument('<operation>', 'operation name, optionally with a query: GetNodeInfo?node=*')
    .argument('[json]', 'request body (JSON; "-" reads it from stdin)')
    .action(async (opArg: string, json: string | undefined, _o: unknown, cmd: Command) => {
      const [name, q = ''] = opArg.split('?', 2) as [string, string?];
      const d = Object.hasOwn(OPERATIONS, name) ? OPERATIONS[name] : undefined;
      if (!d) throw new CliError(`unknown operation "${name}" (the list: GET /v2/openapi.json)`, 2);
      let text = json;
      if (text === '-') text = await readStdin();
      let body: unknown;
      if (text !== undefined && text.trim() !== '') {
        try {
          body = JSON.parse(text);
        } catch (e) {
          throw new CliError(`the body is not valid JSON: ${(e as Error).message}`, 2);
        }
      }
      const methods = methodsOf(d);
      const query = Object.fromEntries(new URLSearchParams(q));
      const c = clientFor(cmd);
      // GET when the operation takes it and no body was given (ListWorkers takes both).
      const out = methods.includes('GET') && (body === undefined || !methods.includes('POST')) ? await c.get(name, query) : await c.post(name, body ?? {}, query);
      printJson(out ?? null);
    });
}

async function readStdin(): Promise<string> {
  const parts: Buffer[] = [];
  for await (const chunk of process.stdin) parts.push(chunk as Buffer);
  return Buffer.concat(parts).toString('utf8');
}
