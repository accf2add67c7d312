/**
 * The coordinator's view while NATS is down: it keeps reconnecting (with a
 * bounded backoff) and /health says why it is unhealthy, then recovers by
 * itself when a server is back on the same address.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { connectNats } from '@spool/shared';
import type { NatsConnection } from '@nats-io/nats-core';
import { afterAll, describe, expect, it } from 'vitest';
import { natsDiscovery } from '../src/discovery.ts';
import { DiscoveredTopology } from '../src/topology.ts';
import { manifest, testApp } from './helpers.ts';

const NATS_BIN = ['/usr/sbin/nats-server', '/usr/bin/nats-server', '/usr/local/bin/nats-server'].find((p) => existsSync(p));

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

const serve = (port: number): ChildProcess => spawn(NATS_BIN as string, ['-a', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });

describe.skipIf(!NATS_BIN)('the coordinator while NATS is down', () => {
  let server: ChildProcess | undefined;
  let nc: NatsConnection | undefined;

  afterAll(async () => {
    await nc?.close();
    server?.kill('SIGKILL');
  });

  it('says on /health that it is reconnecting, and recovers by itself when the server is back', async () => {
    const port = await freePort();
    server = serve(port);
    nc = await connectNats({ servers: `nats://127.0.0.1:${port}`, name: 'test-coordinator' });
    const topology = new DiscoveredTopology({ discover: natsDiscovery(nc), model: manifest.name, blockCount: manifest.transformer.blocks.length, cacheMs: 0 });
    const { app } = testApp({ topology });
    const health = async () => (await app.inject({ method: 'GET', url: '/health' })).json() as { status: string; message: string };
    const until = async (check: (m: string) => boolean): Promise<string> => {
      for (let i = 0; i < 200; i++) {
        const { message } = await health();
        if (check(message)) return message;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`/health never said what was expected; last: ${(await health()).message}`);
    };
    try {
      // Connected, no workers: unhealthy for that reason.
      expect(await until((m) => /no live worker/.test(m))).toMatch(/no live worker/);
      server.kill('SIGKILL');
      const down = await until((m) => /NATS/.test(m));
      expect(down).toMatch(new RegExp(`worker discovery failed: not connected to NATS at nats://127\\.0\\.0\\.1:${port} for \\d+ s, reconnecting`));
      server = serve(port);
      expect(await until((m) => /no live worker/.test(m))).not.toMatch(/NATS/);
    } finally {
      await app.close();
    }
  });
});
