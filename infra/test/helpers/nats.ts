/**
 * NATS for tests: a container started by testcontainers where a Docker engine
 * answers, otherwise Debian's nats-server binary as a child process. CI on a
 * machine without an engine takes the second path.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { jetStreamBlock, type JetStreamStore } from '../../src/jetstream.ts';
import { startNatsServer } from '../../src/nats-server.ts';

export interface TestNats {
  readonly url: string;
  /** `container` or `binary`: which path started it. */
  readonly via: 'container' | 'binary';
  stop(): Promise<void>;
}

const MAX_PAYLOAD = 64 * 1024 * 1024;
/** JetStream limits of a test server: room for the job store's default buckets. */
export const TEST_JETSTREAM = Object.freeze({ maxMemoryBytes: 64 * 1024 * 1024, maxFileBytes: 2 * 1024 * 1024 * 1024 });

export interface TestNatsOptions {
  readonly maxPayload?: number;
  /** Added to the server's configuration (e.g. the bus's authorization block from `createBusCredentials`). */
  readonly extraConfig?: string;
  /** Run JetStream, its store in a folder removed with the server. */
  readonly jetstream?: boolean;
}

export async function startTestNats(opts: TestNatsOptions = {}): Promise<TestNats> {
  const maxPayload = opts.maxPayload ?? MAX_PAYLOAD;
  if (process.env.SPOOL_TEST_NATS !== 'binary') {
    const container = await tryContainer(maxPayload, opts.extraConfig ?? '', opts.jetstream ?? false);
    if (container) return container;
  }
  const storeDir = opts.jetstream ? mkdtempSync(path.join(tmpdir(), 'spool-test-js-')) : undefined;
  const jetstream: JetStreamStore | undefined = storeDir ? { storeDir, ...TEST_JETSTREAM } : undefined;
  try {
    const server = await startNatsServer({ maxPayload, extraConfig: opts.extraConfig, jetstream });
    return {
      url: server.url,
      via: 'binary',
      stop: async () => {
        await server.stop();
        if (storeDir) rmSync(storeDir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    if (storeDir) rmSync(storeDir, { recursive: true, force: true });
    throw err;
  }
}

async function tryContainer(maxPayload: number, extraConfig: string, jetstream: boolean): Promise<TestNats | undefined> {
  let tc: typeof import('testcontainers');
  try {
    tc = await import('testcontainers');
    // Throws "Could not find a working container runtime strategy" without an engine.
    await tc.getContainerRuntimeClient();
  } catch {
    return undefined;
  }
  const js = jetstream ? jetStreamBlock({ storeDir: '/data/jetstream', ...TEST_JETSTREAM }) : '';
  try {
    const container = await new tc.GenericContainer('nats:2.10-alpine')
      .withCopyContentToContainer([{ content: `port: 4222\nmax_payload: ${maxPayload}\n${js}${extraConfig}`, target: '/etc/nats/spool.conf' }])
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
