// `grenier node id` (the `<id>@<host:port>` other nodes connect to) and `grenier node connect`.
import type { Command } from 'commander';
import { clientFor, CliError } from './client.ts';
import { printJson } from './output.ts';
import type { NodeInfo } from './cluster-types.ts';

interface NodeInfoResp {
  success: Record<string, NodeInfo>;
  error: Record<string, string>;
}

export function registerNode(program: Command): void {
  const node = program.command('node').description('this node\'s identity, and connecting nodes together');

  node
    .command('id')
    .description('print this node\'s id and RPC address as <id>@<host:port>')
    .option('-q, --quiet', 'print only <id>@<host:port>')
    .option('--json', 'print the node info as JSON')
    .action(async (o: { quiet?: boolean; json?: boolean }, cmd: Command) => {
      const r = await clientFor(cmd).get<NodeInfoResp>('GetNodeInfo', { node: 'self' });
      const info = Object.values(r.success)[0];
      if (!info) throw new CliError(`the node did not describe itself: ${Object.values(r.error)[0] ?? 'no answer'}`);
      if (o.json) return printJson(info);
      const addr = info.nodeAddr ?? info.nodeId;
      if (o.quiet) {
        process.stdout.write(addr + '\n');
        return;
      }
      process.stdout.write(`${addr}\n`);
      if (info.warning) process.stderr.write(`warning: ${info.warning}\n`);
      process.stderr.write(
        '\nTo connect another node to this one, run there:\n' + `    grenier node connect ${addr}\n` + 'or add it to bootstrap_peers in its config.\n',
      );
    });

  node
    .command('connect')
    .description('connect this node to another one (their ids are exchanged and remembered by gossip)')
    .argument('<node>', '<id>@<host:port>, as printed by `grenier node id` on the other node')
    .option('--json', 'print the API response as JSON')
    .action(async (target: string, o: { json?: boolean }, cmd: Command) => {
      if (!/^[0-9a-f]{64}@.+:\d+$/i.test(target))
        throw new CliError(`"${target}" is not <node id>@<host>:<port> (run \`grenier node id\` on the other node)`, 2);
      const [r] = await clientFor(cmd).post<{ success: boolean; error: string | null }[]>('ConnectClusterNodes', [target]);
      if (o.json) return printJson(r);
      if (!r?.success) throw new CliError(`could not connect to ${target}: ${r?.error ?? 'no answer'}`);
      process.stdout.write(`Connected to ${target}.\n`);
    });
}
