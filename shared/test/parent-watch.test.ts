import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const MODULE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../src/parent-watch.ts');

/** A child that watches its stdin, counts the SIGTERMs it gets and reports them once the pipe is gone. */
const CHILD = `
import { stopWhenParentExits } from ${JSON.stringify(MODULE)};
let terms = 0;
process.on('SIGTERM', () => { terms++; setTimeout(() => { console.log('terms=' + terms); process.exit(0); }, 300); });
stopWhenParentExits(process.env);
setTimeout(() => {}, 10_000);
`;

describe('stopWhenParentExits', () => {
  it('sends itself exactly one SIGTERM when its stdin closes, so a drain is not cut short', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', CHILD], {
      env: { ...process.env, SPOOL_STOP_WITH_PARENT: '1' },
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    await new Promise((r) => setTimeout(r, 500)); // let it start watching
    child.stdin.end();
    expect(await exited).toBe(0);
    expect(out.trim()).toBe('terms=1');
  });
});
