/** JetStream on the launcher's own nats-server: its block, sized for the coordinator's job buckets, read by the real server. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { readJobStoreLimits } from '@spool/coordinator';
import { afterAll, describe, expect, it } from 'vitest';
import { JETSTREAM_HEADROOM_BYTES, jetStreamBlock, jetStreamFor } from '../src/jetstream.ts';
import { natsServerBinary } from '../src/nats-server.ts';

const MB = 1024 * 1024;

describe('the JetStream block', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'spool-jsconf-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('holds both job buckets at their limits, plus room to spare', () => {
    const js = jetStreamFor('/run/spool/js', readJobStoreLimits({ SPOOL_JOBS_MAX_MB: '300', SPOOL_JOBS_RECORDS_MB: '20' }));
    expect(js).toEqual({ storeDir: '/run/spool/js', maxMemoryBytes: 64 * MB, maxFileBytes: 320 * MB + JETSTREAM_HEADROOM_BYTES });
    expect(jetStreamFor('/x', readJobStoreLimits({})).maxFileBytes).toBe((1024 + 64) * MB + JETSTREAM_HEADROOM_BYTES);
  });

  it('is read by nats-server as it is written, a store folder with any characters included', () => {
    const storeDir = path.join(dir, 'a "quoted" store');
    writeFileSync(path.join(dir, 'nats.conf'), `port: 4222\n${jetStreamBlock({ storeDir, maxMemoryBytes: 64 * MB, maxFileBytes: 2048 * MB })}`);
    const r = spawnSync(natsServerBinary(), ['-t', '-c', path.join(dir, 'nats.conf')], { encoding: 'utf8', timeout: 10_000 });
    expect(`${r.stdout}${r.stderr}`).toContain('is valid');
    expect(r.status).toBe(0);
  });

  it('refuses limits that are not a positive number of bytes, and an empty folder', () => {
    expect(() => jetStreamBlock({ storeDir: '/x', maxMemoryBytes: 0, maxFileBytes: MB })).toThrow(/maxMemoryBytes must be a positive whole number of bytes \(got 0\)/);
    expect(() => jetStreamBlock({ storeDir: '/x', maxMemoryBytes: MB, maxFileBytes: 1.5 })).toThrow(/maxFileBytes/);
    expect(() => jetStreamBlock({ storeDir: ' ', maxMemoryBytes: MB, maxFileBytes: MB })).toThrow(/needs a store folder/);
  });
});
