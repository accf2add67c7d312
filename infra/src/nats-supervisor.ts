/**
 * nats-server supervised like any worker: when it exits without being asked
 * to (killed, crashed), it is started again on the same port with the same
 * configuration (and so the same bus credentials and the same JetStream
 * store folder), with a growing delay, so every client's own reconnect finds
 * it where it was, streams and all. After `maxRestarts`
 * exits within a minute it gives up and reports the exit.
 */
import { startNatsServer, type NatsServerHandle, type NatsServerOptions } from './nats-server.ts';
import { freePort } from './net.ts';

export interface SupervisedNats {
  readonly url: string;
  readonly port: number;
  /** The server running now (it changes after a restart). */
  current(): NatsServerHandle;
  /** Times it was started again. */
  readonly restarts: number;
  /** Resolves when it keeps exiting and supervision gave up. */
  readonly gaveUp: Promise<number | null>;
  stop(): Promise<void>;
}

export interface SupervisorOptions extends NatsServerOptions {
  readonly maxRestarts: number;
  /** Told about each unexpected exit and the restart that follows. */
  readonly onRestart?: (code: number | null, delayMs: number, attempt: number) => void;
}

export async function superviseNatsServer(opts: SupervisorOptions): Promise<SupervisedNats> {
  const host = opts.host ?? '127.0.0.1';
  const port = opts.port ?? (await freePort(host));
  let handle = await startNatsServer({ ...opts, host, port });
  let stopping = false;
  let restarts = 0;
  const exits: number[] = [];
  let giveUp!: (code: number | null) => void;
  const gaveUp = new Promise<number | null>((resolve) => (giveUp = resolve));

  const watch = (h: NatsServerHandle): void => {
    void h.exited.then(async (code) => {
      if (stopping) return;
      await h.stop(); // removes its configuration folder
      const now = Date.now();
      exits.push(now);
      while (exits.length > 0 && now - exits[0] > 60_000) exits.shift();
      if (exits.length > opts.maxRestarts) return giveUp(code);
      // The port is free again at once; retry while the old socket lingers.
      for (let attempt = 1; !stopping; attempt++) {
        const delayMs = Math.min(2_000, 250 * 2 ** (attempt - 1));
        opts.onRestart?.(code, delayMs, attempt);
        await new Promise((r) => setTimeout(r, delayMs));
        if (stopping) return;
        try {
          handle = await startNatsServer({ ...opts, host, port });
          restarts++;
          watch(handle);
          return;
        } catch (err) {
          if (attempt >= 5) return giveUp(code);
          opts.onLine?.(`starting nats-server again failed: ${(err as Error).message}`);
        }
      }
    });
  };
  watch(handle);

  return {
    url: handle.url,
    port,
    current: () => handle,
    get restarts() {
      return restarts;
    },
    gaveUp,
    async stop() {
      stopping = true;
      await handle.stop();
    },
  };
}
