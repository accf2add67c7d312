/**
 * The commands about the server: `health` (exit 0 when every stage has a
 * live worker, 3 naming what is missing) and `info`. Neither needs a token.
 */
import { refusal } from '../client.ts';
import { printResult, say, type CommandContext } from '../context.ts';
import { CliError } from '../errors.ts';
import { EXIT, type ExitCode } from '../exit-codes.ts';
import { formatInfo, type ServerInfo } from '../format.ts';

interface Health {
  readonly status: 'healthy' | 'unhealthy';
  readonly missing?: readonly string[];
  readonly message?: string;
}

export async function healthCommand(ctx: CommandContext): Promise<ExitCode> {
  const res = await ctx.client.send('GET', '/health', { signal: ctx.io.signal, accept: 'application/json' });
  if (res.status !== 200 && res.status !== 503) throw await refusal(res, ctx.client.server, 'GET /health');
  let health: Health;
  try {
    health = (await res.json()) as Health;
  } catch {
    throw new CliError(EXIT.SERVER_ERROR, `GET /health answered ${res.status} with something that is not JSON: is ${ctx.client.server.url} a spool server?`);
  }
  if (health.status === 'healthy') {
    printResult(ctx, health, () => `healthy: ${ctx.client.server.url}`);
    return EXIT.OK;
  }
  if (ctx.flags.json === true) printResult(ctx, health, () => '');
  say(ctx, `spool: unhealthy: ${health.message ?? 'no reason given'}${health.missing?.length ? ` (missing: ${health.missing.join(', ')})` : ''}`);
  return EXIT.UNREACHABLE;
}

export async function infoCommand(ctx: CommandContext): Promise<ExitCode> {
  const info = await ctx.client.json<ServerInfo>('GET', '/info', { signal: ctx.io.signal });
  printResult(ctx, info, () => formatInfo(info));
  return EXIT.OK;
}
