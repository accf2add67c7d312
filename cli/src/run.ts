/**
 * One run of the CLI: the command line read, the command run, and every way
 * it can end turned into an exit code and a message on stderr (`spool:
 * <code>: <message>`). Takes its streams, environment and Ctrl-C signal as
 * arguments and answers the exit code; `main.ts` binds it to the process.
 */
import { readFileSync } from 'node:fs';
import { ConfigError, type Env } from '@spool/shared/config';
import { parseCommandLine, type CommandName } from './args.ts';
import { SpoolClient } from './client.ts';
import { generateCommand } from './commands/generate.ts';
import { cancelCommand, downloadCommand, jobsCommand, statusCommand } from './commands/jobs.ts';
import { healthCommand, infoCommand } from './commands/server.ts';
import { loadConfig, resolveServer } from './config.ts';
import type { CliIo, CommandContext } from './context.ts';
import { describeFailure, isCliError } from './errors.ts';
import { EXIT, type ExitCode } from './exit-codes.ts';
import { commandHelp, mainHelp } from './help.ts';

const COMMANDS: Readonly<Record<CommandName, (ctx: CommandContext) => Promise<ExitCode>>> = {
  generate: generateCommand,
  jobs: jobsCommand,
  status: statusCommand,
  cancel: cancelCommand,
  download: downloadCommand,
  health: healthCommand,
  info: infoCommand,
};

/** The CLI's version, from its package.json. */
export function cliVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

export interface RunOptions {
  readonly env: Env;
  readonly fetch?: typeof fetch;
  /** The repository whose .spool/token is the default token (the CLI's own, unless a test says). */
  readonly root?: string;
}

export async function runCli(argv: readonly string[], io: CliIo, opts: RunOptions): Promise<ExitCode> {
  try {
    const line = parseCommandLine(argv);
    if (line.kind === 'version') {
      io.stdout.write(`spool ${cliVersion()}\n`);
      return EXIT.OK;
    }
    if (line.kind === 'help') {
      io.stdout.write(`${line.command ? commandHelp(line.command) : mainHelp()}\n`);
      return EXIT.OK;
    }
    const config = loadConfig(opts.env);
    const server = resolveServer(config, { url: line.flags.url as string | undefined, token: line.flags.token as string | undefined }, opts.root);
    const ctx: CommandContext = { io, config, client: new SpoolClient(server, opts.fetch), flags: line.flags, args: line.args };
    return await COMMANDS[line.command](ctx);
  } catch (err) {
    return reportFailure(err, io);
  }
}

/** The exit code of an error, told on stderr. */
export function reportFailure(err: unknown, io: CliIo): ExitCode {
  if (io.signal.aborted) {
    io.stderr.write('spool: interrupted\n');
    return EXIT.INTERRUPTED;
  }
  if (err instanceof ConfigError) {
    io.stderr.write(`spool: ${err.message}\n`);
    return EXIT.USAGE;
  }
  if (isCliError(err)) {
    io.stderr.write(`${describeFailure(err)}\n`);
    return err.exit;
  }
  io.stderr.write(`spool: unexpected failure, a bug in the CLI: ${(err as Error)?.stack ?? String(err)}\n`);
  return EXIT.INTERNAL;
}
