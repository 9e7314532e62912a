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
import { GrenierError } from '../util/errors.ts';

export function buildProgram(): Command {
  const program = new Command('grenier')
    .description('Grenier: S3-compatible object store and static web host')
    // Only -V at this level: a root --version would also swallow `layout apply --version N`
    // (commander matches root options after subcommands); main() maps a leading --version to -V.
    .version('0.1.0', '-V', 'output the version number (also --version)')
    .option('-c, --config <file>', 'node config file (default: $GRENIER_CONFIG, $GRENIER_ADMIN_URL, or ./data/grenier.toml)')
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
  return program;
}

export async function main(argv: string[]): Promise<number> {
  try {
    const args = argv[2] === '--version' ? [...argv.slice(0, 2), '-V', ...argv.slice(3)] : argv;
    await buildProgram().parseAsync(args);
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
