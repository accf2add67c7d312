/**
 * What a command runs with: where it writes (stdout for results, stderr for
 * people), the server's client, the settings, its flags and arguments, and
 * the Ctrl-C signal. Passed in whole, so a command can run in a test
 * without the process's streams or signals.
 */
import type { FlagValue } from './args.ts';
import type { SpoolClient } from './client.ts';
import type { CliConfig } from './config.ts';
import type { ProgressSink } from './progress.ts';

export interface CliIo {
  readonly stdout: { write(text: string): unknown };
  readonly stderr: ProgressSink;
  /** Aborts when the user presses Ctrl-C. */
  readonly signal: AbortSignal;
}

export interface CommandContext {
  readonly io: CliIo;
  readonly client: SpoolClient;
  readonly config: CliConfig;
  readonly flags: Readonly<Record<string, FlagValue | undefined>>;
  readonly args: readonly string[];
}

/** The result of a command on stdout: JSON (two-space indented) with --json, else the text. */
export function printResult(ctx: CommandContext, json: unknown, text: () => string): void {
  ctx.io.stdout.write(ctx.flags.json === true ? `${JSON.stringify(json, null, 2)}\n` : `${text()}\n`);
}

/** A message for people, on stderr. */
export function say(ctx: CommandContext, message: string): void {
  ctx.io.stderr.write(`${message}\n`);
}
