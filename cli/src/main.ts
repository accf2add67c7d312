/**
 * The `spool` command as a process (run by `cli/bin/spool.js`): the CLI run
 * on this process's arguments, streams and environment, Ctrl-C as its abort
 * signal, and its exit code as the process's. A second Ctrl-C exits at once
 * (130), without waiting for the job's cancel.
 */
import { EXIT } from './exit-codes.ts';
import { runCli } from './run.ts';

export async function main(argv: readonly string[] = process.argv.slice(2)): Promise<void> {
  const interrupt = new AbortController();
  const onSigint = (): void => {
    if (interrupt.signal.aborted) process.exit(EXIT.INTERRUPTED);
    interrupt.abort(new DOMException('interrupted', 'AbortError'));
  };
  process.on('SIGINT', onSigint);
  // A closed pipe on stdout (`spool jobs | head -1`) ends the command quietly, as other tools do.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(EXIT.OK);
    throw err;
  });
  const code = await runCli(argv, { stdout: process.stdout, stderr: process.stderr, signal: interrupt.signal }, { env: process.env });
  process.off('SIGINT', onSigint);
  process.exitCode = code;
}
