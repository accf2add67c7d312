/** Reading the command line: commands, typed flags, arguments, and the usage errors (exit 2) for what cannot run. */
import { describe, expect, it } from 'vitest';
import { parseCommandLine } from '../src/args.ts';
import { CliError } from '../src/errors.ts';
import { EXIT } from '../src/exit-codes.ts';
import { generateBody } from '../src/commands/generate.ts';

function usage(argv: string[]): string {
  try {
    parseCommandLine(argv);
  } catch (err) {
    expect(err).toBeInstanceOf(CliError);
    expect((err as CliError).exit).toBe(EXIT.USAGE);
    return (err as CliError).message;
  }
  throw new Error(`${argv.join(' ')} was taken`);
}

describe('parseCommandLine', () => {
  it('reads generate with typed flags, in any order around the prompt', () => {
    const line = parseCommandLine(['generate', '--frames', '49', 'a red circle', '--fps=24', '--steps', '30', '--guidance', '7.5', '--seed', '0', '-o', 'out.mp4', '--sync', '-q']);
    expect(line).toEqual({
      kind: 'run',
      command: 'generate',
      args: ['a red circle'],
      flags: { frames: 49, fps: 24, steps: 30, guidance: 7.5, seed: 0, output: 'out.mp4', sync: true, quiet: true },
    });
    if (line.kind === 'run') expect(generateBody(line.args[0]!, line.flags)).toEqual({ prompt: 'a red circle', num_frames: 49, fps: 24, num_inference_steps: 30, guidance_scale: 7.5, seed: 0 });
  });

  it('sends only the fields given, the server defaulting the rest', () => {
    expect(generateBody('snow', {})).toEqual({ prompt: 'snow' });
    expect(generateBody('snow', { 'negative-prompt': 'rain', 'guidance-rescale': 0 })).toEqual({ prompt: 'snow', negative_prompt: 'rain', guidance_rescale: 0 });
  });

  it('finds the command after the common flags that take a value', () => {
    expect(parseCommandLine(['--url', 'http://h:1', '--token', 'tok', 'jobs', '--limit', '5', '--json'])).toEqual({
      kind: 'run',
      command: 'jobs',
      args: [],
      flags: { url: 'http://h:1', token: 'tok', limit: 5, json: true },
    });
    expect(parseCommandLine(['status', 'video_1', '--json'])).toMatchObject({ command: 'status', args: ['video_1'], flags: { json: true } });
  });

  it('answers help and version', () => {
    expect(parseCommandLine(['--help'])).toEqual({ kind: 'help' });
    expect(parseCommandLine(['-h'])).toEqual({ kind: 'help' });
    expect(parseCommandLine(['help'])).toEqual({ kind: 'help' });
    expect(parseCommandLine(['help', 'generate'])).toEqual({ kind: 'help', command: 'generate' });
    expect(parseCommandLine(['generate', '--help'])).toEqual({ kind: 'help', command: 'generate' });
    // Help wins over what else is wrong on the line, so that it can be asked for while fixing it.
    expect(parseCommandLine(['generate', '--frames', 'x', '-h'])).toEqual({ kind: 'help', command: 'generate' });
    expect(parseCommandLine(['--version'])).toEqual({ kind: 'version' });
    expect(parseCommandLine(['-v'])).toEqual({ kind: 'version' });
  });

  it('refuses what cannot run, saying what to fix', () => {
    expect(usage([])).toMatch(/^give a command: spool generate "a prompt"/);
    expect(usage(['--json'])).toMatch(/give a command before the flags \(got --json\)/);
    expect(usage(['gen'])).toMatch(/^unknown command "gen": the commands are generate, jobs, status, cancel, download, health, info/);
    expect(usage(['help', 'gen'])).toMatch(/^unknown command "gen"/);
    expect(usage(['generate'])).toBe('generate: give PROMPT, what the video shows, in quotes: spool generate PROMPT');
    expect(usage(['generate', '   '])).toMatch(/^generate: the prompt is empty/);
    expect(usage(['generate', 'a', 'b'])).toMatch(/^generate: unexpected "b": put the prompt in quotes/);
    expect(usage(['jobs', 'extra'])).toBe('jobs: unexpected "extra": spool jobs takes no arguments');
    expect(usage(['status', 'a', 'b'])).toBe('status: unexpected "b": spool status takes ID');
    expect(usage(['generate', 'x', '--nope'])).toBe('generate: unknown flag --nope (spool generate --help lists its flags)');
    expect(usage(['jobs', '--frames', '3'])).toBe('jobs: unknown flag --frames (spool jobs --help lists its flags)');
    expect(usage(['generate', 'x', '--frames'])).toMatch(/^generate: --frames needs a value/);
    expect(usage(['generate', 'x', '-o'])).toMatch(/^generate: --output needs a value/);
    expect(usage(['generate', 'x', '--json=yes'])).toMatch(/--json' does not take an argument/);
  });

  it('checks numbers: integers where counted, ranges, nothing that is not a number', () => {
    expect(usage(['generate', 'x', '--frames', '4.5'])).toBe('generate: --frames must be an integer of 1 or more (got "4.5")');
    expect(usage(['generate', 'x', '--frames', ''])).toBe('generate: --frames must be an integer of 1 or more (got "")');
    expect(usage(['generate', 'x', '--steps', '0'])).toBe('generate: --steps must be of 1 or more (got 0)');
    expect(usage(['generate', 'x', '--guidance', 'lots'])).toBe('generate: --guidance must be a number of 0 or more (got "lots")');
    expect(usage(['generate', 'x', '--guidance', 'Infinity'])).toMatch(/--guidance must be a number/);
    expect(usage(['generate', 'x', '--seed', '4294967296'])).toBe('generate: --seed must be from 0 to 4294967295 (got 4294967296)');
    expect(usage(['jobs', '--limit', '101'])).toBe('jobs: --limit must be from 1 to 100 (got 101)');
    expect(usage(['generate', 'x', '--negative-prompt', ' '])).toBe('generate: --negative-prompt is empty: give TEXT');
    // The server judges the model's own limits (exit 5 with its message): the CLI only checks the form.
    expect(parseCommandLine(['generate', 'x', '--frames', '5000'])).toMatchObject({ flags: { frames: 5000 } });
  });
});
