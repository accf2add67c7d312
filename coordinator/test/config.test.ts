import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ConfigError, createBusCredentials, DEFAULT_MODEL, keyFileOf, MODELS_DIR, writeBusCredentials } from '@spool/shared';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.ts';

const base = { SPOOL_API_TOKENS: 'token-one' };

describe('loadConfig', () => {
  it('has documented defaults and is frozen', () => {
    const c = loadConfig(base);
    expect(c).toMatchObject({
      host: '0.0.0.0',
      port: 9000,
      apiTokens: ['token-one'],
      maxConcurrent: 2,
      maxQueue: 16,
      // One token: no one to share the 18 places with.
      maxPerToken: 18,
      rateLimitPerMin: 120,
      rateBurst: 60,
      batchWindowMs: 2,
      maxBatch: 4,
      stageTimeoutMs: 60_000,
      requestTimeoutMs: 600_000,
      tracePrompts: false,
    });
    expect(c.modelDir).toBe(path.join(MODELS_DIR, DEFAULT_MODEL));
    expect(c.frameLimits).toMatchObject({ maxTotalBytes: 2048 * 1024 ** 2, setting: 'SPOOL_MAX_FRAME_MB=2048' });
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.apiTokens)).toBe(true);
    // GET /metrics is open unless a token is set.
    expect(c.metricsToken).toBeUndefined();
  });

  it('reads every variable', () => {
    const c = loadConfig({
      SPOOL_API_TOKENS: ' a-token , b-token ',
      SPOOL_HOST: '127.0.0.1',
      SPOOL_PORT: '9100',
      NATS_URL: 'nats://nats:4222',
      SPOOL_MODEL_DIR: '/models/x',
      SPOOL_MAX_CONCURRENT: '4',
      SPOOL_MAX_QUEUE: '0',
      SPOOL_STAGE_TIMEOUT_MS: '1000',
      SPOOL_REQUEST_TIMEOUT_MS: '5000',
      SPOOL_BATCH_WINDOW_MS: '0',
      SPOOL_MAX_BATCH: '8',
      SPOOL_MAX_PER_TOKEN: '3',
      SPOOL_RATE_LIMIT: '0',
      SPOOL_RATE_BURST: '5',
      SPOOL_MAX_FRAME_MB: '64',
      SPOOL_METRICS_TOKEN: ' scrape-token ',
      SPOOL_TRACE_PROMPTS: '1',
    });
    expect(c.metricsToken).toBe('scrape-token');
    expect(c.tracePrompts).toBe(true);
    expect(c.frameLimits).toMatchObject({ maxTotalBytes: 64 * 1024 ** 2, setting: 'SPOOL_MAX_FRAME_MB=64' });
    expect(c).toMatchObject({ batchWindowMs: 0, maxBatch: 8, maxPerToken: 3, rateLimitPerMin: 0, rateBurst: 5 });
    expect(c).toMatchObject({ apiTokens: ['a-token', 'b-token'], host: '127.0.0.1', port: 9100, natsUrl: 'nats://nats:4222', modelDir: '/models/x', maxConcurrent: 4, maxQueue: 0, stageTimeoutMs: 1000, requestTimeoutMs: 5000 });
  });

  it.each([
    [{}, /SPOOL_API_TOKENS is not set.*openssl rand/],
    [{ SPOOL_API_TOKENS: ' , ' }, /SPOOL_API_TOKENS is not set/],
    [{ ...base, SPOOL_PORT: 'http' }, /SPOOL_PORT="http" must be an integer from 0 to 65535/],
    [{ ...base, SPOOL_TRACE_PROMPTS: 'yes' }, /SPOOL_TRACE_PROMPTS="yes" must be one of: 0, 1/],
    [{ ...base, SPOOL_MAX_CONCURRENT: '0' }, /SPOOL_MAX_CONCURRENT="0" must be an integer from 1/],
    [{ ...base, SPOOL_MAX_BATCH: '0' }, /SPOOL_MAX_BATCH="0" must be an integer from 1/],
    [{ ...base, SPOOL_BATCH_WINDOW_MS: '-1' }, /SPOOL_BATCH_WINDOW_MS="-1" must be an integer from 0/],
    [{ ...base, SPOOL_STAGE_TIMEOUT_MS: '90000', SPOOL_REQUEST_TIMEOUT_MS: '60000' }, /SPOOL_REQUEST_TIMEOUT_MS \(60000\) is shorter than SPOOL_STAGE_TIMEOUT_MS \(90000\)/],
    [{ ...base, SPOOL_HEARTBEAT_MS: '1000', SPOOL_CALL_LOST_MS: '2000' }, /SPOOL_CALL_LOST_MS \(2000\) must be at least three heartbeats \(3 × SPOOL_HEARTBEAT_MS = 3000\)/],
    [{ ...base, SPOOL_NATS_KEY_FILE: '/nonexistent/coordinator.nk' }, /SPOOL_NATS_KEY_FILE=\/nonexistent\/coordinator.nk: cannot read the NATS key file/],
    [{ ...base, SPOOL_NATS_KEY_FILE: '/etc/hostname' }, /does not hold a NATS user nkey seed/],
    [{ ...base, SPOOL_MAX_PER_TOKEN: '0' }, /SPOOL_MAX_PER_TOKEN="0" must be an integer from 1/],
    [{ ...base, SPOOL_RATE_LIMIT: '-1' }, /SPOOL_RATE_LIMIT="-1" must be an integer from 0/],
    [{ ...base, SPOOL_RATE_BURST: '0' }, /SPOOL_RATE_BURST="0" must be an integer from 1/],
    [{ ...base, SPOOL_MAX_FRAME_MB: '5000' }, /SPOOL_MAX_FRAME_MB="5000" must be an integer from 1 to 4096/],
    [{ ...base, SPOOL_METRICS_TOKEN: 'two tokens' }, /SPOOL_METRICS_TOKEN: the token may not contain spaces/],
    [
      { SPOOL_API_TOKENS: 'a,b', SPOOL_MAX_CONCURRENT: '2', SPOOL_MAX_QUEUE: '4', SPOOL_MAX_PER_TOKEN: '7' },
      'SPOOL_MAX_PER_TOKEN (7) is more than SPOOL_MAX_CONCURRENT + SPOOL_MAX_QUEUE (2 + 4 = 6), so no token could ever reach it; set it to at most 6, or leave it unset for 3',
    ],
  ])('refuses %j with a message that says how to fix it', (env, message) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(message);
  });

  it('shares the places between tokens by default: half each (rounded up) with several, all with one', () => {
    expect(loadConfig({ SPOOL_API_TOKENS: 'a,b,c' }).maxPerToken).toBe(9);
    expect(loadConfig({ SPOOL_API_TOKENS: 'a,b', SPOOL_MAX_CONCURRENT: '1', SPOOL_MAX_QUEUE: '0' }).maxPerToken).toBe(1);
    expect(loadConfig({ SPOOL_API_TOKENS: 'a,b', SPOOL_MAX_CONCURRENT: '3', SPOOL_MAX_QUEUE: '4' }).maxPerToken).toBe(4);
    expect(loadConfig({ SPOOL_API_TOKENS: 'a', SPOOL_MAX_CONCURRENT: '3', SPOOL_MAX_QUEUE: '4' }).maxPerToken).toBe(7);
  });

  it('reads the bus identity key and the lost-call settings', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'spool-config-'));
    try {
      const creds = createBusCredentials(['coordinator'], { model: 'm', shards: 1 });
      writeBusCredentials(dir, creds);
      const c = loadConfig({ ...base, SPOOL_NATS_KEY_FILE: keyFileOf(dir, 'coordinator'), SPOOL_HEARTBEAT_MS: '250' });
      expect(c.natsSeed).toBe(creds.keys[0].seed);
      // Four heartbeats of silence by default, and never under three seconds.
      expect(c.callLostMs).toBe(3_000);
      expect(loadConfig({ ...base, SPOOL_HEARTBEAT_MS: '2000' }).callLostMs).toBe(8_000);
      expect(loadConfig(base)).toMatchObject({ retryAttempts: 5, retryBudgetMs: 8_000 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reads no shard count (the layout is learned from discovery), so the launcher\'s SPOOL_SHARDS does not concern it', () => {
    expect(loadConfig({ ...base, SPOOL_SHARDS: 'not-a-number' })).not.toHaveProperty('shards');
  });
});
