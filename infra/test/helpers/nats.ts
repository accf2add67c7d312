/**
 * NATS for tests: a container started by testcontainers where a Docker engine
 * answers, otherwise Debian's nats-server binary as a child process. CI on a
 * machine without an engine takes the second path.
 */
import { startNatsServer } from '../../src/nats-server.ts';

export interface TestNats {
  readonly url: string;
  /** `container` or `binary`: which path started it. */
  readonly via: 'container' | 'binary';
  stop(): Promise<void>;
}

const MAX_PAYLOAD = 64 * 1024 * 1024;

/**
 * `extraConfig` is added to the server's configuration (e.g. the bus's
 * authorization block from `createBusCredentials`).
 */
export async function startTestNats(opts: { maxPayload?: number; extraConfig?: string } = {}): Promise<TestNats> {
  const maxPayload = opts.maxPayload ?? MAX_PAYLOAD;
  if (process.env.SPOOL_TEST_NATS !== 'binary') {
    const container = await tryContainer(maxPayload, opts.extraConfig ?? '');
    if (container) return container;
  }
  const server = await startNatsServer({ maxPayload, extraConfig: opts.extraConfig });
  return { url: server.url, via: 'binary', stop: () => server.stop() };
}

async function tryContainer(maxPayload: number, extraConfig: string): Promise<TestNats | undefined> {
  let tc: typeof import('testcontainers');
  try {
    tc = await import('testcontainers');
    // Throws "Could not find a working container runtime strategy" without an engine.
    await tc.getContainerRuntimeClient();
  } catch {
    return undefined;
  }
  try {
    const container = await new tc.GenericContainer('nats:2.10-alpine')
      .withCopyContentToContainer([{ content: `port: 4222\nmax_payload: ${maxPayload}\n${extraConfig}`, target: '/etc/nats/spool.conf' }])
      .withCommand(['-c', '/etc/nats/spool.conf'])
      .withExposedPorts(4222)
      .withWaitStrategy(tc.Wait.forLogMessage(/Server is ready/))
      .start();
    return {
      url: `nats://${container.getHost()}:${container.getMappedPort(4222)}`,
      via: 'container',
      stop: async () => {
        await container.stop();
      },
    };
  } catch {
    // An engine answered but could not run the image (offline, no pull rights): use the binary.
    return undefined;
  }
}
