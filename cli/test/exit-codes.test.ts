/** The exit codes: each HTTP refusal's code, the failure line, and the README's table kept in step with the registry. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CliError, describeFailure } from '../src/errors.ts';
import { EXIT, EXIT_CODES, exitCodesText, exitForStatus } from '../src/exit-codes.ts';
import { REPO_ROOT } from './helpers/run-bin.ts';

describe('exit codes', () => {
  it('maps a refused request by its status', () => {
    expect(exitForStatus(401)).toBe(EXIT.UNAUTHORIZED);
    for (const s of [400, 403, 404, 409, 413, 415]) expect(exitForStatus(s)).toBe(EXIT.REFUSED);
    expect(exitForStatus(429)).toBe(EXIT.BUSY);
    expect(exitForStatus(503)).toBe(EXIT.UNREACHABLE);
    for (const s of [500, 502, 504, 507, 302]) expect(exitForStatus(s)).toBe(EXIT.SERVER_ERROR);
  });

  it('are distinct, each documented once, in order', () => {
    const codes = EXIT_CODES.map((e) => e.code);
    expect(new Set(codes).size).toBe(codes.length);
    expect([...codes].sort((a, b) => a - b)).toEqual(codes);
    expect(new Set(codes)).toEqual(new Set(Object.values(EXIT)));
    expect(exitCodesText().split('\n')).toHaveLength(codes.length);
  });

  it("the README's CLI table says what the registry says", () => {
    const readme = readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
    const cli = readme.slice(readme.indexOf('\n## CLI\n'), readme.indexOf('\n## ', readme.indexOf('\n## CLI\n') + 1));
    const table = cli.slice(cli.indexOf('| code | meaning |'));
    const rows = [...table.matchAll(/^\| (\d+) \| (.+) \|$/gm)].map((m) => ({ code: Number(m[1]), meaning: m[2] }));
    expect(rows).toEqual(EXIT_CODES.map((e) => ({ code: e.code, meaning: e.meaning })));
  });

  it('prints a failure as spool: <code>: <message>, with when to try again', () => {
    expect(describeFailure(new CliError(EXIT.BUSY, 'the queue is full', { code: 'SPOOL_ERR_QUEUE_FULL', retryAfterS: 7 }))).toBe(
      'spool: SPOOL_ERR_QUEUE_FULL: the queue is full (try again in 7 s)',
    );
    expect(describeFailure(new CliError(EXIT.UNREACHABLE, 'cannot reach the server'))).toBe('spool: cannot reach the server');
  });
});
