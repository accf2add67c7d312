/**
 * A child of the local launcher stops when the launcher is gone, even when
 * the launcher was killed outright and could not stop it: the launcher keeps
 * the child's stdin open, and its end means the parent died. The child then
 * signals itself, so it drains and stops through its usual SIGTERM path.
 */
import type { Env } from './config.ts';

export const STOP_WITH_PARENT = 'SPOOL_STOP_WITH_PARENT';

export function stopWhenParentExits(env: Env = process.env): void {
  if (env[STOP_WITH_PARENT] !== '1') return;
  const stdin = process.stdin;
  // 'end' and 'close' both fire when the pipe goes; one SIGTERM only, since a
  // second would end a process mid-drain once its handler is gone.
  let sent = false;
  const stop = (): void => {
    if (sent) return;
    sent = true;
    process.kill(process.pid, 'SIGTERM');
  };
  stdin.once('end', stop);
  stdin.once('close', stop);
  stdin.on('error', stop);
  stdin.resume();
  // Watching must not keep a process alive that is otherwise done.
  (stdin as unknown as { unref?: () => void }).unref?.();
}
