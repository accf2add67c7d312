/**
 * The Python tooling's own tests (models/tests/: clip world, judge and its command
 * line, tokenizer, noise schedule and its fixture, training losses, export, the
 * package's layout), run with the stdlib unittest runner from the repository root.
 * They need python3 with torch and numpy (Debian's python3-torch); a machine that
 * only serves models has neither, so there the suite is skipped.
 */
import { describe, expect, it } from 'vitest';
import { execFile, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** The tools are run with Debian's interpreter (see models/README.md); any python3 on PATH otherwise. */
const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
// One thread each for torch and BLAS: the suite is small, and training jobs may share the cores.
const ENV = { ...process.env, OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1', MKL_NUM_THREADS: '1' };
const HAS_TORCH = spawnSync(PYTHON, ['-c', 'import numpy, torch'], { stdio: 'ignore', env: ENV }).status === 0;

const NAME = HAS_TORCH
  ? 'unittest suite of the models package passes'
  : `unittest suite of the models package (skipped: ${PYTHON} cannot import numpy and torch; install python3-torch to run it)`;

describe('Python model tooling', () => {
  it.skipIf(!HAS_TORCH)(NAME, async () => {
    // -t .: test modules import as models.tests.…, so the suite runs against the package as `python3 -m` sees it
    const args = ['-m', 'unittest', 'discover', '-s', 'models/tests', '-t', '.', '-v'];
    let output: string;
    let code = 0;
    try {
      const { stdout, stderr } = await run(PYTHON, args, { cwd: REPO_ROOT, env: ENV, maxBuffer: 16 * 1024 * 1024 });
      output = stdout + stderr;
    } catch (err) {
      const e = err as { code?: number | string; stdout?: string; stderr?: string };
      code = typeof e.code === 'number' ? e.code : -1;
      output = `${e.stdout ?? ''}${e.stderr ?? ''}${typeof e.code === 'string' ? e.code : ''}`;
    }
    expect(code, `${PYTHON} ${args.join(' ')} failed:\n${output}`).toBe(0);
    expect(output).toMatch(/^OK/m); // unittest's last line: OK, or OK (skipped=n)
  });
});
