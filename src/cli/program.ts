// The `grenier` command tree (commander), and the mapping of failures to one `error:` line on
// stderr with exit code 1 for failed operations and 2 for usage mistakes.
import { Command, CommanderError } from 'commander';
import { CliError } from './client.ts';
import { registerKey } from './key.ts';
import { registerBucket } from './bucket.ts';
import { registerStatus } from './status.ts';
import { registerSite } from './site.ts';
import { registerQuotaRequest } from './quota-request.ts';
import { registerNode } from './node.ts';
import { registerLayout } from './layout.ts';
import { registerWorker } from './worker.ts';
import { registerRoute } from './route.ts';
import { registerCert } from './cert.ts';
import { registerAdminToken } from './admin-token.ts';
import { registerAudit } from './audit.ts';
import { registerMeta } from './meta.ts';
import { registerStats } from './stats.ts';
import { registerBlock } from './block.ts';
import { GrenierError } from '../util/errors.ts';

export function buildProgram(): Command {
  const program = new Command('grenier')
    .description('Grenier: S3-compatible object store and static web host')
    .version('0.1.0', '-V, --version')
    .option('-c, --config <file>', CONFIG_HELP)
    // Otherwise commander matches root options after subcommands too, and the root's -c and
    // --version would swallow `layout assign -c 2T` and `layout apply --version 2`; every leaf
    // command gets its own --config instead (addConfigOption).
    .enablePositionalOptions()
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();

  program
    .command('server')
    .description('run a node (without a config: a single-node dev setup under ./data)')
    .action(async (_o: unknown, cmd: Command) => {
      // Loaded on demand so that admin commands do not pull in the whole storage stack.
      const { runServer } = await import('./server.ts');
      await runServer({ config: cmd.optsWithGlobals().config as string | undefined });
    });
  registerStatus(program);
  registerNode(program);
  registerLayout(program);
  registerWorker(program);
  registerKey(program);
  registerBucket(program);
  registerSite(program);
  registerQuotaRequest(program);
  registerRoute(program);
  registerCert(program);
  registerAdminToken(program);
  registerAudit(program);
  registerMeta(program);
  registerStats(program);
  registerBlock(program);
  addConfigOption(program);
  return program;
}

const CONFIG_HELP = 'node config file (default: $GRENIER_CONFIG, $GRENIER_ADMIN_URL, or ./data/grenier.toml)';

/** Lets `grenier <command> … -c file` keep working under positional options: -c/--config on
 *  every leaf command (only --config where the command uses -c itself, as `layout assign`). */
function addConfigOption(cmd: Command): void {
  for (const sub of cmd.commands) {
    if (sub.commands.length) addConfigOption(sub);
    else if (!sub.options.some((o) => o.long === '--config')) {
      sub.option(sub.options.some((o) => o.short === '-c') ? '--config <file>' : '-c, --config <file>', CONFIG_HELP);
    }
  }
}

export async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv);
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      // Commander already printed its message (or the help / version).
      return e.exitCode === 0 ? 0 : 2;
    }
    const known = e instanceof CliError || e instanceof GrenierError;
    const message = known || !process.env.GRENIER_DEBUG ? ((e as Error)?.message ?? String(e)) : ((e as Error)?.stack ?? String(e));
    process.stderr.write(`error: ${message}\n`);
    return e instanceof CliError ? e.exitCode : 1;
  }
}
