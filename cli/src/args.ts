/**
 * The command line, read: which command, its flags as typed values, its
 * arguments. Each command declares its flags once (`COMMANDS`), and the same
 * table feeds `util.parseArgs` and the help text. Anything that cannot be run
 * as written (an unknown command or flag, a flag without its value, a number
 * that is not one, a missing or extra argument) is a usage error (exit 2)
 * saying what to fix. Pure.
 */
import { parseArgs } from 'node:util';
import { usageError } from './errors.ts';

export type FlagKind = 'string' | 'boolean' | 'int' | 'number';

export interface FlagSpec {
  readonly kind: FlagKind;
  readonly short?: string;
  /** What the value is, in the help (`N`, `FILE`). */
  readonly value?: string;
  readonly help: string;
  readonly min?: number;
  readonly max?: number;
}

export interface CommandSpec {
  readonly name: CommandName;
  readonly summary: string;
  /** The arguments after the command, in order, as the help shows them. */
  readonly args: readonly { readonly name: string; readonly help: string }[];
  readonly flags: Readonly<Record<string, FlagSpec>>;
}

export type CommandName = 'generate' | 'jobs' | 'status' | 'cancel' | 'download' | 'health' | 'info';

/** Flags every command takes. */
export const COMMON_FLAGS: Readonly<Record<string, FlagSpec>> = {
  url: { kind: 'string', value: 'URL', help: 'the server (else SPOOL_URL, else http://127.0.0.1:9000)' },
  token: { kind: 'string', value: 'TOKEN', help: "the API token (else SPOOL_TOKEN, else the repository's .spool/token)" },
  help: { kind: 'boolean', short: 'h', help: 'this help' },
};

const json: FlagSpec = { kind: 'boolean', help: 'print the answer as JSON on stdout' };
const output = (what: string): FlagSpec => ({ kind: 'string', short: 'o', value: 'FILE', help: `where to write the MP4 (a file, a folder, or - for stdout; default ${what})` });
const jobId = { name: 'ID', help: 'the job id (video_…), as `spool jobs` lists it' };

export const COMMANDS: readonly CommandSpec[] = [
  {
    name: 'generate',
    summary: 'make a video: a job, its progress on stderr, then the MP4 (its path on stdout)',
    args: [{ name: 'PROMPT', help: 'what the video shows, in quotes' }],
    flags: {
      frames: { kind: 'int', value: 'N', min: 1, help: "frames to make (the model's default: spool info)" },
      fps: { kind: 'int', value: 'N', min: 1, help: 'frames per second of the MP4' },
      steps: { kind: 'int', value: 'N', min: 1, help: 'denoising steps' },
      guidance: { kind: 'number', value: 'X', min: 0, help: 'classifier-free guidance scale' },
      'guidance-rescale': { kind: 'number', value: 'X', min: 0, help: 'guidance rescale, 0 to 1' },
      seed: { kind: 'int', value: 'N', min: 0, max: 4294967295, help: 'the seed: the same seed and flags make the same video (default random)' },
      'negative-prompt': { kind: 'string', value: 'TEXT', help: 'what the video should not show' },
      output: output('<id>.mp4'),
      sync: { kind: 'boolean', help: 'one POST /generate that answers with the MP4, instead of a job (no progress, not kept)' },
      quiet: { kind: 'boolean', short: 'q', help: 'no progress on stderr' },
      json,
    },
  },
  { name: 'jobs', summary: 'your jobs, newest first', args: [], flags: { limit: { kind: 'int', value: 'N', min: 1, max: 100, help: 'how many (1 to 100, default 20)' }, json } },
  { name: 'status', summary: "a job's state: status, progress, error", args: [jobId], flags: { json } },
  { name: 'cancel', summary: 'cancel a queued or running job; delete a finished one with its video', args: [jobId], flags: { json } },
  { name: 'download', summary: "a completed job's MP4 (its path on stdout)", args: [jobId], flags: { output: output('<id>.mp4') } },
  { name: 'health', summary: 'whether every stage has a live worker (exit 0), or what is missing (exit 3)', args: [], flags: { json } },
  { name: 'info', summary: "the model, its defaults and limits, the workers, the queue", args: [], flags: { json } },
];

export const commandSpec = (name: string): CommandSpec | undefined => COMMANDS.find((c) => c.name === name);

export type FlagValue = string | number | boolean;

export type CommandLine =
  | { readonly kind: 'help'; readonly command?: CommandName }
  | { readonly kind: 'version' }
  | {
      readonly kind: 'run';
      readonly command: CommandName;
      readonly flags: Readonly<Record<string, FlagValue | undefined>>;
      readonly args: readonly string[];
    };

/** The common flags that take a value, so that `spool --url X jobs` finds `jobs` as the command. */
const VALUED_COMMON = new Set(['--url', '--token']);

export function parseCommandLine(argv: readonly string[]): CommandLine {
  const at = argv.findIndex((a, i) => !a.startsWith('-') && !(i > 0 && VALUED_COMMON.has(argv[i - 1]!)));
  const before = at < 0 ? argv : argv.slice(0, at);
  if (before.includes('--version') || before.includes('-v')) return { kind: 'version' };
  if (at < 0) {
    if (before.includes('--help') || before.includes('-h')) return { kind: 'help' };
    if (before.length === 0) throw usageError('give a command: spool generate "a prompt", spool jobs, … (spool --help lists them)');
    throw usageError(`give a command before the flags (got ${before.join(' ')}): spool --help lists them`);
  }
  const name = argv[at]!;
  if (name === 'help') {
    const topic = argv[at + 1];
    if (topic === undefined) return { kind: 'help' };
    if (!commandSpec(topic)) throw unknownCommand(topic);
    return { kind: 'help', command: topic as CommandName };
  }
  const spec = commandSpec(name);
  if (!spec) throw unknownCommand(name);
  const flags = { ...COMMON_FLAGS, ...spec.flags };
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: [...before, ...argv.slice(at + 1)],
      options: Object.fromEntries(
        Object.entries(flags).map(([flag, f]) => [flag, { type: f.kind === 'boolean' ? ('boolean' as const) : ('string' as const), ...(f.short ? { short: f.short } : {}) }]),
      ),
      allowPositionals: true,
      strict: true,
    });
  } catch (err) {
    throw usageError(`${name}: ${describeParseError(err)} (spool ${name} --help lists its flags)`);
  }
  if (parsed.values.help === true) return { kind: 'help', command: spec.name };
  const values: Record<string, FlagValue | undefined> = {};
  for (const [flag, raw] of Object.entries(parsed.values)) {
    const f = flags[flag]!;
    values[flag] = typeof raw === 'string' ? readValue(name, flag, f, raw) : (raw as boolean | undefined);
  }
  const args = parsed.positionals;
  const wanted = spec.args.map((a) => a.name);
  if (args.length < wanted.length) {
    const missing = spec.args[args.length]!;
    throw usageError(`${name}: give ${missing.name}, ${missing.help}: spool ${name} ${wanted.join(' ')}`);
  }
  if (args.length > wanted.length) {
    const extra = args.slice(wanted.length).map((a) => JSON.stringify(a)).join(' ');
    const hint = name === 'generate' ? ': put the prompt in quotes, spool generate "a red circle moving left"' : `: spool ${name} takes ${wanted.length === 0 ? 'no arguments' : wanted.join(' ')}`;
    throw usageError(`${name}: unexpected ${extra}${hint}`);
  }
  if (name === 'generate' && args[0]!.trim() === '') throw usageError('generate: the prompt is empty: say what the video shows, spool generate "a red circle moving left"');
  return { kind: 'run', command: spec.name, flags: values, args };
}

/** A flag's text as its kind: an integer or number in range, or a non-empty string. */
function readValue(command: string, flag: string, f: FlagSpec, raw: string): FlagValue {
  const where = `${command}: --${flag}`;
  if (f.kind === 'string') {
    if (raw.trim() === '') throw usageError(`${where} is empty: give ${f.value ?? 'a value'}`);
    return raw;
  }
  const n = raw.trim() === '' ? NaN : Number(raw);
  const range = describeRange(f.min, f.max);
  if (f.kind === 'int' && !Number.isInteger(n)) throw usageError(`${where} must be an integer${range} (got ${JSON.stringify(raw)})`);
  if (!Number.isFinite(n)) throw usageError(`${where} must be a number${range} (got ${JSON.stringify(raw)})`);
  if ((f.min !== undefined && n < f.min) || (f.max !== undefined && n > f.max)) throw usageError(`${where} must be${range} (got ${raw})`);
  return n;
}

function describeRange(min?: number, max?: number): string {
  if (min !== undefined && max !== undefined) return ` from ${min} to ${max}`;
  if (min !== undefined) return min === 0 ? ' of 0 or more' : ` of ${min} or more`;
  return '';
}

function unknownCommand(name: string) {
  return usageError(`unknown command ${JSON.stringify(name)}: the commands are ${COMMANDS.map((c) => c.name).join(', ')} (spool --help)`);
}

/** parseArgs' message without its advice about `--`, which rarely is what was meant. */
function describeParseError(err: unknown): string {
  const message = (err as Error).message ?? String(err);
  const code = (err as { code?: string }).code;
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    const m = /option '([^']+)'/.exec(message);
    return `unknown flag ${m ? m[1] : ''}`.trim();
  }
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    const m = /Option '([^']+)/.exec(message);
    return m && /argument missing/.test(message) ? `${m[1]!.replace(/ <value>$/, '').replace(/^-\w, /, '')} needs a value` : message;
  }
  return message.split('\n')[0]!;
}
