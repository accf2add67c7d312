/**
 * `spool --help` and `spool <command> --help`, made from the commands' flag
 * table (`args.ts`) and the exit-code registry, so the help cannot drift
 * from what the CLI takes and does. Pure.
 */
import { COMMANDS, COMMON_FLAGS, commandSpec, type CommandName, type FlagSpec } from './args.ts';
import { DEFAULT_URL } from './config.ts';
import { exitCodesText } from './exit-codes.ts';

const ENVIRONMENT = [
  ['SPOOL_URL', `the server, when --url is not given (default ${DEFAULT_URL})`],
  ['SPOOL_TOKEN', "the API token, when --token is not given (default: .spool/token of the repository, which `npm start` writes)"],
  ['SPOOL_CLI_RECONNECT_S', 'how long a wait for a job keeps trying to reach a server that went away, in seconds (default 300)'],
] as const;

function flagLines(flags: Readonly<Record<string, FlagSpec>>): string[] {
  const rows = Object.entries(flags).map(([name, f]) => [`${f.short ? `-${f.short}, ` : '    '}--${name}${f.value ? ` ${f.value}` : ''}`, f.help] as const);
  const width = Math.max(...rows.map(([left]) => left.length));
  return rows.map(([left, help]) => `  ${left.padEnd(width)}  ${help}`);
}

function usageOf(name: CommandName): string {
  const spec = commandSpec(name)!;
  return `spool ${name}${spec.args.map((a) => ` ${a.name}`).join('')}${Object.keys(spec.flags).length > 0 ? ' [flags]' : ''}`;
}

export function mainHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  const env = Math.max(...ENVIRONMENT.map(([n]) => n.length));
  return [
    'spool: make videos on a spool server, follow them, list, cancel and download them',
    '',
    'Usage: spool <command> [arguments] [flags]',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Flags of every command:',
    ...flagLines({ ...COMMON_FLAGS, version: { kind: 'boolean', short: 'v', help: 'the CLI version' } }),
    '',
    'Environment:',
    ...ENVIRONMENT.map(([n, d]) => `  ${n.padEnd(env)}  ${d}`),
    '',
    'Results (paths, tables, --json) go to stdout; progress and messages to stderr.',
    '',
    'Exit codes:',
    exitCodesText(),
    '',
    'Examples:',
    '  spool generate "a red circle moving left on a blue background" --frames 9 --steps 3 -o circle.mp4',
    '  spool jobs --limit 5',
    '  spool status video_… --json',
    '',
    'spool <command> --help tells more about each command.',
  ].join('\n');
}

export function commandHelp(name: CommandName): string {
  const spec = commandSpec(name)!;
  const argWidth = Math.max(0, ...spec.args.map((a) => a.name.length));
  return [
    `spool ${name}: ${spec.summary}`,
    '',
    `Usage: ${usageOf(name)}`,
    ...(spec.args.length > 0 ? ['', 'Arguments:', ...spec.args.map((a) => `  ${a.name.padEnd(argWidth)}  ${a.help}`)] : []),
    '',
    'Flags:',
    ...flagLines({ ...spec.flags, ...COMMON_FLAGS }),
    ...(EXTRA[name] ? ['', ...EXTRA[name]] : []),
    '',
    'Exit codes:',
    exitCodesText(),
  ].join('\n');
}

/** What a command's flags do not say. */
const EXTRA: Partial<Record<CommandName, string[]>> = {
  generate: [
    'The job is made with POST /v1/videos and followed over its events; if the stream breaks (the',
    'server restarted) it is polled until the job ends. Flags not given take the model\'s defaults.',
    'Ctrl-C cancels the job and exits 130. A job that fails (or is cancelled elsewhere) exits 1',
    'with its error code and message. --json prints the video object with "file", the path written.',
  ],
  status: ['Exits 0 whatever the job\'s status: read it from the output (--json: .status).'],
  cancel: ['A queued or running job stops within one step and is kept as failed (SPOOL_ERR_CANCELLED);', 'cancelling it again, or a finished job, deletes it with its video.'],
  health: ['Needs no token.'],
  info: ['Needs no token.'],
};
